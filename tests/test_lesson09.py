"""Lesson 09: the reference answers pass, plausible wrong answers fail with a specific message."""
import keras
import numpy as np

from helpers import answer_tests
from utils.checks import lesson09
from utils.checks.lesson09 import q1, q2, q3, q4, q5, q6


# ------------------------------------------------------------------ reference answers
def mse(y_true, y_pred):
    return np.mean((y_pred - y_true) ** 2, axis=-1)


def mae(y_true, y_pred):
    return np.mean(np.abs(y_pred - y_true), axis=-1)


def huber(y_true, y_pred, delta):
    e = np.abs(y_pred - y_true)
    return np.mean(np.where(e <= delta, 0.5 * e ** 2, delta * (e - 0.5 * delta)), axis=-1)


def categorical_ce(y_true, probs):
    return -np.sum(y_true * np.log(np.clip(probs, 1e-7, 1 - 1e-7)), axis=-1)


def sparse_categorical_ce(labels, probs):
    return -np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-7, 1 - 1e-7))


def ce_from_logits(labels, logits):
    m = logits.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
    return lse - logits[np.arange(len(labels)), labels]


def bce_from_logits(y, z):
    return np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))), axis=-1)


def focal_loss(gamma):
    def loss(y_true, logits):
        p = keras.ops.sigmoid(logits)
        p_t = y_true * p + (1 - y_true) * (1 - p)
        bce = keras.ops.binary_crossentropy(y_true, logits, from_logits=True)
        return keras.ops.mean((1 - p_t) ** gamma * bce, axis=-1)
    return loss


# ------------------------------------------------------------------ plausible mistakes
def rmse(y_true, y_pred):
    return np.sqrt(mse(y_true, y_pred))


def mse_summed(y_true, y_pred):
    return np.sum((y_pred - y_true) ** 2, axis=-1)


def mse_whole_batch(y_true, y_pred):
    return np.mean((y_pred - y_true) ** 2)


def mae_signed(y_true, y_pred):
    return np.mean(y_pred - y_true, axis=-1)


def huber_no_shift(y_true, y_pred, delta):
    e = np.abs(y_pred - y_true)
    return np.mean(np.where(e <= delta, 0.5 * e ** 2, delta * e), axis=-1)


def huber_no_half(y_true, y_pred, delta):
    e = np.abs(y_pred - y_true)
    return np.mean(np.where(e <= delta, e ** 2, delta * (e - 0.5 * delta)), axis=-1)


def huber_delta_one(y_true, y_pred, delta):
    return huber(y_true, y_pred, 1.0)


def categorical_ce_unclipped(y_true, probs):
    return -np.sum(y_true * np.log(probs), axis=-1)


def categorical_ce_hard(y_true, probs):
    return sparse_categorical_ce(y_true.argmax(axis=-1), probs)


def sparse_ce_table(labels, probs):
    return -np.log(np.clip(probs[:, labels], 1e-7, 1 - 1e-7))


def sparse_ce_unclipped(labels, probs):
    return -np.log(probs[np.arange(len(labels)), labels])


def ce_naive(labels, logits):
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return -np.log(p[np.arange(len(labels)), labels])


def ce_mean_over_batch(labels, logits):
    return ce_from_logits(labels, logits).mean()


def ce_of_softmax_as_logits(labels, logits):  # softmax first, then the logits formula again
    m = logits.max(axis=1, keepdims=True)
    p = np.exp(logits - m) / np.exp(logits - m).sum(axis=1, keepdims=True)
    return ce_from_logits(labels, p)


def bce_naive(y, z):
    p = 1 / (1 + np.exp(-z))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p), axis=-1)


def bce_summed(y, z):
    return bce_from_logits(y, z) * y.shape[-1]


def bce_softmax(y, z):
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p = np.clip(p / p.sum(axis=1, keepdims=True), 1e-7, 1 - 1e-7)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p), axis=-1)


def focal_without_factor(gamma):
    return lambda y_true, logits: keras.losses.binary_crossentropy(y_true, logits, from_logits=True)


def focal_in_numpy(gamma):
    def loss(y_true, logits):
        y, z = np.asarray(y_true), np.asarray(logits)
        p = 1 / (1 + np.exp(-z))
        p_t = y * p + (1 - y) * (1 - p)
        return np.mean(-(1 - p_t) ** gamma * np.log(p_t), axis=-1)
    return loss


def focal_factor_on_wrong_probability(gamma):
    def loss(y_true, logits):
        p = keras.ops.sigmoid(logits)
        bce = keras.ops.binary_crossentropy(y_true, logits, from_logits=True)
        return keras.ops.mean((1 - p) ** gamma * bce, axis=-1)
    return loss


def focal_returns_value(gamma):
    return 0.5


# ------------------------------------------------------------------ tests
CORRECT = {q1: {"mse": mse, "mae": mae},
           q2: {"huber": huber},
           q3: {"categorical_ce": categorical_ce, "sparse_categorical_ce": sparse_categorical_ce},
           q4: {"ce_from_logits": ce_from_logits},
           q5: {"bce_from_logits": bce_from_logits},
           q6: {"focal_loss": focal_loss}}

WRONG = {
    "q1": [({"mse": rmse, "mae": mae}, "RMSE"),
           ({"mse": mse_summed, "mae": mae}, "sums over the outputs"),
           ({"mse": mse_whole_batch, "mae": mae}, "one number for the whole batch"),
           ({"mse": mse, "mae": mae_signed}, "absolute value")],
    "q2": [({"huber": huber_no_shift}, "subtract 0.5 * delta**2"),
           ({"huber": huber_no_half}, "not e**2"),
           ({"huber": huber_delta_one}, "ignores its `delta`")],
    "q3": [({"categorical_ce": categorical_ce_unclipped,
             "sparse_categorical_ce": sparse_categorical_ce}, "clip the probabilities"),
           ({"categorical_ce": categorical_ce_hard,
             "sparse_categorical_ce": sparse_categorical_ce}, "only uses the largest target"),
           ({"categorical_ce": categorical_ce, "sparse_categorical_ce": sparse_ce_table},
            "pair row i with labels[i]"),
           ({"categorical_ce": categorical_ce, "sparse_categorical_ce": sparse_ce_unclipped},
            "`sparse_categorical_ce` gives NaN")],
    "q4": [({"ce_from_logits": ce_naive}, "log-sum-exp"),
           ({"ce_from_logits": ce_mean_over_batch}, "one number for the whole batch"),
           ({"ce_from_logits": ce_of_softmax_as_logits}, "ce_from_logits (logits of moderate")],
    "q5": [({"bce_from_logits": bce_naive}, "stable form"),
           ({"bce_from_logits": bce_summed}, "sums over the labels"),
           ({"bce_from_logits": bce_softmax}, "its own sigmoid")],
    "q6": [({"focal_loss": focal_without_factor}, "factor (1 - p_t)**gamma is missing"),
           ({"focal_loss": focal_in_numpy}, "cannot differentiate"),
           ({"focal_loss": focal_factor_on_wrong_probability}, "focal loss per example (gamma=2)"),
           ({"focal_loss": focal_returns_value}, "should return a loss function")],
}


(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(lesson09, CORRECT, WRONG)

