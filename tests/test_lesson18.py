"""Lesson 18: correct answers pass, plausible wrong answers fail with a specific message."""
import inspect
import math
import os
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers import assert_judge_agrees, assert_covers_every_question, assert_fails_with

import utils.data
from utils.checks import PASS, lesson18
from utils.checks.lesson18 import q1, q2, q3, q4, q5, q6
from utils.data import DatasetUnavailable, load_fashion_mnist, to_float_images

layers = keras.layers


# ----------------------------------------------------------------------------- correct answers
def choose_data(load_cifar10, load_fashion_mnist):  # the notebook's solution
    skipped = []
    try:
        train, test = load_cifar10(download=False)
        return "cifar10", train, test, "CIFAR-10 is on this machine: colour images, the harder task."
    except DatasetUnavailable:
        skipped.append("CIFAR-10 is not on this machine")
    try:
        train, test = load_fashion_mnist("full", download=False)
        return ("fashion-full", train, test,
                f"{skipped[0]}, so the full Fashion-MNIST (60,000 + 10,000 images) is used.")
    except DatasetUnavailable:
        skipped.append("the full Fashion-MNIST is not either")
    train, test = load_fashion_mnist("small")
    return ("fashion-small", train, test,
            f"{' and '.join(skipped)}, so the bundled subset (10,000 + 2,000 images) is used; "
            "expect a lower accuracy than with the full data.")


def choose_data_loop(load_cifar10, load_fashion_mnist):
    """The candidates in a list, keyword size, the exception named through utils.data."""
    candidates = [("cifar10", lambda: load_cifar10(download=False)),
                  ("fashion-full", lambda: load_fashion_mnist(size="full", download=False))]
    missing = []
    for source, load in candidates:
        try:
            train, test = load()
        except utils.data.DatasetUnavailable:
            missing.append(source)
            continue
        return source, train, test, f"{source} is available here (not found: {missing or 'none'})."
    train, test = load_fashion_mnist()
    return "fashion-small", train, test, f"Not on this machine: {', '.join(missing)}; the bundled subset."


def choose_data_nested(load_cifar10, load_fashion_mnist):
    try:
        return ("cifar10", *load_cifar10(download=False),
                "CIFAR-10 is on this machine, so it is used.")
    except DatasetUnavailable as missing_cifar:
        try:
            return ("fashion-full", *load_fashion_mnist("full", download=False),
                    f"{missing_cifar} So the full Fashion-MNIST is used.")
        except DatasetUnavailable:
            return ("fashion-small", *load_fashion_mnist("small"),
                    "Neither CIFAR-10 nor the full data: the bundled subset.")


def make_augmenter():  # the notebook's solution
    return keras.Sequential([
        layers.RandomFlip("horizontal"),
        layers.RandomTranslation(0.05, 0.05, fill_mode="constant"),
    ], name="augment")


def make_augmenter_keywords():
    """Tuple factors, keyword arguments, the translation first, built with add()."""
    augmenter = keras.Sequential()
    augmenter.add(layers.RandomTranslation(height_factor=(-0.05, 0.05), width_factor=(-0.05, 0.05),
                                           fill_mode="constant", fill_value=0.0))
    augmenter.add(layers.RandomFlip(mode="horizontal"))
    return augmenter


def make_augmenter_input():
    return keras.Sequential([keras.Input((None, None, None)), keras.layers.RandomFlip("horizontal"),
                             keras.layers.RandomTranslation(0.05, 0.05, fill_mode="constant")])


def make_schedule(peak_lr, total_steps, warmup_steps):  # the notebook's solution
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak_lr / 10, decay_steps=total_steps - warmup_steps,
        warmup_target=peak_lr, warmup_steps=warmup_steps)


def make_schedule_positional(peak_lr, total_steps, warmup_steps):
    return keras.optimizers.schedules.CosineDecay(0.1 * peak_lr, total_steps - warmup_steps, 0.0,
                                                  "warmup_cosine", peak_lr, warmup_steps)


@keras.saving.register_keras_serializable(package="test_lesson18")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """A schedule class of one's own, the formula of the notebook written out with keras.ops."""

    def __init__(self, peak_lr, total_steps, warmup_steps):
        self.peak_lr, self.total_steps, self.warmup_steps = peak_lr, total_steps, warmup_steps

    def __call__(self, step):
        s = keras.ops.cast(step, "float32")
        start = self.peak_lr / 10
        warm = start + (self.peak_lr - start) * s / self.warmup_steps
        done = (keras.ops.minimum(s, self.total_steps) - self.warmup_steps) / (
            self.total_steps - self.warmup_steps)
        cosine = self.peak_lr / 2 * (1 + keras.ops.cos(math.pi * done))
        return keras.ops.where(s <= self.warmup_steps, warm, cosine)

    def get_config(self):
        return {"peak_lr": self.peak_lr, "total_steps": self.total_steps,
                "warmup_steps": self.warmup_steps}


