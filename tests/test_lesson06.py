"""Lesson 06 checks: correct answers PASS, plausible student mistakes FAIL with a clear message."""
import math

import keras
import numpy as np
import tensorflow as tf
from helpers import answer_tests
from keras import layers

from utils.checks import lesson06 as L


# ----------------------------------------------------------------------------- correct answers
def batchnorm_train(x, gamma, beta, eps=1e-3):
    axes = tuple(range(x.ndim - 1))
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta, mean, var


def batchnorm_inference(x, gamma, beta, moving_mean, moving_var, eps=1e-3):
    return gamma * (x - moving_mean) / np.sqrt(moving_var + eps) + beta


def update_moving_stats(moving_mean, moving_var, batch_mean, batch_var, momentum):
    return (momentum * moving_mean + (1 - momentum) * batch_mean,
            momentum * moving_var + (1 - momentum) * batch_var)


def steps_to_forget(momentum, fraction):
    k = 0
    while momentum ** k >= fraction:
        k += 1
    return k


NORM_AXES = {"batch": (0, 1, 2), "layer": (1, 2, 3), "instance": (1, 2)}


def group_norm(x, groups, gamma, beta, eps=1e-3):
    n, h, w, c = x.shape
    g = x.reshape(n, h, w, groups, c // groups)
    g = (g - g.mean(axis=(1, 2, 4), keepdims=True)) / np.sqrt(g.var(axis=(1, 2, 4), keepdims=True) + eps)
    return g.reshape(x.shape) * gamma + beta


def batchnorm_train_tf(x, gamma, beta, eps=1e-3):
    """tf.nn.moments and tf.nn.batch_normalization; tensors out."""
    axes = list(range(len(x.shape) - 1))
    mean, var = tf.nn.moments(tf.constant(x), axes=axes)
    return tf.nn.batch_normalization(x, mean, var, beta, gamma, eps), mean, var


def batchnorm_train_flat(x, gamma, beta, eps=1e-3):
    """Every channel in a column: sums divided by the count, written out."""
    flat = x.reshape(-1, x.shape[-1]).astype(np.float64)
    mean = flat.sum(axis=0) / len(flat)
    var = ((flat - mean) ** 2).sum(axis=0) / len(flat)
    y = (flat - mean) / np.sqrt(var + eps) * gamma + beta
    return y.reshape(x.shape), mean, var


def inference_folded(x, gamma, beta, moving_mean, moving_var, eps=1e-3):
    scale = gamma / np.sqrt(moving_var + eps)          # one multiplier and one offset per channel
    return x * scale + (beta - moving_mean * scale)


def inference_tf(x, gamma, beta, moving_mean, moving_var, eps=1e-3):
    return tf.nn.batch_normalization(x, moving_mean, moving_var, beta, gamma, eps).numpy()


def update_as_step(moving_mean, moving_var, batch_mean, batch_var, momentum):
    """Move a step (1 - momentum) of the way towards the batch value; a list of two."""
    return [moving_mean + (1 - momentum) * (batch_mean - moving_mean),
            moving_var + (1 - momentum) * (batch_var - moving_var)]


def update_keras_ops(moving_mean, moving_var, batch_mean, batch_var, momentum):
    new = [keras.ops.add(keras.ops.multiply(momentum, old), keras.ops.multiply(1 - momentum, b))
           for old, b in ((moving_mean, batch_mean), (moving_var, batch_var))]
    return tuple(new)


def forget_closed_form_exact(momentum, fraction):
    """The logarithm, corrected where momentum ** k equals the fraction exactly."""
    if fraction > 1:
        return 0
    if momentum == 0:
        return 1
    k = max(math.ceil(math.log(fraction) / math.log(momentum)), 0)
    while momentum ** k >= fraction:
        k += 1
    return np.int64(k)


def forget_float(momentum, fraction):
    """A whole number held in a float (k counted with k += 1.0)."""
    k = 0.0
    while momentum ** k >= fraction:
        k += 1.0
    return k


def group_norm_flat(x, groups, gamma, beta, eps=1e-3):
    """Height and width merged into one axis: (N, H*W, groups, C // groups)."""
    n, h, w, c = x.shape
    g = x.reshape(n, h * w, groups, c // groups)
    g = (g - g.mean(axis=(1, 3), keepdims=True)) / np.sqrt(g.var(axis=(1, 3), keepdims=True) + eps)
    return g.reshape(x.shape) * gamma + beta


def group_norm_loop(x, groups, gamma, beta, eps=1e-3):
    """One slice of consecutive channels at a time."""
    size = x.shape[-1] // groups
    out = np.empty_like(x, dtype=np.float64)
    for g in range(groups):
        part = x[..., g * size:(g + 1) * size].astype(np.float64)
        mean = part.mean(axis=(1, 2, 3), keepdims=True)
        var = part.var(axis=(1, 2, 3), keepdims=True)
        out[..., g * size:(g + 1) * size] = (part - mean) / np.sqrt(var + eps)
    return out * gamma + beta


def functional_cnn(order):
    """The functional API with tf.nn activations (a layer or fused), tf.nn.softmax at the end."""
    inputs = keras.Input((28, 28, 1))
    x = inputs
    for filters in (16, 32):
        if order == "conv-bn-relu":
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = layers.Activation(tf.nn.relu)(layers.BatchNormalization(momentum=0.9)(x))
        else:
            x = layers.Conv2D(filters, 3, padding="same", activation=tf.nn.relu)(x)
            if order == "conv-relu-bn":
                x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.MaxPooling2D(pool_size=2)(x)
    x = layers.Dense(64, activation=tf.nn.relu)(layers.Flatten()(x))
    return keras.Model(inputs, layers.Dense(10, activation=tf.nn.softmax)(x))


def fused_cnn(order):
    """The same CNN written with fused activations (equivalent, must pass)."""
    blocks = []
    for filters in (16, 32):
        if order == "conv-bn-relu":
            blocks += [layers.Conv2D(filters, 3, padding="same", use_bias=False),
                       layers.BatchNormalization(momentum=0.9), layers.Activation("relu")]
        else:
            blocks.append(layers.Conv2D(filters, 3, padding="same", activation="relu"))
            if order == "conv-relu-bn":
                blocks.append(layers.BatchNormalization(momentum=0.9))
        blocks.append(layers.MaxPooling2D())
    return keras.Sequential([keras.Input((28, 28, 1)), *blocks, layers.Flatten(),
                             layers.Dense(64, activation="relu"),
                             layers.Dense(10), layers.Softmax()])


CORRECT = [
    (L.q1, batchnorm_train), (L.q1, batchnorm_train_tf), (L.q1, batchnorm_train_flat),
    (L.q2, batchnorm_inference), (L.q2, inference_folded), (L.q2, inference_tf),
    (L.q3, update_moving_stats), (L.q3, update_as_step), (L.q3, update_keras_ops),
    (L.q4, steps_to_forget), (L.q4, forget_closed_form_exact), (L.q4, forget_float),
    (L.q5, {"norm_axes": NORM_AXES}),   # a dict answer is given by name
    (L.q5, {"norm_axes": {"batch": [2, 1, 0], "layer": (-3, -2, -1), "instance": (1, 2)}}),
    (L.q5, {"norm_axes": {"batch": np.array([0, 1, 2]), "layer": (1.0, 2.0, 3.0),
                          "instance": [2, 1], "group": "not asked"}}),
    (L.q6, group_norm), (L.q6, group_norm_flat), (L.q6, group_norm_loop),
    (L.q7, L.reference_cnn), (L.q7, fused_cnn), (L.q7, functional_cnn),
]


# ----------------------------------------------------------------------------- wrong answers
def bn_unbiased(x, gamma, beta, eps=1e-3):
    axes = tuple(range(x.ndim - 1))
    mean, var = x.mean(axis=axes), x.var(axis=axes, ddof=1)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta, mean, var


def bn_batch_axis_only(x, gamma, beta, eps=1e-3):
    mean, var = x.mean(axis=0), x.var(axis=0)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta, mean, var


def bn_no_eps(x, gamma, beta, eps=1e-3):
    axes = tuple(range(x.ndim - 1))
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    return gamma * (x - mean) / np.sqrt(var) + beta, mean, var


def bn_only_y(x, gamma, beta, eps=1e-3):
    return batchnorm_train(x, gamma, beta, eps)[0]


def inference_with_batch_stats(x, gamma, beta, moving_mean, moving_var, eps=1e-3):
    return batchnorm_train(x, gamma, beta, eps)[0]


def inference_eps_outside(x, gamma, beta, moving_mean, moving_var, eps=1e-3):
    return gamma * (x - moving_mean) / (np.sqrt(moving_var) + eps) + beta


def update_swapped(moving_mean, moving_var, batch_mean, batch_var, momentum):
    return update_moving_stats(moving_mean, moving_var, batch_mean, batch_var, 1 - momentum)


def update_only_mean(moving_mean, moving_var, batch_mean, batch_var, momentum):
    return momentum * moving_mean + (1 - momentum) * batch_mean, moving_var


def forget_closed_form(momentum, fraction):
    if momentum == 0:
        return 1
    if fraction > 1:
        return 0
    return math.ceil(math.log(fraction) / math.log(momentum))


def forget_log_unrounded(momentum, fraction):
    return math.log(fraction) / math.log(momentum) if 0 < momentum and fraction <= 1 else 1.0


def inference_default_eps(x, gamma, beta, moving_mean, moving_var, eps=1e-3):
    return batchnorm_inference(x, gamma, beta, moving_mean, moving_var)


def group_norm_default_eps(x, groups, gamma, beta, eps=1e-3):
    return group_norm(x, groups, gamma, beta)


def group_norm_strided(x, groups, gamma, beta, eps=1e-3):
    n, h, w, c = x.shape
    g = x.reshape(n, h, w, c // groups, groups)
    g = (g - g.mean(axis=(1, 2, 3), keepdims=True)) / np.sqrt(g.var(axis=(1, 2, 3), keepdims=True) + eps)
    return g.reshape(x.shape) * gamma + beta


def group_norm_with_batch(x, groups, gamma, beta, eps=1e-3):
    n, h, w, c = x.shape
    g = x.reshape(n, h, w, groups, c // groups)
    g = (g - g.mean(axis=(0, 1, 2, 4), keepdims=True)) / np.sqrt(
        g.var(axis=(0, 1, 2, 4), keepdims=True) + eps)
    return g.reshape(x.shape) * gamma + beta


def cnn_bias_before_bn(order):
    model = L.reference_cnn(order)
    if order != "conv-bn-relu":
        return model
    import keras

    config = model.get_config()
    for layer in config["layers"]:
        if layer["class_name"] == "Conv2D":
            layer["config"]["use_bias"] = True
    return keras.Sequential.from_config(config)


def cnn_order_ignored(order):
    return L.reference_cnn("conv-bn-relu" if order == "conv-relu-bn" else order)


def cnn_default_momentum(order):
    import keras

    config = L.reference_cnn(order).get_config()
    for layer in config["layers"]:
        if layer["class_name"] == "BatchNormalization":
            layer["config"]["momentum"] = 0.99
    return keras.Sequential.from_config(config)


WRONG = {
    "q1": [({"batchnorm_train": bn_unbiased}, "unbiased variance"),
           ({"batchnorm_train": bn_batch_axis_only}, "shape"),
           ({"batchnorm_train": bn_no_eps}, "y for a (6, 4, 4, 2) batch with eps=0.1"),
           ({"batchnorm_train": bn_only_y}, "should return a tuple (y, mean, var)")],
    "q2": [({"batchnorm_inference": inference_with_batch_stats}, "batch's own mean and variance"),
           ({"batchnorm_inference": inference_default_eps}, "y for eps=0.1"),
           ({"batchnorm_inference": inference_eps_outside}, "y for a (8, 5) batch of feature vectors")],
    "q3": [({"update_moving_stats": update_swapped}, "weights look swapped"),
           ({"update_moving_stats": update_only_mean}, "new_var after step 1")],
    "q4": [({"steps_to_forget": forget_closed_form}, "steps_to_forget(0.5, 0.25)` is wrong by one"),
           ({"steps_to_forget": forget_log_unrounded}, "not a whole number")],
    "q5": [({"norm_axes": {**NORM_AXES, "layer": (0, 1, 2, 3)}}, "`norm_axes['layer']` averages over the wrong axes"),
           ({"norm_axes": {**NORM_AXES, "instance": (1, 2, 3)}}, "`norm_axes['instance']`"),
           ({"norm_axes": {"batch": (0, 1, 2)}}, "has no key(s)"),
           ({"norm_axes": {**NORM_AXES, "batch": (0, 4)}}, "does not have"),
           ({"norm_axes": {**NORM_AXES, "instance": (1.5, 2)}}, "not a whole number"),
           ({"norm_axes": {**NORM_AXES, "batch": 0}}, "`norm_axes['batch']` averages over the wrong axes")],
    "q6": [({"group_norm": group_norm_strided}, "every G-th channel"),
           ({"group_norm": group_norm_default_eps}, "y for eps=0.1"),
           ({"group_norm": group_norm_with_batch}, "y for shape (2, 4, 5, 6) with 3 groups")],
    "q7": [({"build_cnn": cnn_bias_before_bn}, "`use_bias` = True"),
           ({"build_cnn": cnn_order_ignored}, "build_cnn('conv-relu-bn')"),
           ({"build_cnn": cnn_default_momentum}, "`momentum` = 0.99")],
}


(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(L, CORRECT, WRONG)
