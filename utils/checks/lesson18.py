"""Checks of lesson 18 · Capstone: design, train, tune and report a CNN.

The data choice is checked with fake loaders that simulate a machine with or without each
dataset, or with a broken file (an error that is not ``DatasetUnavailable`` must reach the
reader). The augmentation pipeline, the schedule and the model are checked against Keras
(``keras.optimizers.schedules.CosineDecay`` with warmup gives the expected learning rates) and
against what the notebook's ``train()`` does with them (the schedule goes into ``AdamW``, the
augmenter is the model's first layer).
The graded model is the SAVED ``.keras`` file: it is loaded and scored on a fixed held-out set
that every student has offline, the 2,000 official test images of the bundled Fashion-MNIST
split (``utils.data.load_fashion_mnist()[1]``; 500 of them in smoke mode). No training happens
inside a check.

How the accuracy thresholds were set
------------------------------------
* Default mode, with the full Fashion-MNIST on the machine (the notebook then trains on 54,000
  images): threshold 0.90. Three seeded default runs of the solution (seeds 42, 1, 2; 14 epochs,
  about 15 minutes each on 2 cores) scored 0.935, 0.935 and 0.9325 on this held-out set (0.9367,
  0.9365, 0.9361 on the official 10,000 test images); the lowest minus 3 points, rounded down.
* Default mode, with only the bundled subset on the machine (the notebook trains on 9,000 images):
  threshold 0.87. The same three seeds scored 0.901, 0.906 and 0.901; the lowest minus 3 points.
  Which case applies is decided by ``utils.data.fashion_full_dir()`` at check time, so a grader
  without the full data judges what its own run of the notebook could reach.
* Smoke mode (``COURSE_SMOKE=1``: 900 training images, one epoch, batch 16) only proves the
  pipeline runs: threshold 0.30, three times chance (0.10); the solution's smoke model scores
  0.72 on the 500 smoke test images (measured), a 500-image set where chance has a standard
  deviation of about 0.013.
* A model for 32x32 colour images (CIFAR-10, when it is available) is scored on the first 200
  test images of each class with the threshold 0.65: the syllabus's reference CNN reaches
  about 0.71 in 10 epochs. This threshold is NOT measured on this machine (CIFAR-10 was not
  available offline here).

``GRADE_SMOKE = False``: the grader runs the notebook with the real data, because the graded
answer is the trained model itself; a smoke-mode grade would only show that the code runs.
Give the grader a long enough ``--timeout`` (about 20 minutes per notebook on 2 cores).
"""
from __future__ import annotations

import math

import keras
import numpy as np

from .. import config, data
from ..grading.codec import Undecodable, load_keras_file
from .core import is_a, question, type_name

GRADE_SMOKE = False
PARAM_BUDGET = 1_500_000
THRESHOLDS = {"fashion-full": 0.90, "fashion-small": 0.87, "cifar10": 0.65, "smoke": 0.30}
SOURCES = ("cifar10", "fashion-full", "fashion-small")


# The grader's --model-only (its default for this lesson) judges these answers from the files a
# student hands in beside the notebook, without running it: the saved model, and the report as
# JSON (the notebook writes capstone_report.json next to the model).
GRADE_FROM_FILES = {"capstone_model_path": ".keras", "capstone_report": ".json"}


# ----------------------------------------------------------------------------- helpers
def _all_layers(model):
    found = []
    for layer in getattr(model, "layers", []):
        found.append(layer)
        if isinstance(layer, keras.Model):
            found += _all_layers(layer)
    return found


# ----------------------------------------------------------------------------- q1
class _BrokenFile(OSError):
    """What a corrupted dataset file raises in the fake loaders: not a DatasetUnavailable."""


