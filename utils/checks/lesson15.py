"""Checks of lesson 15 · Evaluation, early stopping and ensembles.

The checks hand the student's functions tiny data in which feature 0 of every example is its own
index, and models or learners that record what they are trained on. That is how they verify that
folds are the seeded, shuffled, stratified folds the text asks for, that every fold and every
ensemble member starts from a fresh model, that bootstrap samples keep x and y together and can
draw every example, and that out-of-fold predictions never come from a model that saw the
example. The recording models behave like Keras models wherever a student may use them (``fit``
with ``validation_data``, ``callbacks``, ``batch_size``, ``epochs`` and ``verbose``, a
``History`` with ``loss``, ``accuracy``, ``val_loss`` and ``val_accuracy``, ``evaluate`` giving
the loss and the compiled accuracy, ``predict``). Expected values come from scikit-learn
(``StratifiedKFold``, ``confusion_matrix``, ``precision_recall_fscore_support``,
``AdaBoostClassifier``) and from Keras' own ``EarlyStopping`` callback.
"""
from __future__ import annotations

import inspect
import os
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from .core import WRITABLE, judge_side, question


# ----------------------------------------------------------------------------- helpers
def _indexed_data(counts, shape, rng, sort=True):
    """Images whose pixel [0, 0, 0] (or feature 0) is the example's index, labels by class counts."""
    y = np.concatenate([np.full(c, k) for k, c in enumerate(counts)])
    if not sort:
        y = rng.permutation(y)
    x = rng.normal(size=(len(y),) + shape).astype(np.float32)
    x += y.reshape((-1,) + (1,) * len(shape)).astype(np.float32)  # classes are learnable
    x.reshape(len(y), -1)[:, 0] = np.arange(len(y))
    return x, y


def _rows(x) -> np.ndarray | None:
    """The example indices of an array made by :func:`_indexed_data` (None if unreadable)."""
    try:
        arr = np.asarray(x, dtype=np.float64)
        return arr.reshape(len(arr), -1)[:, 0].round().astype(int)
    except Exception:
        return None


def _loss_and_accuracy(model, x, y, training=False):
    proba = model(np.asarray(x, np.float32), training=training)
    loss = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(np.asarray(y), proba))
    accuracy = float(np.mean(np.argmax(np.asarray(proba), axis=-1) == np.asarray(y)))
    return loss, accuracy


class _RecordingModel(keras.Sequential):
    """A tiny Keras model that remembers the rows, labels and options each ``fit`` received.

    ``fit``, ``predict`` and ``evaluate`` take Keras' own arguments and return what Keras'
    return, but train with one full-batch gradient step per epoch and no tf.data pipeline, so
    that a check can train a dozen of them in well under a second. ``fit`` honours
    ``validation_data`` (and ``validation_split``), ``callbacks`` (EarlyStopping included),
    ``initial_epoch`` and ``epochs``, and returns a ``History`` with ``loss``, ``accuracy``,
    ``val_loss`` and ``val_accuracy``."""

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        _bounded(epochs)
        x_fit = np.asarray(x, np.float32)
        y_fit = None if y is None else np.array(y, copy=True)
        if validation_split and validation_data is None and y_fit is not None:
            cut = int(len(x_fit) * (1 - validation_split))
            validation_data = (x_fit[cut:], y_fit[cut:])
            x_fit, y_fit = x_fit[:cut], y_fit[:cut]
        self.fits.append({"rows": _rows(x_fit), "y": y_fit, "epochs": epochs,
                          "batch_size": batch_size})
        hooks = keras.callbacks.CallbackList(callbacks, add_history=True, model=self, verbose=0,
                                             epochs=epochs, steps=1)
        self.stop_training = False
        hooks.on_train_begin()
        logs = {}
        for epoch in range(int(initial_epoch), int(epochs)):
            hooks.on_epoch_begin(epoch)
            hooks.on_train_batch_begin(0)
            with tf.GradientTape() as tape:
                loss, accuracy = _loss_and_accuracy(self, x_fit, y_fit, training=True)
            grads = tape.gradient(loss, self.trainable_weights)
            self.optimizer.apply(grads, self.trainable_weights)
            logs = {"loss": float(loss), "accuracy": accuracy}
            hooks.on_train_batch_end(0, logs)
            if validation_data is not None:
                val_loss, val_accuracy = _loss_and_accuracy(self, *validation_data[:2])
                logs.update(val_loss=float(val_loss), val_accuracy=val_accuracy)
            hooks.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        hooks.on_train_end(logs)
        return judge_side(self.history, attributes=("history", "epoch", "params"))

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        return np.asarray(self(np.asarray(x, np.float32), training=False))

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        loss, accuracy = _loss_and_accuracy(self, x, y)
        result = {"loss": float(loss), "accuracy": accuracy}
        return result if return_dict else [result["loss"], result["accuracy"]]


