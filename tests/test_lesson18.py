"""Lesson 18: correct answers (several designs, several styles) pass; plausible wrong ones fail
with a specific message."""
import inspect
import json
import math
import os
import statistics
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers import (assert_covers_every_question, assert_fails_with, assert_judge_agrees,
                     judge_verdict)

import utils.data
from utils.checks import PASS, lesson18
from utils.checks.lesson18 import q1, q2, q3, q4, q5, q6, q7
from utils.data import DatasetUnavailable, load_fashion_mnist, to_float_images
from utils.model_cost import multiply_adds

layers = keras.layers


# ----------------------------------------------------------------------------- q1
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


# ----------------------------------------------------------------------------- q2: three designs
def _augmented(inputs, augment):
    h = inputs
    if augment:
        h = layers.RandomFlip("horizontal")(h)
        h = layers.RandomTranslation(0.05, 0.05, fill_mode="constant")(h)
    return h


def build_model_notebook(input_shape, n_classes, augment=True):   # the notebook's baseline
    def conv_bn_relu(h, filters):
        h = layers.Conv2D(filters, 3, padding="same", use_bias=False)(h)
        h = layers.BatchNormalization(momentum=0.9)(h)
        return layers.Activation("relu")(h)

    inputs = keras.Input(input_shape)
    h = conv_bn_relu(_augmented(inputs, augment), 32)
    h = layers.MaxPooling2D()(h)
    h = conv_bn_relu(conv_bn_relu(h, 64), 64)
    h = layers.MaxPooling2D()(h)
    h = layers.Flatten()(conv_bn_relu(h, 128))
    h = layers.Dropout(0.3)(h)
    h = layers.Activation("relu")(layers.BatchNormalization()(layers.Dense(128)(h)))
    outputs = layers.Dense(n_classes, activation="softmax")(layers.Dropout(0.2)(h))
    return keras.Model(inputs, outputs)


def build_model_residual(input_shape, n_classes, augment=True):
    """A small ResNet: residual blocks, strided convolutions, global average pooling."""
    inputs = keras.Input(input_shape)
    h = layers.Conv2D(32, 3, padding="same", activation="relu")(_augmented(inputs, augment))
    for filters, stride in ((32, 2), (64, 2)):
        shortcut = layers.Conv2D(filters, 1, strides=stride)(h)
        y = layers.Conv2D(filters, 3, strides=stride, padding="same", activation="relu")(h)
        y = layers.BatchNormalization()(layers.Conv2D(filters, 3, padding="same")(y))
        h = layers.ReLU()(layers.add([y, shortcut]))
    h = layers.GlobalAveragePooling2D()(h)
    return keras.Model(inputs, layers.Dense(n_classes, activation="softmax")(h), name="res")


