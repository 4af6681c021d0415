"""Checks of lesson 02 · Neural networks and backpropagation.

The expected values come from Keras layers holding the student's weights (in float64), from
``keras.ops`` and from ``tf.GradientTape``; the layer-counting question builds the Keras layers
and asks them for ``count_params()``. Messages name the case, the gradient or the output that is
wrong, never the expected numbers.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .core import question

PARAM_KEYS = ("W1", "b1", "W2", "b2")


# ----------------------------------------------------------------------------- helpers

def _dense(W: np.ndarray, b: np.ndarray, activation=None) -> keras.layers.Dense:
    """A float64 Dense layer computing activation(x @ W.T + b)."""
    layer = keras.layers.Dense(W.shape[0], activation=activation, dtype="float64",
                               kernel_initializer="zeros")
    layer.build((None, W.shape[1]))
    layer.set_weights([W.T, b])
    return layer


def _params(seed: int, d: int, h: int, c: int, b1_shift: float = 0.0) -> dict:
    """Random weights of a d -> h -> c network, float64, He-scaled."""
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(scale=np.sqrt(2 / d), size=(h, d)),
            "b1": rng.normal(scale=0.1, size=h) + b1_shift,
            "W2": rng.normal(scale=np.sqrt(2 / h), size=(c, h)),
            "b2": rng.normal(scale=0.1, size=c)}


def _copy(params: dict) -> dict:
    return {k: v.copy() for k, v in params.items()}


def _pair(t, out, fn: str, what: str, label: str):
    """The two parts of a returned pair, or a FAIL saying what came back instead."""
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        got = f"{len(out)} values" if isinstance(out, (tuple, list)) else f"a {type(out).__name__}"
        t.fail(f"`{fn}` should return a pair {what}, but it returned {got} (on {label}).")
    return out


# ----------------------------------------------------------------------------- q1
@question(names=["collapse"], hints=[
    "Substitute the first layer into the second: W2 (W1 x + b1) + b2, and multiply out.",
    ("The x-term gives W' = W2 @ W1 (shape C x D); everything without x is the new bias "
     "b' = W2 @ b1 + b2."),
])
def q1(t, collapse):
    """two stacked linear layers are one linear layer"""
    for seed, d, h, c, label in [(0, 4, 6, 3, "D=4 -> H=6 -> C=3"),
                                 (1, 784, 32, 10, "D=784 -> H=32 -> C=10"),
                                 (2, 2, 1, 5, "a bottleneck D=2 -> H=1 -> C=5")]:
        p = _params(seed, d, h, c)
        first, second = _dense(p["W1"], p["b1"]), _dense(p["W2"], p["b2"])
        # the two Keras layers as one map x -> g(x): b' = g(0), column j of W' = g(e_j) - g(0)
        g = keras.ops.convert_to_numpy(second(first(np.vstack([np.zeros(d), np.eye(d)]))))
        out = t.call(collapse, *_copy(p).values(), where=label)
        W, b = _pair(t, out, "collapse", "`(W, b)`", label)
        t.array(W, (g[1:] - g[0]).T, f"W' for {label}")
        t.array(b, g[0], f"b' for {label}")


# ----------------------------------------------------------------------------- q2
@question(names=["sigmoid", "sigmoid_grad"], hints=[
    "sigmoid(z) = 1 / (1 + exp(-z)); it works elementwise on arrays of any shape.",
    ("The derivative can be written with the sigmoid itself: s * (1 - s) with s = sigmoid(z). "
     "Careful: z * (1 - z) is the same formula applied to the wrong thing."),
    ("Formulas with exp(-z) in both numerator and denominator give inf / inf = NaN for z = -1000; "
     "going through s = sigmoid(z) avoids it."),
])
def q2(t, sigmoid, sigmoid_grad):
    """sigmoid and its derivative"""
    rng = np.random.default_rng(2)
    for z, label in [(np.linspace(-10, 10, 41), "41 points in [-10, 10]"),
                     (np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0]), "huge inputs (up to ±1000)"),
                     (3 * rng.normal(size=(3, 4)), "a 3x4 array")]:
        zv = tf.Variable(z)
        with tf.GradientTape() as tape:
            s = tf.sigmoid(zv)
        expected_grad = tape.gradient(s, zv).numpy()
        out = t.call(sigmoid, z.copy(), where=label)
        t.array(out, s.numpy(), f"sigmoid(z) for {label}", rtol=1e-7, atol=1e-12)
        out = t.call(sigmoid_grad, z.copy(), where=label)
        t.array(out, expected_grad, f"sigmoid_grad(z) for {label}", rtol=1e-7, atol=1e-12)


# ----------------------------------------------------------------------------- q3
@question(names=["forward"], hints=[
    "Two steps: hidden = relu(X @ W1.T + b1), then scores = hidden @ W2.T + b2.",
    "The ReLU belongs to the hidden layer only; the scores stay unbounded (softmax comes later).",
])
def q3(t, forward):
    """forward pass of a 2-layer ReLU network"""
    for seed, n, d, h, c, shift, label in [(0, 5, 4, 6, 3, 0.0, "N=5, D=4, H=6, C=3"),
                                           (1, 3, 784, 32, 10, 0.0, "N=3, D=784, H=32, C=10"),
                                           (2, 6, 5, 8, 4, -1.0, "many hidden units below zero")]:
        p = _params(seed, d, h, c, shift)
        X = np.random.default_rng(seed + 10).normal(size=(n, d))
        hidden = _dense(p["W1"], p["b1"], activation="relu")
        expected = keras.ops.convert_to_numpy(_dense(p["W2"], p["b2"])(hidden(X)))
        out = t.call(forward, X.copy(), _copy(p), where=label)
        t.array(out, expected, f"forward(X, params) for {label}")


# ----------------------------------------------------------------------------- q4
def _tape_backward(X, y, params):
    v = {k: tf.Variable(p) for k, p in params.items()}
    with tf.GradientTape() as tape:
        hidden = tf.nn.relu(tf.matmul(X, v["W1"], transpose_b=True) + v["b1"])
        logits = tf.matmul(hidden, v["W2"], transpose_b=True) + v["b2"]
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
    grads = tape.gradient(loss, v)
    return float(loss), {k: g.numpy() for k, g in grads.items()}


@question(names=["backward"], hints=[
    ("Keep the intermediate results of the forward pass (Z1 = X W1^T + b1, H = relu(Z1), the "
     "probabilities P); the backward pass needs them."),
    ("Start at the top: dS = (P - Y) / N. Then dW2 = dS^T H, db2 = column sums of dS, "
     "dH = dS W2."),
    ("The ReLU lets the gradient through only where Z1 > 0: dZ1 = dH * (Z1 > 0); then "
     "dW1 = dZ1^T X and db1 = column sums of dZ1."),
])
def q4(t, backward):
    """backpropagation through a 2-layer ReLU network with softmax cross-entropy"""
    for seed, n, d, h, c, shift, label in [(0, 5, 4, 6, 3, 0.0, "N=5, D=4, H=6, C=3"),
                                           (1, 8, 784, 16, 10, 0.0, "N=8, D=784, H=16, C=10"),
                                           (2, 6, 5, 8, 4, -1.0, "many hidden units below zero"),
                                           (3, 1, 3, 4, 2, 0.0, "a batch of one example")]:
        p = _params(seed, d, h, c, shift)
        rng = np.random.default_rng(seed + 10)
        X, y = rng.normal(size=(n, d)), rng.integers(0, c, size=n)
        loss_ref, grads_ref = _tape_backward(X, y, p)
        out = t.call(backward, X.copy(), y.copy(), _copy(p), where=label)
        loss, grads = _pair(t, out, "backward", "`(loss, grads)`", label)
        t.array(loss, loss_ref, f"the loss for {label}", rtol=1e-6, atol=1e-9)
        if not isinstance(grads, dict) or set(PARAM_KEYS) - set(grads):
            t.fail("`backward` should return the gradients as a dict with the keys "
                   f"{', '.join(PARAM_KEYS)} (on {label}).")
        for key in PARAM_KEYS:
            t.array(grads[key], grads_ref[key], f"grads['{key}'] for {label}", rtol=1e-5, atol=1e-9)


# ----------------------------------------------------------------------------- q5
def _cubic_wave(x):
    return np.sum(np.sin(x) * x ** 2)


def _linear_ce_factory(seed: int):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(6, 5)), rng.integers(0, 3, size=6)

    def loss(W):
        z = X @ W.T
        z = z - z.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))

    def tape_loss(Wv):
        logits = tf.matmul(X, Wv, transpose_b=True)
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
    return loss, tape_loss


@question(names=["numerical_gradient"], hints=[
    ("For every entry i of x: nudge it up by h, evaluate f; nudge it down by h, evaluate f; the "
     "slope is the difference divided by 2h."),
    ("Restore each entry after nudging it, so that x leaves the function unchanged. "
     "`np.ndindex(x.shape)` visits every index of an array of any shape."),
    ("(f(x + h) - f(x)) / h is a forward difference: its error shrinks like h, the central "
     "difference's like h**2, and the check needs the accurate one."),
])
def q5(t, numerical_gradient):
    """central-difference gradient of a scalar function"""
    rng = np.random.default_rng(5)
    ce, ce_tape = _linear_ce_factory(6)
    cases = [(_cubic_wave, lambda v: tf.reduce_sum(tf.sin(v) * v ** 2), 2 * rng.normal(size=(3, 4)),
              "f(x) = sum(sin(x) * x**2) on a 3x4 array"),
             (ce, ce_tape, rng.normal(size=(3, 5)),
              "the cross-entropy of a linear classifier as a function of its 3x5 W")]
    for f, f_tape, x, label in cases:
        xv = tf.Variable(x)
        with tf.GradientTape() as tape:
            value = f_tape(xv)
        expected = tape.gradient(value, xv).numpy()
        before = x.copy()
        out = t.call(numerical_gradient, f, x, where=label)
        t.array(out, expected, f"numerical_gradient(f, x) for {label}", rtol=1e-6, atol=1e-7)
        t.case(np.array_equal(x, before), f"`numerical_gradient` changed x for {label}: put "
                                          "every entry back after nudging it.")


# ----------------------------------------------------------------------------- q6
@question(names=["standardize"], hints=[
    "One mean and one standard deviation per feature (per pixel): reduce over axis 0 only.",
    ("Compute the statistics on X_train only and use those same numbers for X_test: the test set "
     "stands for data you have not seen yet."),
    ("A pixel that is the same in every training image has std 0; divide by "
     "`np.maximum(std, 1e-7)` (or std + 1e-8) so that it becomes 0, not NaN."),
])
def q6(t, standardize):
    """per-feature standardization with training statistics"""
    rng = np.random.default_rng(6)
    spread = rng.uniform(0.5, 5.0, size=6)
    shifted_train = rng.normal(size=(50, 6)) * spread + np.arange(6)
    shifted_test = rng.normal(size=(20, 6)) * spread + np.arange(6) + 1.0
    constant_train, constant_test = rng.uniform(0, 1, size=(30, 5)), rng.uniform(0, 1, size=(10, 5))
    constant_train[:, 2] = constant_test[:, 2] = 0.0
    for X_train, X_test, label in [
            (shifted_train, shifted_test, ("features with different means and scales, "
                                          "a test set drawn from a shifted distribution")),
            (constant_train, constant_test, "a feature that is 0 in every image")]:
        norm = keras.layers.Normalization(axis=-1, dtype="float64")
        norm.adapt(X_train)
        out = t.call(standardize, X_train.copy(), X_test.copy(), where=label)
        train_out, test_out = _pair(t, out, "standardize", "`(X_train_std, X_test_std)`", label)
        t.array(train_out, keras.ops.convert_to_numpy(norm(X_train)),
                f"the standardized X_train for {label}", rtol=1e-6, atol=1e-9)
        t.array(test_out, keras.ops.convert_to_numpy(norm(X_test)),
                f"the standardized X_test for {label}", rtol=1e-6, atol=1e-9)


# ----------------------------------------------------------------------------- q7
def _count(t, fn, name: str, args: tuple, expected: int, what: str) -> None:
    label = f"{name}{args}"
    out = t.whole(t.call(fn, *args, where=label), label)
    t.case(out == expected, f"`{label}` is not the number of parameters of {what} "
                            "(weights and biases both count).")


@question(names=["dense_param_count", "conv_param_count"], hints=[
    ("A Dense layer connects every input value to every unit: inputs x units weights, plus one "
     "bias per unit. The input of a Dense layer on an image is the flattened image."),
    ("A conv layer has `filters` kernels, each of size k x k x c_in, plus one bias per filter. "
     "The image size does not appear: the same kernel slides everywhere."),
])
def q7(t, dense_param_count, conv_param_count):
    """parameters of a Dense layer vs a conv layer on an image"""
    for h, w, c, units in [(224, 224, 3, 100), (28, 28, 1, 128), (5, 7, 2, 3)]:
        layer = keras.layers.Dense(units, kernel_initializer="zeros")
        layer.build((None, h * w * c))
        _count(t, dense_param_count, "dense_param_count", (h, w, c, units), layer.count_params(),
               f"a Dense({units}) layer on flattened {h}x{w}x{c} images")
    for k, c_in, filters in [(3, 3, 100), (5, 1, 32), (1, 64, 16)]:
        layer = keras.layers.Conv2D(filters, k, kernel_initializer="zeros")
        layer.build((None, None, None, c_in))
        _count(t, conv_param_count, "conv_param_count", (k, c_in, filters), layer.count_params(),
               f"a Conv2D({filters}, {k}x{k}) layer on {c_in}-channel images")