MAX_EPOCHS = 200   # a model a check hands out trains at most this long (in the grader: its judge)


def _bounded(epochs) -> None:
    if not isinstance(epochs, (int, np.integer)) or not 0 <= epochs <= MAX_EPOCHS:
        raise ValueError(f"the check's model trains for a whole number of epochs up to "
                         f"{MAX_EPOCHS}, not {epochs!r}")


# what student code may do with a model a check hands it (the model stays with the check)
_MODEL_METHODS = ("fit", "predict", "evaluate", "__call__", "count_params", "get_weights",
                  "summary")


class _Recorder:
    """``build_model`` for the checks: each call builds a fresh :class:`_RecordingModel`,
    compiled with ``metrics=["accuracy"]`` as the text promises, and keeps it in ``models``."""

    def __init__(self, shape, n_classes):
        self.shape, self.n_classes, self.models = shape, n_classes, []
        judge_side(self, methods=("__call__",))

    def __call__(self):
        model = _RecordingModel([keras.Input(self.shape), keras.layers.Flatten(),
                                 keras.layers.Dense(self.n_classes, activation="softmax")])
        model.compile(optimizer=keras.optimizers.Adam(0.05),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fits = []
        self.models.append(model)
        return judge_side(model, methods=_MODEL_METHODS)


def _accuracy(model, x, y) -> float:
    return float(np.mean(np.argmax(np.asarray(model(x, training=False)), axis=-1) == y))


def _index_array(t, value, name: str, n: int) -> np.ndarray:
    """A 1-D array of example indices (whole numbers in 0..n-1)."""
    arr = t.numbers(value, name)
    if arr.ndim != 1:
        t.fail(f"`{name}` should be a 1-D array of indices, not an array of shape {arr.shape}.")
    if arr.dtype.kind == "f" and not np.array_equal(arr, np.round(arr)):
        t.fail(f"`{name}` holds numbers that are not whole; indices are whole numbers.")
    if arr.dtype.kind == "b":
        t.fail(f"`{name}` holds booleans (a mask); it should hold the indices themselves.")
    arr = arr.astype(int)
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        t.fail(f"`{name}` holds indices outside 0..{n - 1}.")
    return arr


def _stratified(t, val_sets, y, k, where):
    """Each validation fold holds every class in proportion: within 1 of n_c / k."""
    counts = np.bincount(y)
    for f, val in enumerate(val_sets):
        got = np.bincount(y[val], minlength=len(counts))
        if np.any(np.abs(got - counts / k) >= 1):
            t.case(False, f"{where}: validation fold {f + 1} has class counts {got.tolist()}; "
                          "a stratified fold keeps the class proportions of the whole set.")
            return
    t.case(True, "")


def _the_folds(t, val_sets, y, k, seed, where):
    """The validation folds are those of StratifiedKFold(k, shuffle=True, random_state=seed)."""
    from sklearn.model_selection import StratifiedKFold

    def as_set(folds):
        return sorted(tuple(sorted(int(i) for i in v)) for v in folds)

    mine = as_set(val_sets)
    shuffled = as_set(v for _, v in StratifiedKFold(k, shuffle=True, random_state=seed).split(y, y))
    in_order = as_set(v for _, v in StratifiedKFold(k).split(y, y))
    if mine == shuffled:
        t.case(True, "")
    elif mine == in_order:
        t.case(False, f"{where}: the folds are stratified but not shuffled; on data sorted by "
                      "class every fold then holds the first examples of each class.")
    else:
        t.case(False, f"{where}: the folds are not those of StratifiedKFold(n_splits=k, "
                      "shuffle=True, random_state=seed) (is the seed passed on?).")


def _fit_options(t, fits, where, epochs, what="model"):
    """Every recorded fit ran ``epochs`` epochs with batch_size=64."""
    t.case(all(f["epochs"] == epochs for f in fits),
           f"with {where}: a {what} was not fitted for `epochs` epochs.")
    sizes = sorted({repr(f["batch_size"]) for f in fits})
    t.case(all(f["batch_size"] == 64 for f in fits),
           f"with {where}: fit got batch_size {', '.join(sizes)}; the task asks for batches of 64.")


# ----------------------------------------------------------------------------- q1
CV_CASES = [((20, 20, 20), 4, 2, 0), ((30, 20, 10), 5, 1, 1)]


@question(names=["cross_validate"], hints=[
    "`for train_idx, val_idx in StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)"
    ".split(x, y):` gives the k folds.",
    "Inside the loop call `model = build_model()` (a fresh model for every fold), fit it on "
    "`x[train_idx], y[train_idx]` for `epochs` epochs with `batch_size=64`, and measure the "
    "accuracy on `x[val_idx], y[val_idx]` (`model.evaluate(..., verbose=0)[1]`, or the argmax "
    "of `model.predict`).",
    "Return `{'folds': [(train_idx, val_idx), ...], 'scores': [...], 'mean': np.mean(scores), "
    "'std': np.std(scores)}`."])
def q1(t, cross_validate):
    """stratified k-fold cross-validation of a Keras model"""
    rng = np.random.default_rng(1301)
    for counts, k, epochs, seed in CV_CASES:
        x, y = _indexed_data(counts, (3, 3, 1), rng)
        n = len(y)
        where = f"k={k}, seed={seed}, classes of sizes {list(counts)} (sorted by class)"
        recorder = _Recorder((3, 3, 1), len(counts))
        out = t.call(cross_validate, recorder, x, y, k=k, epochs=epochs, seed=seed, where=where)
        if not isinstance(out, dict) or not {"folds", "scores", "mean", "std"} <= set(out):
            t.fail("`cross_validate` should return a dict with keys 'folds', 'scores', 'mean', 'std'.")
        folds, scores = out["folds"], out["scores"]
        if not isinstance(folds, (list, tuple)) or len(folds) != k:
            t.fail(f"with {where}: 'folds' should be a list of {k} (train_idx, val_idx) pairs.")
        pairs = []
        for f, pair in enumerate(folds):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                t.fail(f"with {where}: fold {f + 1} should be a pair (train_idx, val_idx).")
            pairs.append((_index_array(t, pair[0], f"train_idx of fold {f + 1}", n),
                          _index_array(t, pair[1], f"val_idx of fold {f + 1}", n)))
        t.case(all(not np.intersect1d(tr, va).size for tr, va in pairs),
               f"with {where}: a fold's training and validation indices overlap.")
        t.case(all(np.array_equal(np.union1d(tr, va), np.arange(n)) for tr, va in pairs),
               f"with {where}: in some fold, training + validation do not cover all examples.")
        t.case(np.array_equal(np.sort(np.concatenate([va for _, va in pairs])), np.arange(n)),
               f"with {where}: every example should be in exactly one validation fold.")
        _stratified(t, [va for _, va in pairs], y, k, f"with {where}")
        _the_folds(t, [va for _, va in pairs], y, k, seed, f"with {where}")

        built = recorder.models
        if len(built) != k:
            t.fail(f"with {where}: `build_model` was called {len(built)} time(s) for {k} folds. "
                   "Every fold needs a fresh model; otherwise a fold starts from the weights the "
                   "previous fold learned.")
        t.case(all(len(m.fits) == 1 for m in built),
               f"with {where}: every fold's model should be fitted exactly once.")
        fits = [m.fits[0] for m in built if m.fits]
        trained_on_fold = len(fits) == k and all(
            f["rows"] is not None and np.array_equal(np.sort(f["rows"]), np.sort(tr))
            for f, (tr, _) in zip(fits, pairs))
        t.case(trained_on_fold, f"with {where}: the model of each fold must be trained on exactly "
                                "that fold's training examples, as NumPy arrays.")
        _fit_options(t, fits, where, epochs)

        values = t.numbers(scores, "scores")
        if values.shape != (k,):
            t.fail(f"with {where}: 'scores' should hold {k} numbers, one per fold.")
        expected = [_accuracy(m, x[va], y[va]) for m, (_, va) in zip(built, pairs)]
        t.case(np.allclose(values, expected, atol=1e-6),
               f"with {where}: the scores are not the validation accuracies of the folds' models "
               "(each fold's model scored on that fold's validation part).")
        mean = t.number(out["mean"], "'mean'")
        std = t.number(out["std"], "'std'")
        t.case(np.isclose(mean, np.mean(values)), f"with {where}: 'mean' is not the mean of the scores.")
        t.case(np.isclose(std, np.std(values)) or np.isclose(std, np.std(values, ddof=1)),
               f"with {where}: 'std' is not the standard deviation of the scores.")


# ----------------------------------------------------------------------------- q2
ES_CASES = [
    ("a U-shaped curve", [1.0, 0.8, 0.7, 0.72, 0.75, 0.71, 0.9, 1.0, 1.1], 2, 0.0),
    ("a strictly decreasing curve", [1.0, 0.9, 0.8, 0.7, 0.6], 2, 0.0),
    ("a plateau of equal values", [1.0, 0.9, 0.9, 0.9, 0.9, 0.85], 3, 0.0),
    ("tiny improvements below min_delta", [1.0, 0.8, 0.79, 0.785, 0.782, 0.78, 0.77], 3, 0.05),
    ("patience=0", [1.0, 0.9, 0.95, 0.8], 0, 0.0),
    ("the first epoch being the best", [0.5, 0.6, 0.7, 0.8, 0.9], 2, 0.0),
    ("an improvement just before patience runs out", [1.0, 1.1, 1.2, 0.9, 1.0, 1.1, 1.2, 0.5], 3, 0.0),
]


def keras_early_stopping(val_losses, patience, min_delta):
    """Drive Keras' own EarlyStopping with a list of validation losses: (epochs run, best epoch)."""

    class Dummy:  # all EarlyStopping touches on the model
        stop_training = False

        def get_weights(self):
            return []

        def set_weights(self, weights):
            pass

    model = Dummy()
    callback = keras.callbacks.EarlyStopping(monitor="val_loss", mode="min", patience=patience,
                                             min_delta=min_delta, restore_best_weights=True)
    callback.set_model(model)
    callback.on_train_begin()
    epochs = 0
    for epoch, value in enumerate(val_losses):
        epochs = epoch + 1
        callback.on_epoch_end(epoch, {"val_loss": value})
        if model.stop_training:
            break
    return epochs, callback.best_epoch + 1


@question(names=["early_stopping_epochs"], hints=[
    "Keep the best value so far and a counter of epochs without improvement; an epoch improves "
    "only if `loss < best - min_delta` (an equal value is not an improvement).",
    "Training stops at the end of the epoch where the counter reaches `patience` (but never after "
    "the very first epoch); if that never happens, all epochs run.",
    "Epochs are counted from 1. The best epoch is the last one that counted as an improvement."])
def q2(t, early_stopping_epochs):
    """when does EarlyStopping stop, and which epoch does it restore?"""
    for name, losses, patience, min_delta in ES_CASES:
        expected = keras_early_stopping(losses, patience, min_delta)
        where = f"{name} (patience={patience}, min_delta={min_delta})"
        out = t.call(early_stopping_epochs, list(losses), patience, min_delta, where=where)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            t.fail("`early_stopping_epochs` should return a pair (epochs_run, best_epoch).")
        run = t.whole(out[0], "epochs_run")
        best = t.whole(out[1], "best_epoch")
        t.case(run == expected[0], f"on {where}: the number of epochs run is wrong.")
        t.case(best == expected[1], f"on {where}: the best epoch (counted from 1) is wrong.")


# ----------------------------------------------------------------------------- q3
def _mean_loss(model, x, y) -> float:
    return float(np.mean(keras.losses.sparse_categorical_crossentropy(y, model(x, training=False))))


_FIT_SIGNATURE = inspect.signature(keras.Model.fit)


def _log_fits(model) -> list[dict]:
    """Make the real ``model.fit`` remember the options of each call (a list it fills)."""
    calls, real_fit = [], model.fit

    def fit(*args, **kwargs):
        bound = _FIT_SIGNATURE.bind(model, *args, **kwargs)
        bound.apply_defaults()
        _bounded(bound.arguments["epochs"])
        calls.append(dict(bound.arguments))
        return real_fit(*args, **kwargs)

    model.fit = fit
    return calls


@question(names=["fit_with_early_stopping"], hints=[
    "Make `keras.callbacks.EarlyStopping(monitor='val_loss', patience=3, restore_best_weights=True)`"
    " and `keras.callbacks.ModelCheckpoint(path, monitor='val_loss', save_best_only=True)`.",
    "The checkpoint path is `os.path.join(folder, 'best.keras')`: Keras 3 saves whole models "
    "to files ending in .keras.",
    "Pass both in `callbacks=[...]` with `validation_data=(x_val, y_val)`, `epochs=max_epochs` "
    "and `batch_size=64`; return `(history, path)`."])
def q3(t, fit_with_early_stopping):
    """EarlyStopping with restored weights and a .keras checkpoint"""
    rng = np.random.default_rng(1303)
    # random labels: the model can only memorize, so the validation loss soon rises
    x, y = rng.normal(size=(32, 6)).astype(np.float32), rng.integers(0, 3, 32)
    x_val, y_val = rng.normal(size=(32, 6)).astype(np.float32), rng.integers(0, 3, 32)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in model.get_weights()])
    model.compile(optimizer=keras.optimizers.Adam(0.03), loss="sparse_categorical_crossentropy",
                  run_eagerly=True)
    fit_calls = _log_fits(model)
    judge_side(model, methods=_MODEL_METHODS)
    max_epochs = 15
    with tempfile.TemporaryDirectory() as folder:
        writable = WRITABLE.set(Path(folder))
        try:
            _check_fit_with_early_stopping(t, fit_with_early_stopping, model, fit_calls, folder,
                                           (x, y, x_val, y_val), max_epochs)
        finally:
            WRITABLE.reset(writable)


