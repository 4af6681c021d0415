"""Lesson 18: the reference answers pass, plausible wrong answers fail with a specific message."""
import inspect

import keras
import numpy as np
import pytest
from helpers import assert_judge_agrees, assert_covers_every_question, assert_fails_with

from utils.checks import PASS, lesson18
from utils.checks.lesson18 import q1, q2, q3, q4, q5, q6
from utils.data import DatasetUnavailable, load_fashion_mnist, to_float_images

layers = keras.layers


# ----------------------------------------------------------------------------- reference answers
def choose_data(load_cifar10, load_fashion_mnist):
    try:
        train, test = load_cifar10(download=False)
        return "cifar10", train, test, "CIFAR-10 is on this machine, so it is used."
    except DatasetUnavailable:
        pass
    try:
        train, test = load_fashion_mnist("full", download=False)
        return "fashion-full", train, test, "No CIFAR-10 here: the full Fashion-MNIST is used."
    except DatasetUnavailable:
        train, test = load_fashion_mnist("small")
        return "fashion-small", train, test, "Neither CIFAR-10 nor the full data: bundled subset."


def make_augmenter():
    return keras.Sequential([layers.RandomFlip("horizontal"),
                             layers.RandomTranslation(0.1, 0.1, fill_mode="constant")])


def make_schedule(peak_lr, total_steps, warmup_steps):
    return keras.optimizers.schedules.CosineDecay(peak_lr / 10, total_steps - warmup_steps,
                                                  warmup_target=peak_lr, warmup_steps=warmup_steps)


def build_model(input_shape, n_classes, head=None, batchnorm=True):
    inputs = keras.Input(input_shape)
    h = make_augmenter()(inputs)
    for filters in (16, 32):
        h = layers.Conv2D(filters, 3, padding="same")(h)
        if batchnorm:
            h = layers.BatchNormalization()(h)
        h = layers.Activation("relu")(h)
        h = layers.MaxPooling2D()(h)
    h = layers.GlobalAveragePooling2D()(h)
    h = layers.Dropout(0.3)(h)
    outputs = head(h) if head else layers.Dense(n_classes, activation="softmax")(h)
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    """A small dense model trained for 3 epochs on the bundled subset, and an untrained one."""
    keras.utils.set_random_seed(0)
    (x, y), _ = load_fashion_mnist()
    folder = tmp_path_factory.mktemp("models")
    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(),
                              layers.Dense(128, activation="relu"),
                              layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    untrained = folder / "untrained.keras"
    model.save(untrained)
    model.fit(to_float_images(x), y, batch_size=128, epochs=3, verbose=0)
    trained = folder / "trained.keras"
    model.save(trained)
    (_, _), (xt, yt) = load_fashion_mnist()
    accuracy = float(np.mean(model.predict(to_float_images(xt), verbose=0).argmax(1) == yt))
    return {"trained": str(trained), "untrained": str(untrained), "accuracy": accuracy,
            "params": model.count_params(), "folder": folder}


@pytest.fixture
def low_threshold(monkeypatch):
    """The real threshold needs the 15-minute run; a dense model reaches about 0.8 in seconds."""
    monkeypatch.setattr(lesson18, "THRESHOLDS", {"fashion-full": 0.75, "fashion-small": 0.75,
                                                  "cifar10": 0.65, "smoke": 0.3})
    monkeypatch.delenv("COURSE_SMOKE", raising=False)


def _report(saved, **changes):
    report = {"source": "fashion-full", "params": saved["params"], "epochs": 3,
              "val_accuracy": 0.85, "test_accuracy": saved["accuracy"], "train_seconds": 4.2}
    report.update(changes)
    return report


# ----------------------------------------------------------------------------- correct answers
def test_reference_answers_pass(saved_models, low_threshold):
    path = saved_models["trained"]
    given = {q1: {"choose_data": choose_data}, q2: {"make_augmenter": make_augmenter},
             q3: {"make_schedule": make_schedule}, q4: {"build_model": build_model},
             q5: {"capstone_model_path": path},
             q6: {"capstone_report": _report(saved_models), "capstone_model_path": path}}
    for question, answers in given.items():
        result = question.evaluate(namespace={}, **answers)
        assert result.status == PASS, (question.label, result.messages)
        assert_judge_agrees(question, answers)


def test_choose_data_passes_with_another_copy_of_the_exception_class():
    """The grader re-imports utils: the notebook's DatasetUnavailable may be another class object."""
    other = type("DatasetUnavailable", (RuntimeError,), {})
    namespace = {"DatasetUnavailable": other}
    exec(inspect.getsource(choose_data), namespace)
    assert q1.evaluate(namespace={}, choose_data=namespace["choose_data"]).status == PASS


def test_smoke_threshold_is_read_at_check_time(saved_models, monkeypatch):
    monkeypatch.setenv("COURSE_SMOKE", "1")
    result = q5.evaluate(namespace={}, capstone_model_path=saved_models["trained"])
    assert result.status == PASS, result.messages


@pytest.mark.parametrize("full_here, status, text", [
    (True, "FAIL", "the full training set is on this machine"),
    (False, "PASS", ""),
])
def test_threshold_follows_the_data_on_this_machine(saved_models, monkeypatch, full_here, status, text):
    """Without the full data the notebook trains on the bundled subset and gets a lower bar."""
    monkeypatch.delenv("COURSE_SMOKE", raising=False)
    monkeypatch.setattr(lesson18, "THRESHOLDS", {"fashion-full": 0.99, "fashion-small": 0.5,
                                                  "cifar10": 0.65, "smoke": 0.3})
    monkeypatch.setattr(lesson18.data, "fashion_full_dir",
                        lambda: saved_models["folder"] if full_here else None)
    result = q5.evaluate(namespace={}, capstone_model_path=saved_models["trained"])
    assert result.status == status, result.messages
    assert text in " ".join(result.messages)


