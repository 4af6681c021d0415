"""Checks of lesson 01 · A linear classifier: scores, softmax, cross-entropy and gradient descent.

The expected values come from Keras: a ``Dense`` layer holding the student's ``W`` and ``b``
(Keras stores the kernel as ``W.T``), ``keras.ops.softmax``, Keras's sparse cross-entropy from
logits, the ``L2`` regularizer, and gradients from ``tf.GradientTape``. Everything runs in
float64 so that tolerances can be tight.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .core import question


# ----------------------------------------------------------------------------- helpers
def _dense(W: np.ndarray, b: np.ndarray, lam: float = 0.0) -> keras.layers.Dense:
    """A float64 Dense layer computing x @ W.T + b (with an L2 penalty ``lam`` on W)."""
    layer = keras.layers.Dense(W.shape[0], dtype="float64", kernel_initializer="zeros",
                               kernel_regularizer=keras.regularizers.L2(lam) if lam else None)
    layer.build((None, W.shape[1]))
    layer.set_weights([W.T, b])
    return layer


def _case(seed: int, n: int, d: int, c: int, scale: float = 1.0):
    """Random inputs X (n, d), weights W (c, d), bias b (c,), labels y (n,) in float64."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    W = rng.normal(scale=scale / np.sqrt(d), size=(c, d))
    b = rng.normal(size=c)
    y = rng.integers(0, c, size=n)
    return X, W, b, y


def _mean_ce(logits, y) -> float:
    """Keras's sparse categorical cross-entropy from logits, averaged over the batch."""
    return float(keras.ops.mean(keras.ops.sparse_categorical_crossentropy(y, logits,
                                                                            from_logits=True)))


# ----------------------------------------------------------------------------- q1
@question(names=["W_shape", "b_shape", "n_params"], hints=[
    "Flatten one 32x32x3 image first: how many numbers is x? That is the number of columns of W.",
    "W has one row per class, so that Wx has one score per class; b adds one number per class.",
    "The parameters are all the entries of W plus all the entries of b.",
])
def q1(t, W_shape, b_shape, n_params):
    """shapes and parameter count of a linear classifier on 32x32x3 images"""
    layer = keras.layers.Dense(10, kernel_initializer="zeros")
    layer.build((None, 32 * 32 * 3))
    expected_W, expected_b = tuple(layer.kernel.shape)[::-1], tuple(layer.bias.shape)
    W_shape, b_shape = t.shape(W_shape, "W_shape"), t.shape(b_shape, "b_shape")
    mistake = t.mistake(W_shape, [
        (expected_W[::-1], "`W_shape` looks transposed: in f(x) = Wx + b each row of W holds the "
                           "weights of one class, and x is a column of pixel values."),
        ((expected_W[0], 32 * 32), "`W_shape`: the columns must cover every number of the "
                                   "flattened image, all three colour channels of every pixel.")])
    t.case(mistake is None and W_shape == expected_W,
           mistake or "`W_shape` is not the shape of W for flattened 32x32x3 images and 10 "
                      "classes.")
    t.case(b_shape == expected_b, "`b_shape` is not the shape of b: one bias per class, as a "
                                  "1-tuple like `(n,)`.")
    n_params = t.whole(n_params, "n_params")
    mistake = t.mistake(n_params, [(np.prod(expected_W), "`n_params` counts the entries of W "
                                                         "only; the biases are parameters too.")])
    t.case(mistake is None and n_params == layer.count_params(),
           mistake or "`n_params` is not the number of entries of W and b together.")


# ----------------------------------------------------------------------------- q2
@question(names=["scores"], hints=[
    "Each row of X is one example. The row of scores of example i is W @ X[i] + b.",
    ("For the whole batch at once: `X @ W.T + b` has shape (N, C); broadcasting adds b to every "
     "row."),
])
def q2(t, scores):
    """class scores X W^T + b for a batch"""
    for seed, n, d, c, label in [(0, 5, 784, 10, "5 Fashion-MNIST-sized inputs (D=784, C=10)"),
                                 (1, 3, 3072, 10, "3 CIFAR-sized inputs (D=3072, C=10)"),
                                 (2, 4, 6, 3, "4 inputs with D=6 and C=3"),
                                 (3, 1, 784, 10, "a batch of one input")]:
        X, W, b, _ = _case(seed, n, d, c)
        expected = keras.ops.convert_to_numpy(_dense(W, b)(X))
        out = t.call(scores, X.copy(), W.copy(), b.copy(), where=label)
        t.array(out, expected, f"scores(X, W, b) for {label}")


# ----------------------------------------------------------------------------- q3
@question(names=["softmax"], hints=[
    "Exponentiate, then divide each row by its own sum (`axis=1, keepdims=True`).",
    ("`np.exp(1000)` overflows to inf and inf / inf is NaN. Subtracting the row maximum first "
     "changes nothing mathematically and keeps every exponent at most 0."),
])
def q3(t, softmax):
    """row-wise softmax, stable for huge logits"""
    rng = np.random.default_rng(3)
    for Z, label in [(rng.normal(size=(4, 10)), "4 rows of ordinary logits"),
                     (np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1000.0, -999.0]]),
                      "huge logits (around +1000 and -1000)"),
                     (500 * rng.normal(size=(3, 5)), "3 rows of logits spread over hundreds"),
                     (np.zeros((2, 4)), "rows of equal logits")]:
        expected = keras.ops.convert_to_numpy(keras.ops.softmax(Z, axis=-1))
        out = t.call(softmax, Z.copy(), where=label)
        t.array(out, expected, f"softmax(Z) for {label}", rtol=1e-6, atol=1e-9)