def _check_fit_with_early_stopping(t, fit_with_early_stopping, model, fit_calls, folder, data,
                                   max_epochs):
    x, y, x_val, y_val = data
    out = t.call(fit_with_early_stopping, model, x, y, x_val, y_val, folder, max_epochs,
                 where="a tiny model on random labels")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        t.fail("`fit_with_early_stopping` should return a pair (history, checkpoint_path).")
    history, path = out
    if len(fit_calls) != 1:
        t.fail(f"`fit_with_early_stopping` called `model.fit` {len(fit_calls)} "
               "time(s); it should train the model once.")
    options = fit_calls[0]
    t.case(options["batch_size"] == 64, f"fit got batch_size={options['batch_size']!r}; the "
                                        "task asks for batches of 64.")
    t.case(options["epochs"] == max_epochs, "fit was not allowed `max_epochs` epochs.")
    logs = getattr(history, "history", None) if history is not None else None
    val = logs.get("val_loss") if isinstance(logs, dict) else None
    if not val:
        t.fail("the history has no 'val_loss': `fit` did not validate on (x_val, y_val), or "
               "the first item returned is not the History that `fit` gave back.")
    best = int(np.argmin(val))
    t.case(len(val) < max_epochs, "training ran all max_epochs although the validation loss "
                                  "kept rising: no early stopping happened.")
    t.case(len(val) >= max_epochs or len(val) - 1 - best == 3,
           f"training stopped {len(val) - 1 - best} epoch(s) after the best one; with "
           "patience=3 it should stop 3 epochs after.")
    now = _mean_loss(model, x_val, y_val)
    t.case(np.isclose(now, val[best], rtol=1e-4, atol=1e-6),
           "after training the model does not hold the weights of its best epoch (they were "
           "not restored when training stopped).")
    if not isinstance(path, (str, os.PathLike)) or not str(path).endswith(".keras"):
        t.fail("the checkpoint path should be a string ending in '.keras'.")
    if os.path.dirname(os.path.abspath(path)) != os.path.abspath(folder) or \
            os.path.basename(path) != "best.keras":
        t.fail("the checkpoint is not saved inside `folder` under the name 'best.keras'.")
    if not os.path.isfile(path):
        t.fail("no checkpoint file was written at the returned path.")
    try:
        saved = keras.models.load_model(path)
        saved_loss = _mean_loss(saved, x_val, y_val)
    except Exception as exc:
        t.fail(f"the checkpoint could not be loaded with keras.models.load_model ({type(exc).__name__}).")
    t.case(np.isclose(saved_loss, val[best], rtol=1e-4, atol=1e-6),
           "the checkpoint does not hold the best epoch's model (by the validation loss): "
           "it was overwritten by a later, worse epoch.")