def build_model_sequential(input_shape, n_classes, augment=True):
    """Sequential, separable convolutions, a Softmax layer, zoom as the augmentation."""
    front = [layers.RandomZoom(0.1), layers.RandomFlip("horizontal")] if augment else []
    return keras.Sequential([
        keras.Input(shape=input_shape), *front,
        layers.SeparableConv2D(48, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(), layers.SeparableConv2D(96, 3, padding="same", activation="relu"),
        layers.GlobalAveragePooling2D(), layers.Dropout(0.25), layers.Dense(n_classes),
        layers.Softmax()])


def model_with_logits(input_shape, n_classes, augment=True):
    inputs = keras.Input(input_shape)
    h = layers.Conv2D(16, 3, activation="relu")(_augmented(inputs, augment))
    return keras.Model(inputs, layers.Dense(n_classes)(layers.GlobalAveragePooling2D()(h)))


def model_dense_only(input_shape, n_classes, augment=True):
    inputs = keras.Input(input_shape)
    h = layers.Flatten()(_augmented(inputs, augment))
    return keras.Model(inputs, layers.Dense(n_classes, activation="softmax")(h))


def model_too_costly(input_shape, n_classes, augment=True):   # wide convolutions at 28x28
    inputs = keras.Input(input_shape)
    h = layers.Conv2D(96, 3, padding="same", activation="relu")(_augmented(inputs, augment))
    h = layers.Conv2D(96, 3, padding="same", activation="relu")(h)
    h = layers.GlobalAveragePooling2D()(layers.Conv2D(96, 3, padding="same")(h))
    return keras.Model(inputs, layers.Dense(n_classes, activation="softmax")(h))


def model_too_big(input_shape, n_classes, augment=True):   # a huge dense layer on a Flatten
    inputs = keras.Input(input_shape)
    h = layers.Conv2D(64, 3, padding="same", activation="relu")(_augmented(inputs, augment))
    h = layers.Dense(128, activation="relu")(layers.Flatten()(h))
    return keras.Model(inputs, layers.Dense(n_classes, activation="softmax")(h))


def model_ignoring_augment(input_shape, n_classes, augment=True):
    return build_model_notebook(input_shape, n_classes, augment=True)


def model_without_augmentation(input_shape, n_classes, augment=True):
    return build_model_notebook(input_shape, n_classes, augment=False)


class AlwaysNoisy(layers.Layer):
    """Noise whatever ``training`` says: a home-made augmentation that forgets inference."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seeds = keras.random.SeedGenerator(1)

    def call(self, x):
        return x + keras.random.normal(keras.ops.shape(x), stddev=0.5, seed=self.seeds)


def model_random_at_inference(input_shape, n_classes, augment=True):
    inputs = keras.Input(input_shape)
    h = layers.Conv2D(16, 3, activation="relu")(AlwaysNoisy()(_augmented(inputs, augment)))
    h = layers.GlobalAveragePooling2D()(h)
    return keras.Model(inputs, layers.Dense(n_classes, activation="softmax")(h))


def model_fixed_classes(input_shape, n_classes, augment=True):
    return build_model_notebook(input_shape, 10, augment)


# ----------------------------------------------------------------------------- q3: recipes
BASELINE = {"augment": True, "epochs": 12, "batch_size": 128, "peak_lr": 3e-3,
            "schedule": "warmup-cosine", "warmup": 0.1, "label_smoothing": 0.0,
            "weight_decay": 1e-4}
SMOOTHED = {**BASELINE, "label_smoothing": 0.1}
CONSTANT = dict(augment=False, epochs=16, batch_size=64, peak_lr=1e-3, schedule="constant",
                warmup=0, label_smoothing=0, weight_decay=0)
NUMPY = {**BASELINE, "epochs": np.int64(10), "peak_lr": np.float32(2e-3), "augment": np.bool_(True)}


# ----------------------------------------------------------------------------- q4: ablations
def _runs(variants, seeds=(0, 1, 2), base=0.85):
    rng = np.random.default_rng(len(variants) * 7 + len(seeds))
    return [{"variant": name, "seed": seed, "val_accuracy": float(base + i / 100 + rng.normal(0, .01))}
            for i, name in enumerate(variants) for seed in seeds]


def summarise_notebook(runs):   # the notebook's solution: tuples
    table = {}
    for name in dict.fromkeys(run["variant"] for run in runs):
        values = np.array([run["val_accuracy"] for run in runs if run["variant"] == name])
        table[name] = (float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values))))
    return table


def summarise_statistics(runs):   # dicts with mean and se, the statistics module
    groups = {}
    for run in runs:
        groups.setdefault(run["variant"], []).append(run["val_accuracy"])
    return {name: {"mean": statistics.fmean(v), "se": statistics.stdev(v) / math.sqrt(len(v))}
            for name, v in groups.items()}


VARIANTS = {"mine": SMOOTHED, "no smoothing": {**SMOOTHED, "label_smoothing": 0.0},
            "no augmentation": {**SMOOTHED, "augment": False}}


def _ablation(variants=VARIANTS, seeds=(0, 1, 2), summarise=summarise_notebook, runs=None):
    runs = _runs(variants, seeds) if runs is None else runs
    return {"variants": variants, "runs": runs, "table": summarise(runs)}


def _through_json(ablation):   # what --model-only reads from the .ablation.json file
    return json.loads(json.dumps(ablation, default=float))


FOUR_SEEDS = _ablation({**VARIANTS, "constant": {**SMOOTHED, "schedule": "constant"}},
                       seeds=(10, 20, 30, 40), summarise=summarise_statistics)


# ----------------------------------------------------------------------------- q6: error analysis
def confusion_counts(y_true, y_pred, n_classes):   # the notebook's solution
    cm = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def most_confused_pairs(cm, k):
    pairs = [(a, b, int(cm[a, b] + cm[b, a])) for a in range(len(cm)) for b in range(a + 1, len(cm))]
    return sorted(pairs, key=lambda pair: -pair[2])[:k]


def most_confident_errors(probs, y_true, k):
    wrong = np.flatnonzero(probs.argmax(axis=1) != y_true)
    return wrong[np.argsort(-probs[wrong].max(axis=1), kind="stable")][:k]


def confusion_bincount(y_true, y_pred, n_classes):   # floats from bincount, then reshaped
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes ** 2).reshape(
        n_classes, n_classes).astype(float)


def pairs_symmetric(cm, k):   # symmetrize the matrix, read the upper triangle
    both = np.asarray(cm) + np.asarray(cm).T
    a, b = np.triu_indices(len(cm), 1)
    order = np.argsort(-both[a, b], kind="stable")[:k]
    return [(int(a[i]), int(b[i]), int(both[a[i], b[i]])) for i in order]


def errors_with_loop(probs, y_true, k):   # a plain loop and sorted()
    found = [(float(p.max()), i) for i, (p, y) in enumerate(zip(probs, y_true)) if p.argmax() != y]
    return [i for _, i in sorted(found, key=lambda item: -item[0])[:k]]


def confusion_transposed(y_true, y_pred, n_classes):
    return confusion_counts(y_true, y_pred, n_classes).T


def confusion_normalized(y_true, y_pred, n_classes):
    cm = confusion_counts(y_true, y_pred, n_classes).astype(float)
    return cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)


def pairs_one_direction(cm, k):
    pairs = [(a, b, int(cm[a, b])) for a in range(len(cm)) for b in range(len(cm)) if a < b]
    return sorted(pairs, key=lambda pair: -pair[2])[:k]


def pairs_with_diagonal(cm, k):
    pairs = [(a, b, int(cm[a, b] + cm[b, a]) if a != b else int(cm[a, a]))
             for a in range(len(cm)) for b in range(a, len(cm))]
    return sorted(pairs, key=lambda pair: -pair[2])[:k]


def errors_least_confident(probs, y_true, k):
    wrong = np.flatnonzero(probs.argmax(axis=1) != y_true)
    return wrong[np.argsort(probs[wrong].max(axis=1))][:k]


def errors_and_correct(probs, y_true, k):   # forgets to keep only the mistakes
    return np.argsort(-probs.max(axis=1))[:k]


ERRORS = {"confusion_counts": confusion_counts, "most_confused_pairs": most_confused_pairs,
          "most_confident_errors": most_confident_errors}


# ----------------------------------------------------------------------------- q5, q7
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
            "params": model.count_params(), "macs": multiply_adds(model), "folder": folder}


@pytest.fixture
def low_threshold(monkeypatch):
    """The real threshold needs the long run; a dense model reaches about 0.8 in seconds."""
    monkeypatch.setattr(lesson18, "THRESHOLDS", {"fashion-full": 0.75, "fashion-small": 0.75,
                                                  "cifar10": 0.65, "smoke": 0.3})
    monkeypatch.delenv("COURSE_SMOKE", raising=False)


def _report(saved, **changes):
    report = {"source": "fashion-full", "params": saved["params"], "multiply_adds": saved["macs"],
              "epochs": 3, "val_accuracy": 0.85, "test_accuracy": saved["accuracy"],
              "train_seconds": 4.2}
    report.update(changes)
    return report


def _numpy_report(saved):
    return _report(saved, params=np.int64(saved["params"]), epochs=np.int32(3),
                   multiply_adds=np.int64(saved["macs"]), val_accuracy=np.float32(0.85),
                   test_accuracy=np.float64(saved["accuracy"]), train_seconds=np.float32(4.2))


def _whole_float_report(saved):   # JSON written by another tool: whole numbers as floats
    return _report(saved, params=float(saved["params"]), multiply_adds=float(saved["macs"]),
                   epochs=3.0, train_seconds=4)


# answers, or a function of the saved models (the fixture) giving them
CORRECT = [
    (q1, {"choose_data": choose_data}), (q1, {"choose_data": choose_data_loop}),
    (q1, {"choose_data": choose_data_nested}),
    (q2, {"build_model": build_model_notebook}), (q2, {"build_model": build_model_residual}),
    (q2, {"build_model": build_model_sequential}),
    (q3, {"my_design": SMOOTHED}), (q3, {"my_design": CONSTANT}), (q3, {"my_design": NUMPY}),
    (q4, {"ablation": _ablation()}), (q4, {"ablation": FOUR_SEEDS}),
    (q4, {"ablation": _ablation({**VARIANTS, "no warmup": {**SMOOTHED, "warmup": 0.0}})}),
    (q4, {"ablation": _through_json(_ablation(summarise=summarise_statistics))}),
    (q5, lambda saved: {"capstone_model_path": saved["trained"]}),
    (q5, lambda saved: {"capstone_model_path": os.path.relpath(saved["trained"])}),
    (q5, lambda saved: {"capstone_model_path": str(Path(saved["trained"]).resolve())}),
    (q6, ERRORS),
    (q6, {"confusion_counts": confusion_bincount, "most_confused_pairs": pairs_symmetric,
          "most_confident_errors": errors_with_loop}),
    (q6, {**ERRORS, "most_confident_errors": lambda p, y, k: list(most_confident_errors(p, y, k))}),
    (q7, lambda saved: {"capstone_report": _report(saved), "capstone_model_path": saved["trained"]}),
    (q7, lambda saved: {"capstone_report": _numpy_report(saved),
                        "capstone_model_path": os.path.relpath(saved["trained"])}),
    (q7, lambda saved: {"capstone_report": _whole_float_report(saved),
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
    (True, "FAIL", "the full training set is on this machine"), (False, PASS, "")])
def test_threshold_follows_the_data_on_this_machine(saved_models, monkeypatch, full_here, status,
                                                    text):
    """With the full data on the grader's machine the bar is 0.90, with the subset only 0.87."""
    monkeypatch.delenv("COURSE_SMOKE", raising=False)
    monkeypatch.setattr(lesson18, "THRESHOLDS", {"fashion-full": 0.99, "fashion-small": 0.5,
                                                  "cifar10": 0.65, "smoke": 0.3})
    monkeypatch.setattr(utils.data, "fashion_full_dir", lambda: Path("/x") if full_here else None)
    result = q5.evaluate(namespace={}, capstone_model_path=saved_models["trained"])
    assert result.status == status and text in " ".join(result.messages), result.messages


def test_tied_accuracies_with_different_losses_are_not_a_missing_seed():
    """100 validation images in smoke mode: two seeds can tie on accuracy, not on the loss."""
    runs = [{**r, "val_accuracy": 0.31, "val_loss": 2.0 + r["seed"] / 10}
            if r["variant"] == "mine" else r for r in _runs(VARIANTS)]
    assert q4.evaluate(namespace={}, ablation=_ablation(runs=runs)).status == PASS


def test_smoke_mode_asks_for_two_seeds_only(monkeypatch):
    """CI's smoke run of the notebook trains each variant with 2 seeds; students run 3."""
    two = _ablation(seeds=(0, 1))
    monkeypatch.setenv("COURSE_SMOKE", "1")
    assert q4.evaluate(namespace={}, ablation=two).status == PASS
    monkeypatch.setenv("COURSE_SMOKE", "0")
    assert_fails_with(q4, {"ablation": two}, "at least 3 seeds")


def test_multiply_adds_of_the_baseline_by_hand():
    """28x28 conv 1->32, 14x14 convs 32->64 and 64->64, 7x7 conv 64->128, dense 6272->128->10."""
    by_hand = (28 * 28 * 9 * 32 + 14 * 14 * 9 * (32 * 64 + 64 * 64) + 7 * 7 * 9 * 64 * 128
               + 6272 * 128 + 128 * 10)
    assert multiply_adds(build_model_notebook((28, 28, 1), 10)) == by_hand == 15_480_576


def test_multiply_adds_of_strided_and_valid_separable_convolutions_by_hand():
    """Keras runs a separable convolution's depthwise step with the layer's strides and padding,
    so both of its steps are counted at the output positions."""
    inputs = keras.Input((28, 28, 8))
    strided = layers.SeparableConv2D(16, 3, strides=2, padding="same")(inputs)     # 14x14
    valid = layers.SeparableConv2D(32, 3, padding="valid")(strided)                 # 12x12
    model = keras.Model(inputs, valid)
    by_hand = 14 * 14 * (9 * 8 + 8 * 16) + 12 * 12 * (9 * 16 + 16 * 32)
    assert [tuple(t.shape[1:3]) for t in (strided, valid)] == [(14, 14), (12, 12)]
    assert multiply_adds(model) == by_hand


def test_multiply_adds_counts_every_call_of_a_shared_layer_or_nested_model():
    """Averaging over a mirrored copy calls the network twice: it costs twice, not once."""
    inner = build_model_notebook((28, 28, 1), 10, augment=False)
    inputs = keras.Input((28, 28, 1))
    mirror = layers.Dense(28, use_bias=False, trainable=False)   # the width axis, reversed
    mirrored = layers.Permute((1, 3, 2))(mirror(layers.Permute((1, 3, 2))(inputs)))
    mirror.set_weights([np.eye(28)[::-1]])
    averaged = keras.Model(inputs, layers.Average()([inner(inputs), inner(mirrored)]))
    assert multiply_adds(averaged) == 2 * multiply_adds(inner) + 28 * 28 * 28
    shared = layers.Conv2D(4, 3, padding="same")
    twice = keras.Model(inputs, shared(shared(layers.Conv2D(4, 1)(inputs))))
    assert multiply_adds(twice) == 28 * 28 * 4 + 2 * 28 * 28 * 9 * 4 * 4


def test_multiply_adds_of_a_model_without_an_input_shape_is_a_clear_error():
    with pytest.raises(ValueError, match="build the model from keras.Input"):
        multiply_adds(keras.Sequential([layers.Dense(3)]))


# ----------------------------------------------------------------------------- wrong answers
def _two_changes():
    return _ablation({**VARIANTS, "smaller rate": {**SMOOTHED, "peak_lr": 1e-3, "epochs": 6}})


def _same_values():
    runs = [{**r, "val_accuracy": 0.9} if r["variant"] == "no smoothing" else r
            for r in _runs(VARIANTS)]
    return _ablation(runs=runs)


def _other_seeds():
    runs = [{**r, "seed": r["seed"] + 5} if r["variant"] == "no augmentation" else r
            for r in _runs(VARIANTS)]
    return _ablation(runs=runs)


def _population_se():
    ablation = _ablation()
    ablation["table"] = {name: (mean, se * math.sqrt(2 / 3))
                         for name, (mean, se) in ablation["table"].items()}
    return ablation


def _wrong_mean():
    ablation = _ablation()
    ablation["table"]["mine"] = (ablation["table"]["mine"][0] + 0.01, ablation["table"]["mine"][1])
    return ablation


WRONG = {
    "q1": [({"choose_data": choose_data_skips_cifar}, "the source should not be 'fashion-full'"),
           ({"choose_data": choose_data_downloads}, "download=False"),
           ({"choose_data": choose_data_silent}, "should be a sentence"),
           ({"choose_data": choose_data_catches_everything}, "returned as if nothing had happened")],
    "q2": [({"build_model": model_with_logits}, "should be probabilities"),
           ({"build_model": model_dense_only}, "no convolution layer"),
           ({"build_model": model_too_costly}, "multiply-adds per image, over the budget"),
           ({"build_model": model_too_big}, "parameters, over the budget"),
           ({"build_model": model_ignoring_augment}, "still holds the random layer(s)"),
           ({"build_model": model_without_augmentation}, "should start with random preprocessing"),
           ({"build_model": model_fixed_classes}, "it should give 4 class probabilities")],
    "q3": [({"my_design": {**SMOOTHED, "epochs": 20}}, "the training budget: at most 16"),
           ({"my_design": {**SMOOTHED, "lr": 1e-3}}, "key(s) the training code does not know: ['lr']"),
           ({"my_design": {k: v for k, v in SMOOTHED.items() if k != "warmup"}},
            "lacks the key(s) ['warmup']"),
           ({"my_design": {**SMOOTHED, "schedule": "cosine"}}, "should be one of"),
           ({"my_design": {**SMOOTHED, "augment": "yes"}}, "should be True or False"),
           ({"my_design": {**SMOOTHED, "epochs": 12.5}}, "should be a whole number"),
           ({"my_design": [("epochs", 12)]}, "should be a dict")],
    "q4": [({"ablation": _two_changes()}, "differs from 'mine' in 2 key(s)"),
           ({"ablation": _ablation({**VARIANTS, "longer": {**SMOOTHED, "epochs": 16}})},
            "changes only 'epochs', but run_ablation trains every variant"),
           ({"ablation": _ablation({"mine": CONSTANT, "warmup": {**CONSTANT, "warmup": 0.2},
                                    "augmented": {**CONSTANT, "augment": True}})},
            "changes only 'warmup', which a constant rate ignores"),
           ({"ablation": _ablation({"mine": SMOOTHED, "no smoothing": VARIANTS["no smoothing"]})},
            "needs at least two one-change variants"),
           ({"ablation": _ablation(seeds=(0, 1))}, "at least 3 seeds"),
           ({"ablation": _same_values()}, "exactly the same validation results"),
           ({"ablation": _other_seeds()}, "use the same seeds"),
           ({"ablation": _population_se()}, "population standard deviation (ddof=0)"),
           ({"ablation": _wrong_mean()}, "but the runs of 'mine' average"),
           ({"ablation": {**_ablation(), "runs": [{"variant": ["mine"], "seed": 0,
                                                   "val_accuracy": 0.8}]}},
            "which is not one of the variants"),
           ({"ablation": {k: v for k, v in _ablation().items() if k != "table"}},
            "the dict the notebook assembles"),
           ({"ablation": _ablation({"best": SMOOTHED, **{k: v for k, v in VARIANTS.items()
                                                         if k != "mine"}})}, "under the name 'mine'")],
    "q6": [({**ERRORS, "confusion_counts": confusion_transposed}, "is transposed"),
           ({**ERRORS, "confusion_counts": confusion_normalized}, "normalized per row"),
           ({**ERRORS, "most_confused_pairs": pairs_one_direction}, "counts one direction only"),
           ({**ERRORS, "most_confused_pairs": pairs_with_diagonal}, "paired with itself"),
           ({**ERRORS, "most_confident_errors": errors_least_confident}, "least confident"),
           ({**ERRORS, "most_confident_errors": errors_and_correct}, "got right")],
}


@pytest.mark.parametrize("key,answers,message",
                         [(k, a, m) for k, cases in WRONG.items() for a, m in cases])
def test_wrong_answers_fail(key, answers, message):
    assert_fails_with(getattr(lesson18, key), answers, message)
    assert_judge_agrees(getattr(lesson18, key), answers)


def test_noise_at_inference_fails_here_and_in_the_judge():
    """A home-made random layer: FAIL in the notebook (it differs at inference); the judge cannot
    read a model with a layer that is not Keras', and says so."""
    answers = {"build_model": model_random_at_inference}
    assert_fails_with(q2, answers, "differ at inference")
    there = judge_verdict(q2, answers)
    assert there.status == "FAIL" and "not part of Keras" in " ".join(there.messages)


def test_saved_model_wrong_answers(saved_models, low_threshold, tmp_path):
    assert_fails_with(q5, {"capstone_model_path": saved_models["untrained"]}, "below the threshold")
    assert_fails_with(q5, {"capstone_model_path": str(tmp_path / "model.h5")}, "Keras format")
    assert_fails_with(q5, {"capstone_model_path": Path(saved_models["trained"])}, "as a str")
    assert_fails_with(q5, {"capstone_model_path": str(tmp_path / "nothing.keras")}, "no file")
    not_a_model = tmp_path / "text.keras"
    not_a_model.write_text("not a model")
    assert_fails_with(q5, {"capstone_model_path": str(not_a_model)}, "could not be loaded")
    costly = tmp_path / "costly.keras"
    model_too_costly((28, 28, 1), 10).save(costly)
    assert_fails_with(q5, {"capstone_model_path": str(costly)}, "over the budget")


@pytest.mark.parametrize("design", [build_model_notebook, build_model_residual,
                                    build_model_sequential])
def test_saved_designs_of_every_kind_load_and_keep_the_budget(design, tmp_path, monkeypatch):
    """Residual additions, separable convolutions, zoom layers: the saved file loads in the
    judge's safe mode and its budget is counted (untrained, so the bar is lowered to 0)."""
    monkeypatch.setattr(lesson18, "THRESHOLDS", dict.fromkeys(lesson18.THRESHOLDS, 0.0))
    path = tmp_path / "design.keras"
    design((28, 28, 1), 10).save(path)
    answers = {"capstone_model_path": str(path)}
    assert q5.evaluate(namespace={}, **answers).status == PASS
    assert_judge_agrees(q5, answers)


def test_report_wrong_answers(saved_models, low_threshold):
    path = saved_models["trained"]
    cases = [(_report(saved_models, test_accuracy=saved_models["accuracy"] - 0.1), "differs from"),
             (_report(saved_models, test_accuracy=100 * saved_models["accuracy"]), "not a percentage"),
             (_report(saved_models, params=saved_models["params"] + 1), "parameter count"),
             (_report(saved_models, multiply_adds=saved_models["params"]), "multiply_adds"),
             (_report(saved_models, epochs=0), "epochs that ran"),
             (_report(saved_models, epochs=2.5), "not a whole number"),
             (_report(saved_models, source="cifar10"), "but the saved model takes images of shape"),
             ({"source": "fashion-full"}, "lacks the key")]
    for report, message in cases:
        assert_fails_with(q7, {"capstone_report": report, "capstone_model_path": path}, message)


def test_every_question_has_a_wrong_answer():
    assert_covers_every_question(lesson18, dict(WRONG, q5=1, q7=1))