class _Loaders:
    """Fake dataset loaders that record their calls; missing datasets raise ``unavailable``,
    the ``broken`` one (``"cifar10"`` or ``"fashion-full"``) raises :class:`_BrokenFile`."""

    def __init__(self, have_cifar: bool, have_full: bool, unavailable, broken: str = ""):
        self.have_cifar, self.have_full, self.unavailable = have_cifar, have_full, unavailable
        self.broken = broken
        self.calls: list[tuple[str, tuple, dict]] = []
        rng = np.random.default_rng(16)
        self.data = {
            "cifar10": ((rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8), np.arange(6, dtype=np.uint8)),
                        (rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8), np.arange(3, dtype=np.uint8))),
            "fashion-full": ((rng.integers(0, 256, (8, 28, 28), dtype=np.uint8), np.arange(8, dtype=np.uint8)),
                             (rng.integers(0, 256, (4, 28, 28), dtype=np.uint8), np.arange(4, dtype=np.uint8))),
            "fashion-small": ((rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), np.arange(5, dtype=np.uint8)),
                              (rng.integers(0, 256, (2, 28, 28), dtype=np.uint8), np.arange(2, dtype=np.uint8))),
        }

    def load_cifar10(self, *args, **kwargs):
        self.calls.append(("cifar10", args, kwargs))
        if self.broken == "cifar10":
            raise _BrokenFile("data/cifar10/data_batch_1 is truncated (a simulated broken file).")
        if not self.have_cifar:
            raise self.unavailable("CIFAR-10 is not on this (simulated) machine.")
        return self.data["cifar10"]

    def load_fashion_mnist(self, *args, **kwargs):
        self.calls.append(("fashion", args, kwargs))
        size = kwargs.get("size", args[0] if args else "small")
        if size == "full":
            if self.broken == "fashion-full":
                raise _BrokenFile("the full Fashion-MNIST file is truncated (a simulated broken "
                                  "file).")
            if not self.have_full:
                raise self.unavailable("The full Fashion-MNIST is not on this (simulated) machine.")
            return self.data["fashion-full"]
        return self.data["fashion-small"]


