"""Lesson 02: the reference answers pass, plausible wrong answers fail with a specific message."""
import math

import keras
import numpy as np
import tensorflow as tf
from helpers import answer_tests
from scipy.special import expit, logsumexp
from sklearn.preprocessing import StandardScaler

from utils.checks import lesson02
from utils.checks.lesson02 import q1, q2, q3, q4, q5, q6, q7


def collapse(W1, b1, W2, b2):
    return W2 @ W1, W2 @ b1 + b2


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_grad(z):
    s = sigmoid(z)
    return s * (1 - s)


def forward(X, params):
    hidden = np.maximum(0, X @ params["W1"].T + params["b1"])
    return hidden @ params["W2"].T + params["b2"]


def backward(X, y, params, relu_mask=True):
    Z1 = X @ params["W1"].T + params["b1"]
    H = np.maximum(0, Z1)
    S = H @ params["W2"].T + params["b2"]
    S = S - S.max(axis=1, keepdims=True)
    P = np.exp(S) / np.exp(S).sum(axis=1, keepdims=True)
    n = len(y)
    loss = -np.log(P[np.arange(n), y]).mean()
    dS = P.copy()
    dS[np.arange(n), y] -= 1
    dS /= n
    dH = dS @ params["W2"]
    dZ1 = dH * (Z1 > 0) if relu_mask else dH
    return loss, {"W1": dZ1.T @ X, "b1": dZ1.sum(axis=0), "W2": dS.T @ H, "b2": dS.sum(axis=0)}


def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros_like(x, dtype=float)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        up = f(x)
        x[i] = old - h
        down = f(x)
        x[i] = old
        grad[i] = (up - down) / (2 * h)
    return grad


def forward_difference(f, x, h=1e-5):
    grad, base = np.zeros_like(x), f(x)
    for i in np.ndindex(x.shape):
        x[i] += h
        grad[i] = (f(x) - base) / h
        x[i] -= h
    return grad