# ----------------------------------------------------------------------------- q4
def _cm_cases(rng):
    y10 = rng.integers(0, 10, 300)
    p10 = np.where(rng.random(300) < 0.6, y10, rng.integers(0, 10, 300))
    return [
        ("10 classes, 300 examples", y10.astype(np.uint8), p10.astype(np.uint8), 10),
        ("4 classes where class 3 never occurs and class 2 is never predicted",
         np.array([0, 0, 1, 1, 2, 2, 2, 1, 0, 2]), np.array([0, 1, 1, 1, 0, 1, 0, 0, 0, 1]), 4),
        ("2 classes", np.array([1, 1, 1, 0, 0, 1]), np.array([1, 0, 1, 0, 1, 1]), 2),
    ]


@question(names=["confusion_matrix", "precision_recall"], hints=[
    "cm[i, j] counts the examples of TRUE class i that were PREDICTED as class j (rows: truth): "
    "`np.add.at(cm, (y_true, y_pred), 1)` on an integer array of zeros.",
    "Precision of class j: correct predictions of j divided by everything predicted as j (a "
    "COLUMN sum). Recall of class i: correct ones divided by all true members of i (a ROW sum).",
    "When a denominator is 0 (a class never predicted, or absent) use 0, like scikit-learn's "
    "`zero_division=0`: `np.divide(a, b, out=np.zeros_like(a, dtype=float), where=b > 0)`."])
