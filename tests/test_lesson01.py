"""Lesson 01: the reference answers pass, plausible wrong answers fail with a specific message."""
import keras
import numpy as np
import tensorflow as tf
from helpers import answer_tests
from scipy.special import logsumexp
from scipy.special import softmax as scipy_softmax

from utils.checks import lesson01
from utils.checks.lesson01 import q1, q2, q3, q4, q5, q6


def scores(X, W, b):
    return X @ W.T + b


def softmax(Z):
    e = np.exp(Z - Z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy(Z, y):
    shifted = Z - Z.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(y)), y].mean()


def full_loss(W, b, X, y, lam):
    return cross_entropy(scores(X, W, b), y) + lam * np.sum(W ** 2)


def grads(W, b, X, y, lam):
    dS = softmax(scores(X, W, b))
    dS[np.arange(len(y)), y] -= 1
    dS /= len(y)
    return dS.T @ X + 2 * lam * W, dS.sum(axis=0)


def naive_cross_entropy(Z, y):
    return -np.log(softmax(Z)[np.arange(len(y)), y]).mean()


def grads_without_factor_two(W, b, X, y, lam):
    dW, db = grads(W, b, X, y, lam)
    return dW - lam * W, db


def grads_without_mean(W, b, X, y, lam):
    dW, db = grads(W, b, X, y, 0.0)
    return len(y) * dW + 2 * lam * W, len(y) * db


# written differently: einsum, TensorFlow and Keras ops, SciPy, loops, one-hot labels, a tape
def softmax_logsumexp(Z):
    return np.exp(Z - logsumexp(Z, axis=1, keepdims=True))


def cross_entropy_logsumexp(Z, y):
    return np.mean(logsumexp(Z, axis=1) - Z[np.arange(len(y)), y])


def cross_entropy_keras(Z, y):
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")
    return float(loss(y, Z))


def full_loss_loop(W, b, X, y, lam):
    penalty = sum(w * w for w in W.ravel())
    return cross_entropy_logsumexp(np.einsum("nd,cd->nc", X, W) + b, y) + lam * penalty


def full_loss_tf(W, b, X, y, lam):
    logits = tf.matmul(X, W, transpose_b=True) + b
    data = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
    return (data + lam * tf.reduce_sum(tf.square(W))).numpy()


def grads_one_hot(W, b, X, y, lam):
    n, c = len(y), W.shape[0]
    dS = (softmax_logsumexp(X @ W.T + b) - np.eye(c)[y]) / n
    return np.einsum("nc,nd->cd", dS, X) + 2 * lam * W, np.einsum("nc->c", dS)


def grads_tape(W, b, X, y, lam):
    Wv, bv = tf.Variable(W), tf.Variable(b)
    with tf.GradientTape() as tape:
        logits = tf.matmul(X, Wv, transpose_b=True) + bv
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
        loss += lam * tf.reduce_sum(Wv ** 2)
    dW, db = tape.gradient(loss, [Wv, bv])
    return [dW.numpy(), db.numpy()]


def grads_loop(W, b, X, y, lam):
    """One example at a time, accumulated."""
    dW, db = 2 * lam * W, np.zeros_like(b)
    for x_i, y_i in zip(X, y):
        d = softmax((W @ x_i + b)[None])[0]
        d[y_i] -= 1
        dW += np.outer(d, x_i) / len(y)
        db += d / len(y)
    return dW, db