# ----------------------------------------------------------------------------- q4
@question(names=["cross_entropy"], hints=[
    ("Per example, keep only the probability of the true class: `P[np.arange(N), y]`; the loss "
     "is the mean of -log of those."),
    ("log(softmax) can be written without any division: "
     "log p_y = z_y - m - log(sum_j exp(z_j - m)) "
     "with m the row maximum. That stays finite even when p_y rounds to 0."),
])
def q4(t, cross_entropy):
    """mean cross-entropy from logits, finite for huge logits"""
    rng = np.random.default_rng(4)
    for Z, y, label in [(rng.normal(size=(6, 10)), rng.integers(0, 10, 6), "6 ordinary examples"),
                        (np.array([[1000.0, -1000.0, 0.0], [5.0, 1.0, 1000.0]]), np.array([1, 2]),
                         "huge logits with the true class far below the others"),
                        (np.array([[50.0, 0.0, 0.0]]), np.array([0]),
                         "one confidently correct example"),
                        (3 * rng.normal(size=(5, 4)), rng.integers(0, 4, 5),
                         "5 examples, 4 classes")]:
        expected = _mean_ce(Z, y)
        out = t.call(cross_entropy, Z.copy(), y.copy(), where=label)
        t.array(out, expected, f"cross_entropy(Z, y) for {label}", rtol=1e-6, atol=1e-9)


# ----------------------------------------------------------------------------- q5
@question(names=["full_loss"], hints=[
    "Reuse your functions: the data loss is `cross_entropy(scores(X, W, b), y)`.",
    "The penalty is `lam * np.sum(W ** 2)`: on W only, not on b, and without a factor 1/2.",
])
def q5(t, full_loss):
    """data loss + L2 penalty"""
    for seed, n, d, c, lam, label in [(0, 6, 5, 3, 0.0, "lam = 0"),
                                      (1, 6, 5, 3, 0.1, "lam = 0.1"),
                                      (2, 8, 784, 10, 1e-3, "Fashion-MNIST sizes, lam = 0.001")]:
        X, W, b, y = _case(seed, n, d, c, scale=3.0)
        layer = _dense(W, b, lam)
        expected = _mean_ce(layer(X), y) + float(sum(layer.losses))
        out = t.call(full_loss, W.copy(), b.copy(), X.copy(), y.copy(), lam, where=label)
        t.array(out, expected, f"full_loss(W, b, X, y, lam) with {label}", rtol=1e-6, atol=1e-9)


# ----------------------------------------------------------------------------- q6
def _tape_grads(W, b, X, y, lam):
    Wv, bv = tf.Variable(W), tf.Variable(b)
    with tf.GradientTape() as tape:
        logits = tf.matmul(X, Wv, transpose_b=True) + bv
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
        loss += lam * tf.reduce_sum(Wv ** 2)
    dW, db = tape.gradient(loss, [Wv, bv])
    return dW.numpy(), db.numpy()


@question(names=["grads"], hints=[
    ("With P the softmax probabilities and Y the one-hot labels, the gradient of the mean "
     "cross-entropy with respect to the scores is (P - Y) / N."),
    ("Chain rule through S = X W^T + b: dW = ((P - Y) / N)^T X, db = the column sums of "
     "(P - Y) / N."),
    "Do not forget the penalty: the derivative of lam * sum(W**2) is 2 * lam * W.",
])
def q6(t, grads):
    """analytic gradient of softmax cross-entropy + L2"""
    for seed, n, d, c, lam, scale, label in [
            (0, 5, 4, 3, 0.0, 1.0, "N=5, D=4, C=3, lam = 0"),
            (1, 5, 4, 3, 0.5, 1.0, "N=5, D=4, C=3, lam = 0.5"),
            (2, 8, 784, 10, 0.01, 1.0, "Fashion-MNIST sizes, lam = 0.01"),
            (3, 4, 6, 5, 0.1, 2000.0, "huge logits, lam = 0.1"),
            (4, 1, 7, 4, 0.0, 1.0, "a batch of one example")]:
        X, W, b, y = _case(seed, n, d, c, scale=scale)
        dW_ref, db_ref = _tape_grads(W, b, X, y, lam)
        out = t.call(grads, W.copy(), b.copy(), X.copy(), y.copy(), lam, where=label)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            what = (f"{len(out)} values" if isinstance(out, (tuple, list))
                    else f"a {type(out).__name__}")
            t.fail(f"`grads` should return a pair `(dW, db)`, but it returned {what} (on {label}).")
        t.array(out[0], dW_ref, f"dW for {label}", rtol=1e-5, atol=1e-8)
        t.array(out[1], db_ref, f"db for {label}", rtol=1e-5, atol=1e-8)