def q4(t, confusion_matrix, precision_recall):
    """confusion matrix, per-class precision and recall"""
    from sklearn import metrics

    rng = np.random.default_rng(1304)
    for where, y_true, y_pred, n in _cm_cases(rng):
        labels = list(range(n))
        expected_cm = metrics.confusion_matrix(y_true, y_pred, labels=labels)
        cm = t.call(confusion_matrix, y_true.copy(), y_pred.copy(), n, where=where)
        if t.array(cm, expected_cm, f"confusion_matrix on {where}"):
            t.case(t.numbers(cm, "confusion_matrix(...)").dtype.kind in "iu",
                   f"confusion_matrix on {where} has the right counts but is not an integer "
                   "array.")
        precision, recall, _, _ = metrics.precision_recall_fscore_support(
            y_true, y_pred, labels=labels, zero_division=0)
        out = t.call(precision_recall, expected_cm.copy(), where=where)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            t.fail("`precision_recall` should return a pair (precision, recall).")
        t.array(out[0], precision, f"precision on {where}")
        t.array(out[1], recall, f"recall on {where}")


# ----------------------------------------------------------------------------- q5
BAG_CASES = [((30, 30, 30), 4, "4 members on 90 examples"),
             ((2, 2, 2), 8, "8 members on 6 examples")]