def make_schedule_own_class(peak_lr, total_steps, warmup_steps):
    return WarmupCosine(peak_lr, total_steps, warmup_steps)


def build_model(input_shape, n_classes, head=None, batchnorm=True, augment=True):
    inputs = keras.Input(input_shape)
    h = make_augmenter()(inputs) if augment else inputs
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


def conv_bn_relu(h, filters):
    h = layers.Conv2D(filters, 3, padding="same", use_bias=False)(h)
    h = layers.BatchNormalization(momentum=0.9)(h)
    return layers.Activation("relu")(h)


def build_model_notebook(input_shape, n_classes):  # the notebook's solution
    inputs = keras.Input(input_shape)
    h = make_augmenter()(inputs)
    h = conv_bn_relu(h, 32)
    h = layers.MaxPooling2D()(h)
    h = conv_bn_relu(h, 64)
    h = conv_bn_relu(h, 64)
    h = layers.MaxPooling2D()(h)
    h = conv_bn_relu(h, 128)
    h = layers.Flatten()(h)
    h = layers.Dropout(0.3)(h)
    h = layers.Dense(128, use_bias=False)(h)
    h = layers.BatchNormalization(momentum=0.9)(h)
    h = layers.Activation("relu")(h)
    h = layers.Dropout(0.2)(h)
    outputs = layers.Dense(n_classes, activation="softmax")(h)
    return keras.Model(inputs, outputs, name="capstone_cnn")


def build_model_sequential(input_shape, n_classes):
    return keras.Sequential([
        keras.Input(shape=input_shape), make_augmenter_keywords(),
        layers.Conv2D(24, 3, padding="same", activation="relu"), layers.BatchNormalization(),
        layers.MaxPooling2D(), layers.Conv2D(48, 3, padding="same", activation="relu"),
        layers.BatchNormalization(), layers.GlobalAveragePooling2D(), layers.Dropout(0.25),
        layers.Dense(n_classes), layers.Softmax()])


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


def _numpy_report(saved):
    return _report(saved, params=np.int64(saved["params"]), epochs=np.int32(3),
                   val_accuracy=np.float32(0.85), test_accuracy=np.float64(saved["accuracy"]),
                   train_seconds=np.float32(4.2))


def _whole_float_report(saved):   # JSON written by another tool: whole numbers as floats
    return _report(saved, params=float(saved["params"]), epochs=3.0, train_seconds=4)


# answers, or a function of the saved models (the fixture) giving them
CORRECT = [
    (q1, {"choose_data": choose_data}), (q1, {"choose_data": choose_data_loop}),
    (q1, {"choose_data": choose_data_nested}),
    (q2, {"make_augmenter": make_augmenter}), (q2, {"make_augmenter": make_augmenter_keywords}),
    (q2, {"make_augmenter": make_augmenter_input}),
    (q3, {"make_schedule": make_schedule}), (q3, {"make_schedule": make_schedule_positional}),
    (q3, {"make_schedule": make_schedule_own_class}),
    (q4, {"build_model": build_model_notebook}), (q4, {"build_model": build_model}),
    (q4, {"build_model": build_model_sequential}),
    (q5, lambda saved: {"capstone_model_path": saved["trained"]}),
    (q5, lambda saved: {"capstone_model_path": os.path.relpath(saved["trained"])}),
    (q5, lambda saved: {"capstone_model_path": str(Path(saved["trained"]).resolve())}),
    (q6, lambda saved: {"capstone_report": _report(saved), "capstone_model_path": saved["trained"]}),
    (q6, lambda saved: {"capstone_report": _numpy_report(saved),
                        "capstone_model_path": os.path.relpath(saved["trained"])}),
    (q6, lambda saved: {"capstone_report": _whole_float_report(saved),
                        "capstone_model_path": saved["trained"]}),
]


@pytest.mark.parametrize("question, answers", CORRECT,
                         ids=[f"{q.key}-{i}" for i, (q, _) in enumerate(CORRECT)])
def test_correct_answers_pass(question, answers, request):
    if callable(answers):
        request.getfixturevalue("low_threshold")
        answers = answers(request.getfixturevalue("saved_models"))
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


def choose_data_catches_everything(load_cifar10, load_fashion_mnist):
    try:
        return ("cifar10", *load_cifar10(download=False), "CIFAR-10 is on this machine.")
    except Exception:                       # also hides a broken file
        pass
    try:
        return ("fashion-full", *load_fashion_mnist("full", download=False),
                "No CIFAR-10 here: the full Fashion-MNIST is used.")
    except Exception:
        return ("fashion-small", *load_fashion_mnist("small"), "Falling back to the bundled subset.")