def _unchanged(pair, given) -> bool:
    """``pair`` is the (x, y) the loader gave: the same values, dtypes and shapes."""
    return isinstance(pair, (tuple, list)) and len(pair) == 2 and all(
        isinstance(a, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
        for a, b in zip(pair, given))


def _unavailable_class(fn):
    """An exception class that is a ``DatasetUnavailable`` for the check AND for the student's code.

    The grader re-imports ``utils`` before running the checks, so the student's notebook may hold
    another copy of the class; the fake loaders raise an exception that is an instance of both."""
    bases = [data.DatasetUnavailable]
    namespace = getattr(fn, "__globals__", {})
    candidates = [namespace.get("DatasetUnavailable"),
                  getattr(getattr(namespace.get("utils"), "data", None), "DatasetUnavailable", None)]
    for cls in candidates:
        if isinstance(cls, type) and issubclass(cls, Exception) and cls not in bases:
            bases.append(cls)
    return type("DatasetUnavailable", tuple(bases), {})


@question(names=["choose_data"], hints=[
    "Try the datasets from the best to the simplest: CIFAR-10, then the full Fashion-MNIST, "
    "then the bundled subset. A missing dataset raises DatasetUnavailable: catch exactly that "
    "(`except DatasetUnavailable:`), so that any other error still stops the notebook.",
    "Call the loaders you were given with download=False (the course must work offline): "
    "load_cifar10(download=False), load_fashion_mnist('full', download=False), and "
    "load_fashion_mnist('small') for the fallback.",
    "Return a 4-tuple (source, (x_train, y_train), (x_test, y_test), reason) where source is one "
    "of 'cifar10', 'fashion-full', 'fashion-small' and reason is a sentence for the reader.",
])
def q1(t, choose_data):
    """choose the dataset automatically and explain the choice"""
    if not callable(choose_data):
        t.fail(f"`choose_data` should be a function, but it is a {type(choose_data).__name__}.")
    unavailable = _unavailable_class(choose_data)
    for have_cifar, have_full, expected in [(True, True, "cifar10"), (False, True, "fashion-full"),
                                            (False, False, "fashion-small")]:
        where = (f"a machine with{'' if have_cifar else 'out'} CIFAR-10 and "
                 f"with{'' if have_full else 'out'} the full Fashion-MNIST")
        fake = _Loaders(have_cifar, have_full, unavailable)
        out = t.call(choose_data, fake.load_cifar10, fake.load_fashion_mnist, where=where)
        if isinstance(out, (str, bytes)) or not isinstance(out, (tuple, list)) or len(out) != 4:
            t.fail(f"`choose_data` should return a tuple of 4 items (source, train, test, reason), "
                   f"but it returned a {type(out).__name__} on {where}.")
        source, train, test, reason = out
        if not t.case(source == expected, f"On {where}, the source should not be {source!r} "
                      f"(sources: {', '.join(SOURCES)})."):
            continue
        train_ok = _unchanged(train, fake.data[expected][0])
        test_ok = _unchanged(test, fake.data[expected][1])
        t.case(train_ok and test_ok, f"On {where}: return the (x_train, y_train) and "
               "(x_test, y_test) arrays the loader gave you, unchanged.")
        t.case(isinstance(reason, str) and len(reason.strip()) >= 15,
               f"On {where}: `reason` should be a sentence (a str) saying what was chosen and why.")
        downloads = [c for c in fake.calls if c[2].get("download", True) is not False
                     and (c[0] == "cifar10" or "full" in c[1] or c[2].get("size") == "full")]
        t.case(not downloads, f"On {where}: the CIFAR-10 or full Fashion-MNIST loader was called "
               "without download=False: the course must never wait for the network.")
    for broken, have_cifar in (("cifar10", True), ("fashion-full", False)):
        where = f"a machine whose {'CIFAR-10' if broken == 'cifar10' else 'full Fashion-MNIST'} " \
                "file is broken (the loader raises an OSError, not DatasetUnavailable)"
        fake = _Loaders(have_cifar, True, unavailable, broken=broken)
        try:
            choose_data(fake.load_cifar10, fake.load_fashion_mnist)
            swallowed = True
        except Exception:  # the error reached the caller, as it should
            swallowed = False
        t.case(not swallowed, f"On {where}: `choose_data` returned as if nothing had happened. "
               "Only DatasetUnavailable means 'not on this machine'; other errors must stay "
               "visible.")


# ----------------------------------------------------------------------------- q2
def _factors(value):
    """A RandomTranslation factor as (lower, upper)."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return tuple(value)
    return (-value, value) if isinstance(value, (int, float)) else None


@question(names=["make_augmenter"], hints=[
    "keras.Sequential([...]) of exactly two preprocessing layers: keras.layers.RandomFlip and "
    "keras.layers.RandomTranslation.",
    "Clothes are photographed upright: flip left-right only (mode 'horizontal'); a vertical flip "
    "would turn a shoe upside down. Translate by a factor of 0.05 in both directions "
    "(height_factor and width_factor), about 1.4 pixels.",
    "RandomTranslation fills the uncovered border with fill_mode='reflect' by default; the task "
    "asks for zeros: `fill_mode='constant'` (its fill_value is 0 by default).",
])
def q2(t, make_augmenter):
    """the augmentation pipeline: light, label-preserving, identity at inference"""
    augmenter = t.call(make_augmenter, where="make_augmenter()")
    if not isinstance(augmenter, keras.Sequential):
        t.fail(f"`make_augmenter()` should return a keras.Sequential, not a {type(augmenter).__name__}.")
    layers = list(augmenter.layers)
    flips = [layer for layer in layers if isinstance(layer, keras.layers.RandomFlip)]
    shifts = [layer for layer in layers if isinstance(layer, keras.layers.RandomTranslation)]
    t.case(len(layers) == 2 and len(flips) == 1 and len(shifts) == 1,
           f"The pipeline holds {len(layers)} layer(s) "
           f"({', '.join(type(layer).__name__ for layer in layers) or 'none'}); the task asks for "
           "exactly two, a RandomFlip and a RandomTranslation.")
    t.case(len(flips) == 1 and flips[0].get_config().get("mode") == "horizontal",
           "The pipeline should hold one RandomFlip with mode 'horizontal' (no vertical flip: "
           "an upside-down shoe is not a shoe the test set contains).")
    if len(shifts) == 1:
        config = shifts[0].get_config()
        factors = [_factors(config.get(key)) for key in ("height_factor", "width_factor")]
        t.case(all(f is not None and np.allclose(f, (-0.05, 0.05)) for f in factors),
               f"The RandomTranslation has factors {[config.get('height_factor'), config.get('width_factor')]}"
               " (height, width); the task asks for up to 5 % of the height and of the width.")
        t.case(config.get("fill_mode") == "constant" and config.get("fill_value", 0.0) == 0.0,
               f"The RandomTranslation fills the uncovered border with fill_mode="
               f"{config.get('fill_mode')!r} (fill_value {config.get('fill_value')!r}); the task "
               "asks for zeros, the black background.")
    else:
        t.case(False, "The pipeline should hold one RandomTranslation.")
    rng = np.random.default_rng(2)
    for shape in [(8, 28, 28, 1), (4, 32, 32, 3)]:
        x = rng.random(shape).astype(np.float32)
        try:
            at_inference = keras.ops.convert_to_numpy(augmenter(x, training=False))
            training = keras.ops.convert_to_numpy(augmenter(x, training=True))
        except Exception as exc:
            t.fail(f"The augmenter raised {type(exc).__name__} on a batch of shape {shape}: "
                   f"{str(exc)[:150]}")
        t.case(at_inference.shape == shape and np.allclose(at_inference, x, atol=1e-6),
               f"At inference (training=False) the augmenter should return its input unchanged "
               f"(batch of shape {shape}); a scaling or normalization layer does not belong here.")
        t.case(training.shape == shape and training.dtype == np.float32,
               f"In training the augmenter should keep the shape {shape} and the dtype float32, "
               f"but it gave shape {training.shape} and dtype {training.dtype}.")
        t.case(not np.allclose(training, x), f"In training (training=True) the augmenter should "
               f"change a batch of shape {shape}, but it returned it unchanged.")


# ----------------------------------------------------------------------------- q3
@question(names=["make_schedule"], hints=[
    "keras.optimizers.schedules.CosineDecay has warmup_target and warmup_steps arguments; it is a "
    "LearningRateSchedule, which is what `train()` gives to AdamW.",
    "Warm up linearly from peak_lr / 10 to peak_lr during warmup_steps, then decay with a cosine "
    "from peak_lr to 0 over the remaining total_steps - warmup_steps steps.",
])
def q3(t, make_schedule):
    """the learning-rate schedule: linear warmup then cosine decay to 0"""
    cases = [(2e-3, 1000, 100), (3e-3, 4641, 422), (0.1, 20, 1), (1e-3, 7, 3)]
    for peak, total, warmup in cases:
        where = f"make_schedule({peak}, {total}, {warmup})"
        schedule = t.call(make_schedule, peak, total, warmup, where=where)
        if not callable(schedule):
            t.fail(f"{where} should return a schedule (callable on a step), "
                   f"not a {type_name(schedule)}.")
        if not is_a(schedule, keras.optimizers.schedules.LearningRateSchedule):
            t.fail(f"{where} returned a {type_name(schedule)}, not a keras.optimizers.schedules."
                   "LearningRateSchedule: `train()` passes it to AdamW(learning_rate=...), which "
                   "calls any other function without a step and fails.")
        try:
            config = schedule.get_config()
        except Exception as exc:
            config = exc
        t.case(isinstance(config, dict), f"{where}: the schedule's get_config() does not return "
               "a dict, so `model.save` cannot store the optimizer in exercise 5 (a schedule "
               "class of your own needs a get_config method).")
        reference = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=peak / 10, decay_steps=total - warmup, alpha=0.0,
            warmup_target=peak, warmup_steps=warmup)
        steps = sorted({0, warmup // 2, warmup, warmup + (total - warmup) // 3,
                        (warmup + total) // 2, total - 1, total})
        wrong = []
        for step in steps:
            got = t.number(t.call(schedule, step, where=f"step {step} of {where}"),
                           f"the learning rate at step {step} of {where}")
            want = float(keras.ops.convert_to_numpy(reference(step)))
            if not math.isclose(got, want, rel_tol=1e-4, abs_tol=peak * 1e-6):
                wrong.append(step)
        t.case(not wrong, f"{where}: the learning rate is wrong at step(s) {wrong} "
               f"(warmup ends at step {warmup}, the decay ends at step {total}).")


# ----------------------------------------------------------------------------- q4
def _starts_with_augmenter(model) -> bool:
    """The first layer after the input is the augmenter (a nested model holding RandomFlip and
    RandomTranslation), or the model starts with those two layers themselves."""
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    random = (keras.layers.RandomFlip, keras.layers.RandomTranslation)
    if not layers:
        return False
    if isinstance(layers[0], keras.Model):
        kinds = {type(layer) for layer in layers[0].layers}
        return all(kind in kinds for kind in random)
    return {type(layer) for layer in layers[:2]} == set(random)


@question(names=["build_model"], hints=[
    "Stack blocks of Conv2D (padding='same', no bias) -> BatchNormalization -> ReLU, with "
    "MaxPooling2D between blocks; finish with Flatten or GlobalAveragePooling2D, Dropout and "
    "Dense(n_classes, activation='softmax').",
    "Put the augmenter from make_augmenter() right after keras.Input(input_shape): it is then "
    "saved with the model and switched off at inference.",
    "model.count_params() must stay under 1.5 million: a Dense layer on a big Flatten is where "
    "parameters explode.",
])
def q4(t, build_model):
    """the model: shapes, probabilities, BatchNorm + Dropout, a parameter budget"""
    rng = np.random.default_rng(4)
    for input_shape, n_classes in [((28, 28, 1), 10), ((32, 32, 3), 10), ((28, 28, 1), 4)]:
        where = f"build_model({input_shape}, {n_classes})"
        model = t.call(build_model, input_shape, n_classes, where=where)
        if not isinstance(model, keras.Model):
            t.fail(f"{where} should return a keras.Model, not a {type(model).__name__}.")
        try:
            shape_in = tuple(model.input_shape)
            shape_out = tuple(model.output_shape)
        except Exception:
            t.fail(f"{where}: the model has no defined input and output shape; start it with "
                   "keras.Input(input_shape).")
        t.case(shape_in == (None, *input_shape), f"{where}: the model's input shape is {shape_in}, "
               f"it should take batches of images of shape {input_shape}.")
        t.case(shape_out == (None, n_classes), f"{where}: the model's output shape is {shape_out}, "
               f"it should give {n_classes} class probabilities per image.")
        params = model.count_params()
        t.case(params < PARAM_BUDGET, f"{where}: the model has {params:,} parameters, over the "
               f"budget of {PARAM_BUDGET:,}.")
        t.case(_starts_with_augmenter(model),
               f"{where}: the model does not start with the augmenter of make_augmenter() (its "
               "first layer after the input should be that pipeline, so that the saved model "
               "carries it and switches it off at inference).")
        kinds = {type(layer).__name__ for layer in _all_layers(model)}
        t.case({"Conv2D", "BatchNormalization", "Dropout"} <= kinds,
               f"{where}: the model should use Conv2D, BatchNormalization and Dropout layers.")
        x = rng.random((3, *input_shape)).astype(np.float32)
        try:
            first = keras.ops.convert_to_numpy(model(x, training=False))
            second = keras.ops.convert_to_numpy(model(x, training=False))
        except Exception as exc:
            t.fail(f"{where}: the model raised {type(exc).__name__} on a batch: {str(exc)[:150]}")
        t.case(first.shape == (3, n_classes) and np.all(np.isfinite(first))
               and np.all(first >= 0) and np.allclose(first.sum(axis=1), 1.0, atol=1e-4),
               f"{where}: the outputs should be probabilities (a softmax output layer): "
               "non-negative, summing to 1 for each image.")
        t.case(np.allclose(first, second, atol=1e-6), f"{where}: two predictions of the same batch "
               "differ at inference: augmentation or dropout is active when training=False.")


# ----------------------------------------------------------------------------- q5, q6
_SCORES: dict = {}


def _held_out(input_shape, full_here: bool):
    """The fixed held-out set a saved model is graded on, chosen by the model's input shape;
    ``full_here``: the full Fashion-MNIST is on this machine (it sets the threshold's name)."""
    if tuple(input_shape[1:]) == (32, 32, 3):
        _, (x, y) = data.load_cifar10(download=False)
        keep = data.stratified_head(y, 2000)
        return "cifar10", "the first 200 CIFAR-10 test images of each class", \
            data.to_float_images(x[keep]), y[keep]
    _, (x, y) = data.load_fashion_mnist()
    kind = "fashion-full" if full_here else "fashion-small"
    trained_on = "the full training set is on this machine" if kind == "fashion-full" else \
        "only the bundled subset is on this machine"
    return kind, f"the {len(y):,} held-out Fashion-MNIST test images ({trained_on})", \
        data.to_float_images(x), y


def _load_and_score(t, path_value, name: str):
    """(model, accuracy, held-out description, set name) of a saved model, or a FAIL."""
    if not isinstance(path_value, str):  # a Path does not reach the grader's judge as data
        t.fail(f"`{name}` should be the path of your saved model as a str, "
               f"not a {type_name(path_value)}.")
    path = t.file(path_value, name)
    if path.suffix != ".keras":
        t.fail(f"`{name}` = {str(path_value)!r}: save the model in the Keras format, a file whose "
               "name ends in .keras.")
    if not path.is_file():
        t.fail(f"There is no file at {str(path_value)!r}: call model.save({name}) after training.")
    full_here = data.fashion_full_dir() is not None
    key = (str(path.resolve()), path.stat().st_mtime_ns, config.smoke(), full_here)
    if key not in _SCORES:
        try:  # uncompiled: a model compiled with the student's own schedule class loads too
            model = load_keras_file(path, compile=False)
        except Undecodable as exc:
            t.fail(f"The file {str(path_value)!r} could not be loaded as a Keras model: {exc}.")
        if not isinstance(model, keras.Model):
            t.fail(f"{str(path_value)!r} does not hold a Keras model.")
        try:
            kind, description, x, y = _held_out(model.input_shape, full_here)
            probs = keras.ops.convert_to_numpy(model.predict(x, batch_size=500, verbose=0))
        except Exception as exc:
            t.fail(f"The saved model could not predict on the held-out images of shape "
                   f"(N, 28, 28, 1) or (N, 32, 32, 3) in [0, 1] ({type(exc).__name__}: "
                   f"{str(exc)[:150]}).")
        if probs.shape != (len(y), 10):
            t.fail(f"The saved model gives outputs of shape {probs.shape}; one row of 10 class "
                   "scores per image was expected.")
        accuracy = float(np.mean(probs.argmax(axis=1) == y))
        _SCORES.clear()
        _SCORES[key] = (model, accuracy, description, kind)
    return _SCORES[key]


@question(names=["capstone_model_path"], hints=[
    "After training, model.save(capstone_model_path) with a path ending in .keras, e.g. "
    "course_runs/capstone.keras.",
    "The check scores the saved file on held-out test images in [0, 1] of shape (N, 28, 28, 1): "
    "keep the input scaling inside your pipeline the same as in training.",
    "Below the threshold? Train longer on the full data, check the learning-rate schedule and "
    "look at the learning curves for over- or underfitting.",
])
def q5(t, capstone_model_path):
    """the saved model loads and reaches the accuracy threshold on a fixed held-out set"""
    model, accuracy, description, kind = _load_and_score(t, capstone_model_path, "capstone_model_path")
    t.case(model.count_params() < PARAM_BUDGET, f"The saved model has {model.count_params():,} "
           f"parameters, over the budget of {PARAM_BUDGET:,}.")
    threshold = THRESHOLDS["smoke" if config.smoke() else kind]
    t.case(accuracy >= threshold, f"The saved model's accuracy on {description} is "
           f"{accuracy:.4f}, below the threshold {threshold:.2f}"
           + (" (smoke mode)." if config.smoke() else "."))


@question(names=["capstone_report", "capstone_model_path"], hints=[
    "A dict with the keys 'source', 'params', 'epochs', 'val_accuracy', 'test_accuracy', "
    "'train_seconds'.",
    "Take test_accuracy from model.evaluate on the test split, once, at the very end; params from "
    "model.count_params(); epochs = the number of epochs that actually ran (early stopping!).",
])
def q6(t, capstone_report, capstone_model_path):
    """the written report agrees with the saved model"""
    if not isinstance(capstone_report, dict):
        t.fail(f"`capstone_report` should be a dict, not a {type(capstone_report).__name__}.")
    keys = ["source", "params", "epochs", "val_accuracy", "test_accuracy", "train_seconds"]
    missing = [k for k in keys if k not in capstone_report]
    if missing:
        t.fail(f"`capstone_report` lacks the key(s) {missing}.")
    model, accuracy, description, _ = _load_and_score(t, capstone_model_path, "capstone_model_path")
    report = capstone_report
    if t.case(report["source"] in SOURCES,
              f"capstone_report['source'] should be one of {SOURCES}."):
        colour = tuple(model.input_shape[1:]) == (32, 32, 3)
        t.case(colour == (report["source"] == "cifar10"),
               f"capstone_report['source'] is {report['source']!r}, but the saved model takes "
               f"images of shape {tuple(model.input_shape[1:])}.")
    params = t.whole(report["params"], "capstone_report['params']")
    t.case(params == model.count_params(),
           "capstone_report['params'] is not the parameter count of the saved model.")
    epochs = t.whole(report["epochs"], "capstone_report['epochs']")
    t.case(epochs >= 1, "capstone_report['epochs'] should be the number of epochs that ran (>= 1).")
    seconds = t.number(report["train_seconds"], "capstone_report['train_seconds']")
    t.case(seconds > 0, "capstone_report['train_seconds'] should be the training time in seconds "
                        "(> 0).")
    fractions = {key: t.number(report[key], f"capstone_report['{key}']")
                 for key in ("val_accuracy", "test_accuracy")}
    for key, value in fractions.items():
        t.case(0 <= value <= 1,
               f"capstone_report['{key}'] should be a fraction in [0, 1] (not a percentage).")
    tolerance = 0.08 if config.smoke() else 0.02
    test = fractions["test_accuracy"]
    t.case(abs(test - accuracy) <= tolerance,
           f"capstone_report['test_accuracy'] differs from the saved model's accuracy on "
           f"{description} by more than {tolerance}. Did you "
           "save a different model, or report a validation or training accuracy?")