def _bagging_run(t, bagging_fit, counts, n_models, where, seed=5):
    """Run ``bagging_fit`` on recording models: (x, y, models, recorded fits)."""
    x, y = _indexed_data(counts, (3, 3, 1), np.random.default_rng(1305 + len(counts) + n_models),
                         sort=False)
    recorder = _Recorder((3, 3, 1), len(counts))
    models = t.call(bagging_fit, recorder, x, y, n_models, 1, np.random.default_rng(seed),
                    where=where)
    if not isinstance(models, (list, tuple)) or len(models) != n_models:
        t.fail(f"`bagging_fit` should return a list of {n_models} trained models ({where}).")
    if len(recorder.models) != n_models or any(m is not b for m, b in zip(models, recorder.models)):
        t.fail(f"`bagging_fit` should call `build_model()` once per member and return those "
               f"models, in order: every member starts from fresh weights ({where}).")
    fits = [m.fits[0] if len(m.fits) == 1 else None for m in models]
    if any(f is None or f["rows"] is None for f in fits):
        t.fail(f"every member should be fitted once, on NumPy arrays x[idx], y[idx] ({where}).")
    return x, y, models, fits


@question(names=["bagging_fit", "ensemble_proba"], hints=[
    "For each member: `idx = rng.integers(0, n, size=n)` (n draws WITH replacement from 0..n-1; "
    "the upper bound of `integers` is excluded), then a fresh `build_model()` fitted on "
    "`x[idx], y[idx]` (the same idx for both!) with `batch_size=64`.",
    "Return the list of trained models; `ensemble_proba` stacks `model.predict(x, verbose=0)` of "
    "every member and averages over the members (axis 0).",
    "About 63 % of the examples appear in a bootstrap sample, some of them several times."])