# ----------------------------------------------------------------------------- wrong answers
def choose_data_skips_cifar(load_cifar10, load_fashion_mnist):
    try:
        train, test = load_fashion_mnist("full", download=False)
        return "fashion-full", train, test, "The full Fashion-MNIST is always good enough."
    except DatasetUnavailable:
        train, test = load_fashion_mnist("small")
        return "fashion-small", train, test, "Falling back to the bundled subset."


def choose_data_downloads(load_cifar10, load_fashion_mnist):
    try:
        train, test = load_cifar10()
        return "cifar10", train, test, "CIFAR-10 is on this machine, so it is used."
    except DatasetUnavailable:
        train, test = load_fashion_mnist("small")
        return "fashion-small", train, test, "Falling back to the bundled subset."


def choose_data_silent(load_cifar10, load_fashion_mnist):
    source, train, test, _ = choose_data(load_cifar10, load_fashion_mnist)
    return source, train, test, ""


def augmenter_with_vertical_flip():
    return keras.Sequential([layers.RandomFlip(), layers.RandomTranslation(0.1, 0.1)])


def augmenter_with_rescaling():
    return keras.Sequential([layers.Rescaling(1 / 255), layers.RandomFlip("horizontal"),
                             layers.RandomTranslation(0.1, 0.1)])


def augmenter_with_big_shifts():
    return keras.Sequential([layers.RandomFlip("horizontal"), layers.RandomTranslation(0.4, 0.4)])


def schedule_warmup_from_zero(peak_lr, total_steps, warmup_steps):
    return keras.optimizers.schedules.CosineDecay(0.0, total_steps - warmup_steps,
                                                  warmup_target=peak_lr, warmup_steps=warmup_steps)


def schedule_too_long(peak_lr, total_steps, warmup_steps):  # the cosine still high at the end
    return keras.optimizers.schedules.CosineDecay(peak_lr / 10, total_steps,
                                                  warmup_target=peak_lr, warmup_steps=warmup_steps)


def model_with_logits(input_shape, n_classes):
    return build_model(input_shape, n_classes, head=layers.Dense(n_classes))


def model_without_batchnorm(input_shape, n_classes):
    return build_model(input_shape, n_classes, batchnorm=False)


def model_with_ten_classes(input_shape, n_classes):
    return build_model(input_shape, 10)


def model_over_budget(input_shape, n_classes):
    inputs = keras.Input(input_shape)
    h = layers.Conv2D(32, 3, padding="same")(make_augmenter()(inputs))
    h = layers.BatchNormalization()(h)
    h = layers.Dropout(0.3)(layers.Flatten()(h))
    return keras.Model(inputs, layers.Dense(n_classes, activation="softmax")(
        layers.Dense(256, activation="relu")(h)))


WRONG = {
    "q1": [({"choose_data": choose_data_skips_cifar}, "the source should not be 'fashion-full'"),
           ({"choose_data": choose_data_downloads}, "download=False"),
           ({"choose_data": choose_data_silent}, "should be a sentence")],
    "q2": [({"make_augmenter": augmenter_with_vertical_flip}, "no vertical flip"),
           ({"make_augmenter": augmenter_with_rescaling}, "return its input unchanged"),
           ({"make_augmenter": augmenter_with_big_shifts}, "small factors"),
           ({"make_augmenter": lambda: layers.RandomFlip("horizontal")}, "keras.Sequential")],
    "q3": [({"make_schedule": schedule_warmup_from_zero}, "wrong at step(s) [0"),
           ({"make_schedule": schedule_too_long}, "the decay ends at step"),
           ({"make_schedule": lambda peak_lr, total_steps, warmup_steps: peak_lr},
            "should return a schedule")],
    "q4": [({"build_model": model_with_logits}, "should be probabilities"),
           ({"build_model": model_without_batchnorm}, "BatchNormalization"),
           ({"build_model": model_with_ten_classes}, "it should give 4 class probabilities"),
           ({"build_model": model_over_budget}, "over the budget")],
}


@pytest.mark.parametrize("key,answers,message",
                         [(k, a, m) for k, cases in WRONG.items() for a, m in cases])
def test_wrong_answers_fail(key, answers, message):
    assert_fails_with(getattr(lesson18, key), answers, message)


def test_saved_model_wrong_answers(saved_models, low_threshold, tmp_path):
    assert_fails_with(q5, {"capstone_model_path": saved_models["untrained"]}, "below the threshold")
    assert_fails_with(q5, {"capstone_model_path": str(tmp_path / "model.h5")}, "Keras format")
    assert_fails_with(q5, {"capstone_model_path": str(tmp_path / "nothing.keras")}, "no file")
    not_a_model = tmp_path / "text.keras"
    not_a_model.write_text("not a model")
    assert_fails_with(q5, {"capstone_model_path": str(not_a_model)}, "could not be loaded")


def test_report_wrong_answers(saved_models, low_threshold):
    path = saved_models["trained"]
    cases = [(_report(saved_models, test_accuracy=saved_models["accuracy"] - 0.1), "differs from"),
             (_report(saved_models, test_accuracy=100 * saved_models["accuracy"]), "not a percentage"),
             (_report(saved_models, params=saved_models["params"] + 1), "parameter count"),
             (_report(saved_models, epochs=0), "epochs that ran"),
             ({"source": "fashion-full"}, "lacks the key")]
    for report, message in cases:
        assert_fails_with(q6, {"capstone_report": report, "capstone_model_path": path}, message)


def test_every_question_has_a_wrong_answer():
    assert_covers_every_question(lesson18, dict(WRONG, q5=1, q6=1))
