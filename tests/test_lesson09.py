"""Lesson 09: the reference answers pass, plausible wrong answers fail with a specific message."""
import keras
import numpy as np
import tensorflow as tf

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


# ------------------------------------------------------------- correct answers, written differently
def mse_tf(y_true, y_pred):
    return tf.reduce_mean(tf.square(y_pred - y_true), axis=-1)


def mae_tf(y_true, y_pred):
    return tf.reduce_mean(tf.abs(y_pred - y_true), axis=-1)


def mse_loop(y_true, y_pred):
    return np.array([sum((p - t) ** 2 for t, p in zip(row_t, row_p)) / len(row_t)
                     for row_t, row_p in zip(y_true, y_pred)])


def mae_summed_over_d(y_true, y_pred):
    return np.abs(y_true - y_pred).sum(axis=1) / y_true.shape[1]


def huber_clipped_form(y_true, y_pred, delta):  # Keras' own way of writing it
    e = np.abs(y_true - y_pred)
    quadratic = np.minimum(e, delta)
    return np.mean(0.5 * quadratic ** 2 + delta * (e - quadratic), axis=-1)


def huber_tf(y_true, y_pred, delta):
    e = tf.abs(tf.constant(y_pred) - y_true)
    return tf.reduce_mean(tf.where(e > delta, delta * e - 0.5 * delta ** 2, 0.5 * e * e), axis=-1)


def huber_loop(y_true, y_pred, delta):
    out = []
    for row_t, row_p in zip(y_true, y_pred):
        total = 0.0
        for t, p in zip(row_t, row_p):
            e = abs(p - t)
            total += 0.5 * e * e if e <= delta else delta * (e - 0.5 * delta)
        out.append(total / len(row_t))
    return np.array(out)


def categorical_ce_ops(y_true, probs):
    clipped = keras.ops.clip(probs, 1e-7, 1 - 1e-7)
    return -keras.ops.sum(y_true * keras.ops.log(clipped), axis=-1)


def sparse_ce_take_along(labels, probs):
    picked = np.take_along_axis(probs, labels[:, None], axis=1)[:, 0]
    return -np.log(np.clip(picked, 1e-7, 1 - 1e-7))


def categorical_ce_tf(y_true, probs):
    return -tf.reduce_sum(y_true * tf.math.log(tf.clip_by_value(probs, 1e-7, 1 - 1e-7)), axis=1)


def categorical_ce_floor_only(y_true, probs):  # the text allows a lower bound alone
    return -(y_true * np.log(np.maximum(probs, 1e-7))).sum(axis=1)


def sparse_ce_via_onehot(labels, probs):
    return categorical_ce(np.eye(probs.shape[1])[labels], probs)


def ce_logaddexp(labels, logits):
    return np.logaddexp.reduce(logits, axis=1) - logits[np.arange(len(labels)), labels]


def ce_tf(labels, logits):
    picked = tf.gather(logits, labels, axis=1, batch_dims=1)
    return tf.reduce_logsumexp(logits, axis=1) - picked


def ce_row_loop(labels, logits):
    out = []
    for label, row in zip(labels, logits):
        m = max(row)
        out.append(m + np.log(sum(np.exp(z - m) for z in row)) - row[label])
    return np.array(out)


def bce_softplus(y, z):
    return np.mean(np.logaddexp(0.0, z) - z * y, axis=-1)


def bce_tf(y, z):
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z), axis=-1)


def bce_piecewise(y, z):
    positive = z >= 0
    per_label = np.where(positive, z - z * y + np.log1p(np.exp(-np.where(positive, z, -z))),
                         -z * y + np.log1p(np.exp(np.where(positive, -z, z))))
    return per_label.mean(axis=1)


def focal_loss_tf(gamma):
    def loss(y_true, y_pred):
        p = tf.sigmoid(y_pred)
        p_t = y_true * p + (1 - y_true) * (1 - p)
        ce = tf.nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=y_pred)
        return tf.reduce_mean(tf.pow(1 - p_t, gamma) * ce, axis=-1)
    return loss


def focal_loss_log_sigmoid(gamma):
    def loss(y_true, y_pred):
        log_p_t = (y_true * keras.ops.log_sigmoid(y_pred)
                   + (1 - y_true) * keras.ops.log_sigmoid(-y_pred))
        return keras.ops.mean(-keras.ops.power(1 - keras.ops.exp(log_p_t), gamma) * log_p_t,
                              axis=-1)
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


def categorical_ce_tiny_clip(y_true, probs):
    return -np.sum(y_true * np.log(np.clip(probs, 1e-12, 1.0)), axis=-1)


def sparse_ce_table(labels, probs):
    return -np.log(np.clip(probs[:, labels], 1e-7, 1 - 1e-7))


def sparse_ce_unclipped(labels, probs):
    return -np.log(probs[np.arange(len(labels)), labels])


def ce_naive(labels, logits):
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return -np.log(p[np.arange(len(labels)), labels])


def ce_whole_batch_max(labels, logits):  # one maximum for the whole batch
    m = logits.max()
    return m + np.log(np.exp(logits - m).sum(axis=1)) - logits[np.arange(len(labels)), labels]


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
CORRECT = [
    (q1, {"mse": mse, "mae": mae}), (q1, {"mse": mse_tf, "mae": mae_tf}),
    (q1, {"mse": mse_loop, "mae": mae_summed_over_d}),
    (q2, huber), (q2, huber_clipped_form), (q2, huber_tf), (q2, huber_loop),
    (q3, {"categorical_ce": categorical_ce, "sparse_categorical_ce": sparse_categorical_ce}),
    (q3, {"categorical_ce": categorical_ce_ops, "sparse_categorical_ce": sparse_ce_take_along}),
    (q3, {"categorical_ce": categorical_ce_tf, "sparse_categorical_ce": sparse_ce_via_onehot}),
    (q3, {"categorical_ce": categorical_ce_floor_only,
          "sparse_categorical_ce": sparse_categorical_ce}),
    (q4, ce_from_logits), (q4, ce_logaddexp), (q4, ce_tf), (q4, ce_row_loop),
    (q5, bce_from_logits), (q5, bce_softplus), (q5, bce_tf), (q5, bce_piecewise),
    (q6, focal_loss), (q6, focal_loss_tf), (q6, focal_loss_log_sigmoid),
]

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
           ({"categorical_ce": categorical_ce_tiny_clip,
             "sparse_categorical_ce": sparse_categorical_ce},
            "categorical_ce (a true class with probability exactly 0)"),
           ({"categorical_ce": categorical_ce, "sparse_categorical_ce": sparse_ce_table},
            "pair row i with labels[i]"),
           ({"categorical_ce": categorical_ce, "sparse_categorical_ce": sparse_ce_unclipped},
            "`sparse_categorical_ce` gives NaN")],
    "q4": [({"ce_from_logits": ce_naive}, "log-sum-exp"),
           ({"ce_from_logits": ce_whole_batch_max}, "one maximum for the whole batch"),
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