def q5(t, bagging_fit, ensemble_proba):
    """bagging: bootstrap samples and averaged probabilities"""
    for counts, n_models, where in BAG_CASES:
        x, y, models, fits = _bagging_run(t, bagging_fit, counts, n_models, where)
        n = len(y)
        samples = [f["rows"] for f in fits]
        t.case(all(len(s) == n for s in samples),
               f"with {where}: a bootstrap sample has as many draws as the data set ({n}), not "
               f"{sorted({len(s) for s in samples})}.")
        if n > 50:
            unique = [len(np.unique(s)) / n for s in samples]
            t.case(all(0.45 < u < 0.8 for u in unique),
                   f"with {where}: the bootstrap samples contain {min(unique):.0%} to "
                   f"{max(unique):.0%} distinct examples; draws WITH replacement give about 63 % "
                   "(and some examples several times).")
            t.case(len({tuple(np.sort(s)) for s in samples}) == n_models,
                   f"with {where}: two members were trained on the same sample; every member "
                   "needs a new bootstrap sample.")
        else:
            drawn = np.unique(np.concatenate(samples))
            t.case(n - 1 in drawn,
                   f"with {where}: the last example (index {n - 1}) is never drawn in "
                   f"{n_models} bootstrap samples: the draws leave out index n - 1 (the upper "
                   "bound of `rng.integers` is excluded already).")
        t.case(all(f["y"] is not None and np.array_equal(np.asarray(f["y"]).reshape(-1), y[s])
                   for f, s in zip(fits, samples)),
               f"with {where}: the labels given to fit do not belong to the images (x and y "
               "indexed with different indices).")
        _fit_options(t, fits, where, 1, what="member")
        if n > 50:
            _, _, _, again = _bagging_run(t, bagging_fit, counts, n_models, where)
            _, _, _, other = _bagging_run(t, bagging_fit, counts, n_models, where, seed=6)
            same = all(np.array_equal(f["rows"], g["rows"]) for f, g in zip(fits, again))
            differ = not all(np.array_equal(f["rows"], g["rows"]) for f, g in zip(fits, other))
            t.case(same and differ,
                   f"with {where}: " + ("two runs with generators of the same seed drew "
                   "different samples" if not same else "generators with different seeds gave "
                   "the same samples") + "; the samples must come from the `rng` you are given.")
            expected = np.mean([np.asarray(m(x, training=False)) for m in models], axis=0)
            out = t.call(ensemble_proba, list(models), x, where="the trained members")
            t.array(out, expected, "ensemble_proba(models, x)", rtol=1e-4, atol=1e-6)


# ----------------------------------------------------------------------------- q6
def _adaboost_rounds(n_classes, seed):
    """A scikit-learn SAMME run: inputs, and per round the misclassified mask and the model weight."""
    from sklearn.datasets import make_classification
    from sklearn.ensemble import AdaBoostClassifier
    from sklearn.tree import DecisionTreeClassifier

    x, y = make_classification(n_samples=120, n_features=6, n_informative=4,
                               n_classes=n_classes, n_clusters_per_class=1, random_state=seed)
    ada = AdaBoostClassifier(DecisionTreeClassifier(max_depth=1), n_estimators=4,
                             random_state=seed).fit(x, y)
    return [(est.predict(x) != y, float(alpha))
            for est, alpha in zip(ada.estimators_, ada.estimator_weights_)]


@question(names=["samme_update"], hints=[
    "err = sum of the weights of the misclassified examples / sum of all weights; "
    "alpha = log((1 - err) / err) + log(K - 1).",
    "Multiply the weight of every MISCLASSIFIED example by exp(alpha); leave the others; then "
    "divide by the sum so that the weights add up to 1.",
    "Return `(new_weights, alpha)`. With K = 2 the log(K - 1) term is 0: classic AdaBoost."])