Q1 = {"W_shape": (10, 3072), "b_shape": (10,), "n_params": 30730}
CORRECT = [
    (q1, Q1),
    (q1, {"W_shape": [10, 3072], "b_shape": np.array([10]), "n_params": np.int64(30730)}),
    (q1, {"W_shape": (10.0, 32 * 32 * 3.0), "b_shape": (np.int32(10),),
          "n_params": 10 * 3072 + 10.0}),
    (q2, {"scores": scores}), (q2, {"scores": lambda X, W, b: np.einsum("nd,cd->nc", X, W) + b}),
    (q2, {"scores": lambda X, W, b: tf.matmul(X, W, transpose_b=True) + b}),
    (q2, {"scores": lambda X, W, b: (W @ X.T + b[:, None]).T}),
    (q3, {"softmax": softmax}), (q3, {"softmax": softmax_logsumexp}),
    (q3, {"softmax": lambda Z: scipy_softmax(Z, axis=1)}),
    (q3, {"softmax": lambda Z: tf.nn.softmax(Z).numpy()}),
    (q4, {"cross_entropy": cross_entropy}), (q4, {"cross_entropy": cross_entropy_logsumexp}),
    (q4, {"cross_entropy": cross_entropy_keras}),
    (q4, {"cross_entropy": lambda Z, y: tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(y, Z))}),
    (q5, {"full_loss": full_loss}), (q5, {"full_loss": full_loss_loop}),
    (q5, {"full_loss": full_loss_tf}),
    (q6, {"grads": grads}), (q6, {"grads": grads_one_hot}), (q6, {"grads": grads_tape}),
    (q6, {"grads": grads_loop}),
]

WRONG = {
    "q1": [({**Q1, "W_shape": (3072, 10)}, "looks transposed"),
           ({**Q1, "W_shape": (10, 1024)}, "all three colour channels"),
           ({**Q1, "b_shape": 10}, "should be a tuple of whole numbers"),
           ({**Q1, "n_params": 30720}, "the biases are parameters too"),
           ({**Q1, "W_shape": (10, 32, 32, 3)}, "`W_shape` is not the shape of W"),
           ({**Q1, "b_shape": (1, 10)}, "`b_shape` is not the shape of b"),
           ({**Q1, "W_shape": (10, 3072.5)}, "`W_shape[1]` is 3072.5, not a whole number")],
    "q2": [({"scores": lambda X, W, b: X @ W.T}, "is wrong at"),
           ({"scores": lambda X, W, b: W @ X.T + b[:, None]}, "should have shape (5, 10)"),
           ({"scores": lambda X, W, b: X @ W + b}, "raised ValueError")],
    "q3": [({"softmax": lambda Z: np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)},
            "for huge logits (around +1000 and -1000)` contains NaN"),
           ({"softmax": lambda Z: softmax(Z.T).T}, "is wrong at"),
           ({"softmax": lambda Z: np.exp(Z - Z.max()) / np.exp(Z - Z.max()).sum(axis=1, keepdims=True)},
            "for huge logits (around +1000 and -1000)` contains NaN")],
    "q4": [({"cross_entropy": naive_cross_entropy}, "contains NaN or infinity"),
           ({"cross_entropy": lambda Z, y: -np.log(softmax(Z)[np.arange(len(y)), y])},
            "has shape (6,) but should have shape ()"),
           ({"cross_entropy": lambda Z, y: -cross_entropy(Z, y)}, "is wrong"),
           ({"cross_entropy": lambda Z, y: len(y) * cross_entropy(Z, y)}, "for 6 ordinary examples` is wrong")],
    "q5": [({"full_loss": lambda W, b, X, y, lam: full_loss(W, b, X, y, lam) + lam * np.sum(b ** 2)},
            "with lam = 0.1` is wrong"),
           ({"full_loss": lambda W, b, X, y, lam: full_loss(W, b, X, y, lam / 2)}, "with lam = 0.1` is wrong"),
           ({"full_loss": lambda W, b, X, y, lam: cross_entropy(scores(X, W, b), y)}, "with lam = 0.1` is wrong")],
    "q6": [({"grads": grads_without_factor_two}, "dW for N=5, D=4, C=3, lam = 0.5` is wrong"),
           ({"grads": grads_without_mean}, "dW for N=5, D=4, C=3, lam = 0` is wrong"),
           ({"grads": lambda W, b, X, y, lam: grads(W, b, X, y, lam)[0]}, "should return a pair"),
           ({"grads": lambda W, b, X, y, lam: (grads(W, b, X, y, lam)[0].T, grads(W, b, X, y, lam)[1])},
            "dW for N=5, D=4, C=3, lam = 0` has shape (4, 3)")],
}


(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(lesson01, CORRECT, WRONG)