def never_restores(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += h
        up = f(x)
        x[i] -= 2 * h
        grad[i] = (up - f(x)) / (2 * h)
    return grad


def standardize(X_train, X_test):
    mean, std = X_train.mean(axis=0), np.maximum(X_train.std(axis=0), 1e-7)
    return (X_train - mean) / std, (X_test - mean) / std


def dense_param_count(h, w, c, units):
    return (h * w * c + 1) * units


def conv_param_count(k, c_in, filters):
    return (k * k * c_in + 1) * filters


# written differently: einsum, TensorFlow ops and tapes, SciPy, scikit-learn, loops, floats
def sigmoid_stable(z):
    """Never exponentiates a positive number."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_grad_tape(z):
    zv = tf.Variable(z)
    with tf.GradientTape() as tape:
        s = tf.sigmoid(zv)
    return tape.gradient(s, zv).numpy()


def forward_tf(X, params):
    hidden = tf.nn.relu(tf.matmul(X, params["W1"], transpose_b=True) + params["b1"])
    return tf.matmul(hidden, params["W2"], transpose_b=True) + params["b2"]


def forward_einsum(X, params):
    Z1 = np.einsum("nd,hd->nh", X, params["W1"]) + params["b1"]
    return np.einsum("nh,ch->nc", Z1 * (Z1 > 0), params["W2"]) + params["b2"]


def backward_one_hot(X, y, params):
    Z1 = X @ params["W1"].T + params["b1"]
    A = np.clip(Z1, 0, None)
    S = A @ params["W2"].T + params["b2"]
    log_p = S - logsumexp(S, axis=1, keepdims=True)
    Y = np.eye(S.shape[1])[y]
    dS = (np.exp(log_p) - Y) / len(y)
    dZ1 = np.where(Z1 > 0, dS @ params["W2"], 0.0)
    grads = {"b2": dS.sum(0), "W2": dS.T @ A, "b1": dZ1.sum(0), "W1": dZ1.T @ X}
    return [float(-(Y * log_p).sum() / len(y)), grads]


def backward_tape(X, y, params):
    v = {k: tf.Variable(p) for k, p in params.items()}
    with tf.GradientTape() as tape:
        logits = forward_tf(X, v)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
    return loss.numpy(), {k: g.numpy() for k, g in tape.gradient(loss, v).items()}


def numerical_gradient_copies(f, x, h=1e-5):
    """Nudges a copy, so x is never touched."""
    grad = np.empty(x.shape)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (f(up) - f(down)) / (2 * h)
    return grad


def numerical_gradient_flat(f, x, h=1e-5):
    """Walks a flat view of x (nudging x itself) and puts each entry back."""
    flat, grad = x.reshape(-1), np.zeros(x.size)
    for i in range(x.size):
        old = flat[i]
        flat[i] = old + h
        up = f(x)
        flat[i] = old - h
        grad[i] = (up - f(x)) / (2 * h)
        flat[i] = old
    return grad.reshape(x.shape)


def standardize_keras(X_train, X_test):
    norm = keras.layers.Normalization(axis=-1, dtype="float64")
    norm.adapt(X_train)
    return norm(X_train).numpy(), norm(X_test).numpy()


def standardize_sklearn(X_train, X_test):
    scaler = StandardScaler().fit(X_train)        # leaves constant features at 0
    return scaler.transform(X_train), scaler.transform(X_test)


def dense_param_count_keras(h, w, c, units):
    layer = keras.layers.Dense(units)
    layer.build((None, h * w * c))
    return layer.count_params()


CORRECT = [
    (q1, {"collapse": collapse}),
    (q1, {"collapse": lambda W1, b1, W2, b2: [np.einsum("ch,hd->cd", W2, W1),
                                               np.dot(W2, b1) + b2]}),
    (q1, {"collapse": lambda W1, b1, W2, b2: (tf.matmul(W2, W1).numpy(),
                                               tf.linalg.matvec(W2, b1).numpy() + b2)}),
    (q2, {"sigmoid": sigmoid, "sigmoid_grad": sigmoid_grad}),
    (q2, {"sigmoid": sigmoid_stable, "sigmoid_grad": lambda z: expit(z) * expit(-z)}),
    (q2, {"sigmoid": lambda z: tf.sigmoid(z).numpy(), "sigmoid_grad": sigmoid_grad_tape}),
    (q3, {"forward": forward}), (q3, {"forward": forward_tf}), (q3, {"forward": forward_einsum}),
    (q4, {"backward": backward}), (q4, {"backward": backward_one_hot}),
    (q4, {"backward": backward_tape}),
    (q5, {"numerical_gradient": numerical_gradient}),
    (q5, {"numerical_gradient": numerical_gradient_copies}),
    (q5, {"numerical_gradient": numerical_gradient_flat}),
    (q6, {"standardize": standardize}), (q6, {"standardize": standardize_keras}),
    (q6, {"standardize": standardize_sklearn}),
    (q6, {"standardize": lambda a, b: ((a - a.mean(0)) / (a.std(0) + 1e-8),
                                       (b - a.mean(0)) / (a.std(0) + 1e-8))}),
    (q7, {"dense_param_count": dense_param_count, "conv_param_count": conv_param_count}),
    (q7, {"dense_param_count": lambda h, w, c, units: math.prod((h, w, c)) * units + units,
          "conv_param_count": lambda k, c_in, filters: float(k ** 2 * c_in * filters + filters)}),
    (q7, {"dense_param_count": dense_param_count_keras,
          "conv_param_count": lambda k, c_in, filters: np.int64(k * k * c_in + 1) * filters}),
]
COUNTS = {"dense_param_count": dense_param_count, "conv_param_count": conv_param_count}

WRONG = {
    "q1": [({"collapse": lambda W1, b1, W2, b2: (W2 @ W1, b2)}, "b' for D=4 -> H=6 -> C=3` is wrong"),
           ({"collapse": lambda W1, b1, W2, b2: (W2 @ W1, b1 + b2)}, "raised ValueError"),
           ({"collapse": lambda W1, b1, W2, b2: ((W2 @ W1).T, W2 @ b1 + b2)},
            "W' for D=4 -> H=6 -> C=3` has shape (4, 3)"),
           ({"collapse": lambda W1, b1, W2, b2: W2 @ W1}, "should return a pair")],
    "q2": [({"sigmoid": sigmoid, "sigmoid_grad": lambda z: z * (1 - z)}, "sigmoid_grad(z) for 41 points"),
           ({"sigmoid": lambda z: 1 / (1 + np.exp(z)), "sigmoid_grad": sigmoid_grad}, "sigmoid(z) for 41 points"),
           ({"sigmoid": sigmoid, "sigmoid_grad": lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2},
            "sigmoid_grad(z) for huge inputs (up to ±1000)` contains NaN")],
    "q3": [({"forward": lambda X, p: X @ p["W1"].T @ p["W2"].T + p["b2"]}, "is wrong at"),
           ({"forward": lambda X, p: np.maximum(0, forward(X, p))}, "is wrong at"),
           ({"forward": lambda X, p: (np.maximum(0, X @ p["W1"].T) + p["b1"]) @ p["W2"].T + p["b2"]},
            "for many hidden units below zero` is wrong")],
    "q4": [({"backward": lambda X, y, p: backward(X, y, p, relu_mask=False)},
            "grads['W1'] for N=5, D=4, H=6, C=3` is wrong"),
           ({"backward": lambda X, y, p: backward(X, y, p)[1]}, "should return a pair"),
           ({"backward": lambda X, y, p: (backward(X, y, p)[0], list(backward(X, y, p)[1].values()))},
            "as a dict with the keys W1, b1, W2, b2"),
           ({"backward": lambda X, y, p: (backward(X, y, p)[0],
                                          {k: len(y) * g for k, g in backward(X, y, p)[1].items()})},
            "grads['W1'] for N=5, D=4, H=6, C=3` is wrong")],
    "q5": [({"numerical_gradient": forward_difference}, "numerical_gradient(f, x) for f(x) = sum"),
           ({"numerical_gradient": lambda f, x, h=1e-5: 2 * numerical_gradient(f, x, h)}, "is wrong at"),
           ({"numerical_gradient": never_restores}, "`numerical_gradient` changed x")],
    "q6": [({"standardize": lambda a, b: ((a - a.mean(0)) / a.std(0), (b - b.mean(0)) / b.std(0))},
            "the standardized X_test for features with different means"),
           ({"standardize": lambda a, b: ((a - a.mean()) / a.std(), (b - a.mean()) / a.std())},
            "the standardized X_train for features with different means"),
           ({"standardize": lambda a, b: ((a - a.mean(0)) / a.std(0), (b - a.mean(0)) / a.std(0))},
            "for a feature that is 0 in every image` contains NaN")],
    "q7": [({**COUNTS, "dense_param_count": lambda h, w, c, units: h * w * c * units},
            "dense_param_count(224, 224, 3, 100)` is not the number"),
           ({**COUNTS, "conv_param_count": lambda k, c_in, filters: k * k * filters + filters},
            "conv_param_count(3, 3, 100)` is not the number"),
           ({**COUNTS, "conv_param_count": lambda k, c_in, filters: str((k * k * c_in + 1) * filters)},
            "`conv_param_count(3, 3, 100)` is a str; it should be one number"),
           ({**COUNTS, "dense_param_count": lambda h, w, c, units: (h * w + 1) * units},
            "dense_param_count(224, 224, 3, 100)` is not the number")],
}


(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(lesson02, CORRECT, WRONG)