def q6(t, samme_update):
    """one round of SAMME boosting: model weight and sample reweighting"""
    for n_classes, seed in [(3, 0), (2, 1), (5, 2)]:
        rounds = _adaboost_rounds(n_classes, seed)
        weights = np.full(len(rounds[0][0]), 1 / len(rounds[0][0]))
        for r, (incorrect, alpha) in enumerate(rounds):
            where = f"round {r + 1} of AdaBoost (SAMME) with K={n_classes} classes"
            out = t.call(samme_update, weights.copy(), incorrect.copy(), n_classes, where=where)
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                t.fail("`samme_update` should return a pair (new_weights, alpha).")
            got_alpha = t.number(out[1], "alpha")
            if not np.isclose(got_alpha, alpha, rtol=1e-6):
                t.case(False, f"in {where} alpha differs from scikit-learn's AdaBoostClassifier"
                              + (" (the sample weights of the previous round were already off)."
                                 if r else "."))
                break
            t.case(True, "")
            new = t.numbers(out[0], "new_weights", shape=weights.shape)
            t.case(np.isclose(new.sum(), 1.0), f"in {where} the new weights do not sum to 1.")
            ratio = new / weights
            t.case(np.allclose(ratio[incorrect] / ratio[~incorrect].mean(), np.exp(alpha), rtol=1e-6)
                   and np.allclose(ratio[~incorrect], ratio[~incorrect].mean(), rtol=1e-6),
                   f"in {where} the misclassified examples should gain the factor exp(alpha) "
                   "relative to the correct ones.")
            weights = new / new.sum()


# ----------------------------------------------------------------------------- q7
class _Learner:
    """A nearest-centroid classifier that records which rows it was trained on and asked about."""

    def __init__(self, n_classes):
        self.n_classes, self.calls = n_classes, []

    def __call__(self, x_train, y_train, x_pred):
        train_rows, pred_rows = _rows(x_train), _rows(x_pred)
        x_train, x_pred = np.asarray(x_train)[:, 1:], np.asarray(x_pred)[:, 1:]
        centroids = np.stack([x_train[np.asarray(y_train) == c].mean(axis=0)
                              for c in range(self.n_classes)])
        scores = -((x_pred[:, None, :] - centroids[None]) ** 2).sum(axis=-1)
        proba = np.exp(scores - scores.max(axis=1, keepdims=True))
        proba /= proba.sum(axis=1, keepdims=True)
        self.calls.append((train_rows, pred_rows, proba))
        return proba


@question(names=["out_of_fold"], hints=[
    "Loop over `StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(x, y)`: train "
    "on the training part, predict the held-out part only.",
    "Write the predictions into their own rows: `oof[val_idx] = fit_predict(x[train_idx], "
    "y[train_idx], x[val_idx])`.",
    "Start from `oof = np.zeros((len(x), n_classes))`; every row is filled exactly once, by a "
    "model that never saw it."])
def q7(t, out_of_fold):
    """out-of-fold predictions for stacking"""
    rng = np.random.default_rng(1307)
    for counts, k, seed in [((15, 15, 15), 3, 0), ((24, 12, 6), 3, 1)]:
        x, y = _indexed_data(counts, (5,), rng)  # column 0: the index, columns 1-4: features
        n, n_classes = len(y), len(counts)
        where = f"k={k}, seed={seed}, classes of sizes {list(counts)} (sorted by class)"
        learner = _Learner(n_classes)
        out = t.call(out_of_fold, learner, x, y, n_classes, k=k, seed=seed, where=where)
        oof = t.numbers(out, "out_of_fold(...)", finite=False)  # NaN: judged after the folds
        if oof.shape != (n, n_classes):
            t.fail(f"with {where}: `out_of_fold` should return an array of shape ({n}, {n_classes}).")
        if len(learner.calls) != k or any(c[0] is None or c[1] is None for c in learner.calls):
            t.fail(f"with {where}: `fit_predict` should be called once per fold ({k} times) "
                   f"with NumPy arrays; it was called {len(learner.calls)} time(s).")
        t.case(all(not np.intersect1d(tr, pr).size for tr, pr, _ in learner.calls),
               f"with {where}: a row was predicted by a model trained on it (leakage): "
               "only the held-out fold may be predicted.")
        predicted = np.concatenate([pr for _, pr, _ in learner.calls])
        t.case(np.array_equal(np.sort(predicted), np.arange(n)),
               f"with {where}: every row must be predicted exactly once, in the fold that holds it out.")
        _stratified(t, [pr for _, pr, _ in learner.calls], y, k, f"with {where}")
        _the_folds(t, [pr for _, pr, _ in learner.calls], y, k, seed, f"with {where}")
        expected = np.zeros((n, n_classes))
        for _, rows, proba in learner.calls:
            expected[rows] = proba
        t.array(oof, expected, f"out-of-fold predictions with {where} (row i must hold the "
                               "prediction for example i)")