def _translation(**changes):
    return layers.RandomTranslation(**({"height_factor": 0.05, "width_factor": 0.05,
                                        "fill_mode": "constant"} | changes))


def augmenter_with_vertical_flip():
    return keras.Sequential([layers.RandomFlip(), _translation()])


def augmenter_with_rescaling():
    return keras.Sequential([layers.Rescaling(1 / 255), layers.RandomFlip("horizontal"),
                             _translation()])


def augmenter_with_big_shifts():
    return keras.Sequential([layers.RandomFlip("horizontal"), _translation(height_factor=0.4,
                                                                           width_factor=0.4)])


def augmenter_ten_percent():
    return keras.Sequential([layers.RandomFlip("horizontal"), _translation(height_factor=0.1,
                                                                           width_factor=0.1)])


def augmenter_reflecting():   # the default fill_mode
    return keras.Sequential([layers.RandomFlip("horizontal"), layers.RandomTranslation(0.05, 0.05)])


def augmenter_with_rotation():
    return keras.Sequential([layers.RandomFlip("horizontal"), _translation(),
                             layers.RandomRotation(0.05)])


class NoConfig(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, peak_lr):
        self.peak_lr = peak_lr

    def __call__(self, step):
        return make_schedule(self.peak_lr, 1000, 100)(step)


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


def model_without_augmenter(input_shape, n_classes):
    return build_model(input_shape, n_classes, augment=False)


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
           ({"choose_data": choose_data_silent}, "should be a sentence"),
           ({"choose_data": choose_data_catches_everything}, "returned as if nothing had happened")],
    "q2": [({"make_augmenter": augmenter_with_vertical_flip}, "no vertical flip"),
           ({"make_augmenter": augmenter_with_rescaling}, "return its input unchanged"),
           ({"make_augmenter": augmenter_with_big_shifts}, "factors [0.4, 0.4]"),
           ({"make_augmenter": lambda: layers.RandomFlip("horizontal")}, "keras.Sequential"),
           ({"make_augmenter": augmenter_ten_percent}, "up to 5 % of the height"),
           ({"make_augmenter": augmenter_reflecting}, "fill_mode='reflect'"),
           ({"make_augmenter": augmenter_with_rotation}, "holds 3 layer(s)")],
    "q3": [({"make_schedule": schedule_warmup_from_zero}, "wrong at step(s) [0"),
           ({"make_schedule": schedule_too_long}, "the decay ends at step"),
           ({"make_schedule": lambda peak_lr, total_steps, warmup_steps: peak_lr},
            "should return a schedule"),
           ({"make_schedule": lambda peak_lr, total_steps, warmup_steps:
             lambda step: make_schedule(peak_lr, total_steps, warmup_steps)(step)},
            "not a keras.optimizers.schedules.LearningRateSchedule"),
           ({"make_schedule": lambda peak_lr, total_steps, warmup_steps: NoConfig(peak_lr)},
            "needs a get_config method")],
    "q4": [({"build_model": model_with_logits}, "should be probabilities"),
           ({"build_model": model_without_batchnorm}, "BatchNormalization"),
           ({"build_model": model_with_ten_classes}, "it should give 4 class probabilities"),
           ({"build_model": model_over_budget}, "over the budget"),
           ({"build_model": model_without_augmenter}, "does not start with the augmenter")],
}


@pytest.mark.parametrize("key,answers,message",
                         [(k, a, m) for k, cases in WRONG.items() for a, m in cases])
def test_wrong_answers_fail(key, answers, message):
    assert_fails_with(getattr(lesson18, key), answers, message)
    assert_judge_agrees(getattr(lesson18, key), answers)


def test_saved_model_wrong_answers(saved_models, low_threshold, tmp_path):
    assert_fails_with(q5, {"capstone_model_path": saved_models["untrained"]}, "below the threshold")
    assert_fails_with(q5, {"capstone_model_path": str(tmp_path / "model.h5")}, "Keras format")
    assert_fails_with(q5, {"capstone_model_path": Path(saved_models["trained"])}, "as a str")
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
             (_report(saved_models, epochs=2.5), "not a whole number"),
             (_report(saved_models, source="cifar10"), "but the saved model takes images of shape"),
             ({"source": "fashion-full"}, "lacks the key")]
    for report, message in cases:
        assert_fails_with(q6, {"capstone_report": report, "capstone_model_path": path}, message)


def test_every_question_has_a_wrong_answer():
    assert_covers_every_question(lesson18, dict(WRONG, q5=1, q6=1))
