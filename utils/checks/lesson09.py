"""Checks of lesson 09 · Loss functions.

Every expected value comes from the Keras loss functions (``keras.losses.*``), computed in
float64 on the same inputs; the focal loss is also differentiated with ``tf.GradientTape`` and
compared with the gradient of Keras's ``binary_focal_crossentropy``. Messages name the case and,
for the classic mistakes (no clipping, no log-sum-exp, a sum instead of a mean, swapped
arguments, one maximum for the whole batch), say what went wrong without revealing the expected
numbers.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .compare import compare_arrays
from .core import question


# ---------------------------------------------------------------------------------- helpers
def _per_sample(t, value, n: int, name: str, case: str) -> np.ndarray:
    """The student's loss as an array of numbers with one loss per example (NaN allowed: the
    cases name it), or a FAIL saying why it is not one."""
    arr = t.numbers(value, f"{name} ({case})", finite=False)
    if arr.ndim == 0:
        t.fail(f"`{name}` returned one number for the whole batch ({case}); return one loss per "
               f"example, an array of shape ({n},).")
    return arr


def _close(actual, expected, rtol=1e-5, atol=1e-6) -> bool:
    return compare_arrays(actual, expected, "x", rtol=rtol, atol=atol) is None


def _not_finite(got, want) -> bool:
    """True when the answer has the right shape but holds NaN or infinity."""
    return got.dtype.kind == "f" and got.shape == want.shape and not np.all(np.isfinite(got))


def _regression_cases():
    rng = np.random.default_rng(91)
    y1 = rng.normal(size=(6, 1))
    y3 = rng.normal(size=(5, 3))
    outlier = rng.normal(size=(4, 2))
    outlier_pred = outlier + rng.normal(scale=0.3, size=(4, 2))
    outlier_pred[2, 1] += 50.0
    return [("targets of shape (6, 1)", y1, y1 + rng.normal(size=(6, 1))),
            ("targets of shape (5, 3)", y3, y3 + rng.normal(scale=2.0, size=(5, 3))),
            ("a batch (4, 2) with one outlier error of 50", outlier, outlier_pred)]


# --------------------------------------------------------------------------------------- q1
@question(names=["mse", "mae"], hints=[
    "The error is `y_pred - y_true`; MSE averages its square, MAE its absolute value.",
    "Average over the last axis only (`axis=-1`): the result has one loss per example, shape (N,).",
    "`np.mean((y_pred - y_true) ** 2, axis=-1)` and `np.mean(np.abs(y_pred - y_true), axis=-1)`.",
])
def q1(t, mse, mae):
    """mean squared and mean absolute error, one value per example"""
    for label, y_true, y_pred in _regression_cases():
        n = len(y_true)
        for name, fn, keras_fn in (("mse", mse, keras.losses.mean_squared_error),
                                   ("mae", mae, keras.losses.mean_absolute_error)):
            got = _per_sample(t, t.call(fn, y_true, y_pred, where=label), n, name, label)
            want = np.asarray(keras_fn(y_true, y_pred))
            error = y_pred - y_true
            if name == "mse" and _close(got, np.sqrt(want)) and not _close(got, want):
                t.case(False, f"`mse` takes a square root ({label}): that is the RMSE; MSE is the "
                              "mean of the squared errors.")
            elif y_true.shape[1] > 1 and _close(got, want * y_true.shape[1]):
                t.case(False, f"`{name}` sums over the outputs instead of averaging ({label}).")
            elif name == "mae" and _close(got, error.mean(axis=-1)) and not _close(got, want):
                t.case(False, f"`mae` averages signed errors ({label}): positive and negative "
                              "errors cancel; take the absolute value first.")
            else:
                t.array(got, want, f"{name} ({label})", rtol=1e-6, atol=1e-9)


# --------------------------------------------------------------------------------------- q2
@question(names=["huber"], hints=[
    "With e = y_pred - y_true: 0.5 * e**2 where |e| <= delta, and delta * (|e| - 0.5 * delta) "
    "elsewhere. `np.where(condition, a, b)` picks per element.",
    "The two pieces must meet at |e| = delta (both give 0.5 * delta**2) and have the same slope "
    "there; a missing `0.5 * delta` leaves a jump.",
    "Average over the last axis as for MSE, and use the `delta` argument, not 1.",
])
def q2(t, huber):
    """Huber (smooth L1) loss with a threshold delta"""
    for delta in (1.0, 0.5, 3.0):
        for label, y_true, y_pred in _regression_cases():
            case = f"{label}, delta={delta}"
            got = _per_sample(t, t.call(huber, y_true, y_pred, delta, where=case),
                              len(y_true), "huber", case)
            want = np.asarray(keras.losses.huber(y_true, y_pred, delta=delta))
            abs_e = np.abs(y_pred - y_true)
            quadratic = 0.5 * abs_e ** 2
            no_shift = np.where(abs_e <= delta, quadratic, delta * abs_e).mean(axis=-1)
            no_half = np.where(abs_e <= delta, abs_e ** 2, delta * (abs_e - 0.5 * delta))
            if _close(got, want):
                t.case(True, "")
            elif _close(got, no_shift):
                t.case(False, f"the linear part is delta * |e| ({case}); subtract 0.5 * delta**2 "
                              "so that it meets the quadratic part at |e| = delta.")
            elif _close(got, no_half.mean(axis=-1)):
                t.case(False, f"the quadratic part should be 0.5 * e**2, not e**2 ({case}).")
            elif delta != 1.0 and _close(got, np.asarray(keras.losses.huber(y_true, y_pred))):
                t.case(False, f"`huber` ignores its `delta` argument ({case}).")
            else:
                t.array(got, want, f"huber ({case})", rtol=1e-6, atol=1e-9)


# --------------------------------------------------------------------------------------- q3
def _probability_cases():
    rng = np.random.default_rng(93)
    logits = rng.normal(scale=2.0, size=(6, 4))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = rng.integers(0, 4, size=6)
    zero = np.array([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    zero_labels = np.array([0, 2, 0])
    soft = np.array([[0.7, 0.3, 0.0, 0.0], [0.0, 0.1, 0.0, 0.9], [0.25, 0.25, 0.25, 0.25]])
    soft_probs = probs[:3]
    return [("6 examples, 4 classes", labels, np.eye(4)[labels], probs),
            ("a true class with probability exactly 0", zero_labels, np.eye(3)[zero_labels], zero),
            ("soft (mixed) targets, categorical only", None, soft, soft_probs)]


@question(names=["categorical_ce", "sparse_categorical_ce"], hints=[
    "Cross-entropy is -sum over classes of y_true * log(p); with a one-hot y_true only the true "
    "class's term survives, which is what the sparse version picks directly.",
    "Clip the probabilities into [1e-7, 1 - 1e-7] before the log (`np.clip`), as Keras does: "
    "log(0) is -inf.",
    "Sparse: `p[np.arange(len(labels)), labels]` picks each row's true-class probability. "
    "Categorical: sum `y_true * np.log(p)` over the last axis, so soft targets work too.",
])
def q3(t, categorical_ce, sparse_categorical_ce):
    """categorical and sparse categorical cross-entropy from probabilities"""
    for label, labels, onehot, probs in _probability_cases():
        got = _per_sample(t, t.call(categorical_ce, onehot, probs, where=label), len(probs),
                          "categorical_ce", label)
        want = np.asarray(keras.losses.categorical_crossentropy(onehot, probs))
        hard = -np.log(np.clip(probs[np.arange(len(probs)), onehot.argmax(axis=1)], 1e-7, 1))
        if _not_finite(got, want):
            t.case(False, f"`categorical_ce` gives NaN or infinity ({label}): clip the "
                          "probabilities into [1e-7, 1 - 1e-7] before taking the log.")
        elif labels is None and _close(got, hard, rtol=1e-4, atol=1e-5):
            t.case(False, f"`categorical_ce` only uses the largest target ({label}); sum "
                          "y_true * log(p) over all classes so that mixed labels count fully.")
        else:
            t.array(got, want, f"categorical_ce ({label})", rtol=1e-4, atol=1e-5)
        if labels is None:
            continue
        got = _per_sample(t, t.call(sparse_categorical_ce, labels, probs, where=label),
                          len(probs), "sparse_categorical_ce", label)
        if got.shape == (len(probs), len(probs)):
            t.fail(f"`sparse_categorical_ce` returned a {got.shape} table ({label}): "
                   "`p[:, labels]` takes every label for every row; pair row i with labels[i].")
        want = np.asarray(keras.losses.sparse_categorical_crossentropy(labels, probs))
        if _not_finite(got, want):
            t.case(False, f"`sparse_categorical_ce` gives NaN or infinity ({label}): clip the "
                          "probabilities into [1e-7, 1 - 1e-7] before taking the log.")
        else:
            t.array(got, want, f"sparse_categorical_ce ({label})", rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------------------- q4
def _logit_cases():
    rng = np.random.default_rng(94)
    return [("logits of moderate size, 5 classes", rng.integers(0, 5, size=7),
             rng.normal(scale=3.0, size=(7, 5))),
            ("huge logits (±1000)", np.array([0, 1, 2]),
             np.array([[1000.0, 0.0, -1000.0], [1000.0, 999.0, 0.0], [-1000.0, -1000.0, 1000.0]])),
            ("rows of very different sizes (one near 0, one near 800)", np.array([1, 0, 2, 2]),
             np.array([[0.5, 1.5, -2.0], [800.0, 798.0, 801.0], [-3.0, 0.5, 2.0],
                       [-805.0, -799.0, -800.0]])),
            ("equal logits", np.array([3, 0]), np.full((2, 4), 7.5))]


def _batch_max_lse(labels, logits) -> np.ndarray:
    """The loss with ONE maximum for the whole batch subtracted (a classic mistake): rows far
    below the batch maximum underflow to log(0)."""
    m = logits.max()
    with np.errstate(all="ignore"):
        return m + np.log(np.exp(logits - m).sum(axis=1)) - logits[np.arange(len(labels)), labels]


@question(names=["ce_from_logits"], hints=[
    "log softmax(z)_k = z_k - log(sum_j exp(z_j)); the loss is minus that for the true class.",
    "exp(1000) overflows. Subtract the row maximum m first: log(sum exp(z_j)) = "
    "m + log(sum exp(z_j - m)), and the largest term becomes exp(0) = 1. Each row needs its own "
    "maximum.",
    "Compute `m = z.max(axis=1, keepdims=True)`, then `lse = m[:, 0] + np.log(np.exp(z - m)"
    ".sum(axis=1))`, and return `lse - z[np.arange(len(labels)), labels]`.",
])
def q4(t, ce_from_logits):
    """sparse cross-entropy from logits with the log-sum-exp trick"""
    for label, labels, logits in _logit_cases():
        got = t.call(ce_from_logits, labels, logits.copy(), where=label)
        got = _per_sample(t, got, len(labels), "ce_from_logits", label)
        want = np.asarray(keras.losses.sparse_categorical_crossentropy(labels, logits,
                                                                       from_logits=True))
        whole_batch = _batch_max_lse(labels, logits)
        if _not_finite(got, want) and not np.all(np.isfinite(whole_batch)) and np.array_equal(
                np.isfinite(got), np.isfinite(whole_batch)):
            t.case(False, f"`ce_from_logits` gives NaN or infinity ({label}) in the rows whose "
                          "logits are far below the largest logit of the batch: it subtracts one "
                          "maximum for the whole batch; each row needs its own maximum.")
        elif _not_finite(got, want):
            t.case(False, f"`ce_from_logits` gives NaN or infinity ({label}): exp of a huge logit "
                          "overflows; subtract the row maximum first (log-sum-exp trick).")
        else:
            t.array(got, want, f"ce_from_logits ({label})", rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------------------- q5
def _multilabel_cases():
    rng = np.random.default_rng(95)
    targets = (rng.uniform(size=(6, 5)) < 0.4).astype(np.float64)
    huge = np.array([[800.0, -800.0, 30.0], [-1000.0, 1000.0, -40.0]])
    return [("6 examples, 5 labels each", targets, rng.normal(scale=3.0, size=(6, 5))),
            ("huge logits (±1000) with confident mistakes", np.array([[0.0, 1.0, 1.0],
                                                                       [0.0, 0.0, 1.0]]), huge)]


@question(names=["bce_from_logits"], hints=[
    "Each label is its own yes/no question: p = sigmoid(z), "
    "loss = -(y log p + (1 - y) log(1 - p)), averaged over the labels (last axis).",
    "With logits the stable form is max(z, 0) - z * y + log(1 + exp(-|z|)); it never "
    "exponentiates a large positive number.",
    "`np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))`, then `.mean(axis=-1)`.",
])
def q5(t, bce_from_logits):
    """binary cross-entropy from logits for multi-label targets"""
    for label, targets, logits in _multilabel_cases():
        got = _per_sample(t, t.call(bce_from_logits, targets, logits, where=label),
                          len(targets), "bce_from_logits", label)
        want = np.asarray(keras.losses.binary_crossentropy(targets, logits, from_logits=True))
        softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
        softmax /= softmax.sum(axis=1, keepdims=True)
        if _not_finite(got, want):
            t.case(False, f"`bce_from_logits` gives NaN or infinity ({label}): use the stable "
                          "form max(z, 0) - z*y + log(1 + exp(-|z|)).")
        elif _close(got, want * targets.shape[1]):
            t.case(False, f"`bce_from_logits` sums over the labels instead of averaging ({label}).")
        elif _close(got, np.asarray(keras.losses.binary_crossentropy(targets, softmax)),
                    rtol=1e-4, atol=1e-5):
            t.case(False, f"the probabilities come from a softmax over the labels ({label}); in "
                          "multi-label tasks each label gets its own sigmoid.")
        else:
            t.array(got, want, f"bce_from_logits ({label})", rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------------------- q6
@question(names=["focal_loss"], hints=[
    "`focal_loss(gamma)` returns a new function `loss(y_true, y_pred)`; Keras calls it with "
    "tensors, so build it from `keras.ops` (sigmoid, log, power, mean), not NumPy.",
    "p = sigmoid(logits); p_t = y * p + (1 - y) * (1 - p) is the probability of the correct "
    "answer; the loss per label is -(1 - p_t)**gamma * log(p_t).",
    "Compute log(p_t) stably as minus the binary cross-entropy from logits "
    "(`keras.ops.binary_crossentropy(y, logits, from_logits=True)`), multiply by "
    "`(1 - p_t) ** gamma`, and average over the last axis.",
])
def q6(t, focal_loss):
    """binary focal loss as a Keras-compatible custom loss"""
    rng = np.random.default_rng(96)
    targets = tf.constant((rng.uniform(size=(8, 4)) < 0.3).astype(np.float32))
    logits = tf.constant(rng.normal(scale=3.0, size=(8, 4)).astype(np.float32))
    plain = np.asarray(keras.losses.binary_crossentropy(targets, logits, from_logits=True))
    for gamma in (0.0, 2.0, 5.0):
        case = f"gamma={gamma:g}"
        loss = t.call(focal_loss, gamma, where=case)
        if not callable(loss):
            t.fail(f"`focal_loss({gamma:g})` should return a loss function, not a "
                   f"{type(loss).__name__}.")
        value, grad = t.gradient(loss, targets, logits, wrt=1,
                                 where=f"{case}, called with tensors")
        got = _per_sample(t, value, 8, f"focal_loss({gamma:g})", case)
        want = np.asarray(keras.losses.binary_focal_crossentropy(targets, logits, gamma=gamma,
                                                                 from_logits=True))
        if gamma > 0 and _close(got, plain, rtol=1e-4, atol=1e-5):
            t.fail(f"your focal loss equals plain binary cross-entropy ({case}): the factor "
                   "(1 - p_t)**gamma is missing.")
        t.array(got, want, f"focal loss per example ({case})", rtol=1e-4, atol=1e-5)
        if grad is None:
            t.fail(f"TensorFlow cannot differentiate your loss ({case}): it left the tensor "
                   "world (NumPy, `.numpy()`, Python floats). Use keras.ops functions only.")
        variable = tf.Variable(logits)
        with tf.GradientTape() as tape:
            reference = keras.losses.binary_focal_crossentropy(targets, variable, gamma=gamma,
                                                               from_logits=True)
        t.array(grad, tape.gradient(reference, variable), f"gradient of the focal loss ({case})",
                rtol=1e-3, atol=1e-5)
