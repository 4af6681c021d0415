"""Checks of lesson 06 · Normalization.

Expected values come from Keras: a ``BatchNormalization`` layer holding the student's gamma and
beta (run with ``training=True`` and momentum 0 for the batch statistics, ``training=False`` with
set moving statistics for inference, three training steps for the momentum update),
``LayerNormalization`` and ``GroupNormalization`` for the axes and for group norm, and the
lesson's CNN built here for the three block orders. Every formula with an ``eps`` is also run
with another ``eps``.
"""
from __future__ import annotations

import keras
import numpy as np

from .core import question

ORDERS = ("conv-relu", "conv-bn-relu", "conv-relu-bn")
NORM_KINDS = ("batch", "layer", "instance")


# ----------------------------------------------------------------------------- helpers
def _data(seed: int, shape, loc: float = 2.0, scale: float = 3.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(loc, scale, shape).astype(np.float32)


def _params(seed: int, channels: int):
    rng = np.random.default_rng(seed)
    gamma = rng.uniform(0.5, 2.0, channels).astype(np.float32)
    beta = rng.normal(0.0, 1.0, channels).astype(np.float32)
    return gamma, beta


def _keras_bn(x, gamma, beta, eps, momentum=0.0, moving=None, training=True):
    """Run keras BatchNormalization on x with the given weights; return (output, layer)."""
    layer = keras.layers.BatchNormalization(epsilon=eps, momentum=momentum)
    layer.build(x.shape)
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    if moving is not None:
        layer.moving_mean.assign(moving[0])
        layer.moving_variance.assign(moving[1])
    out = np.asarray(layer(x, training=training))
    return out, layer


def _tuple(value, name: str, what: tuple, t):
    """Validate that a function returned a tuple of ``len(what)`` things."""
    if not isinstance(value, (tuple, list)) or len(value) != len(what):
        got = f"{len(value)} things" if isinstance(value, (tuple, list)) else f"a {type(value).__name__}"
        t.fail(f"`{name}` should return a tuple ({', '.join(what)}), but it returned {got}.")
    return value


# ----------------------------------------------------------------------------- q1
@question(names=["batchnorm_train"], hints=[
    "The statistics are per channel: average over every axis except the last one "
    "(`axis=tuple(range(x.ndim - 1))`).",
    "Use the plain (biased) variance `np.var` (divide by the count, not count − 1), and put "
    "`eps` inside the square root: `(x - mean) / np.sqrt(var + eps)`.",
    "Return three things: `gamma * x_hat + beta`, the per-channel mean and the per-channel "
    "variance, each of the last two with shape (C,).",
])
def q1(t, batchnorm_train):
    """batch normalization in training mode (batch statistics)"""
    cases = [
        ("a (8, 5) batch of feature vectors", _data(0, (8, 5)), 1e-3),
        ("a (4, 6, 5, 3) batch of non-square images", _data(1, (4, 6, 5, 3)), 1e-3),
        ("a (2, 3, 3, 64) batch with 64 channels", _data(2, (2, 3, 3, 64), loc=-1.0), 1e-3),
        ("a (6, 4, 4, 2) batch with eps=0.1", _data(3, (6, 4, 4, 2), scale=0.3), 0.1),
    ]
    constant = _data(4, (5, 4, 4, 2))
    constant[..., 1] = 7.0
    cases.append(("a (5, 4, 4, 2) batch whose channel 1 is constant (variance 0)", constant, 1e-3))
    for k, (name, x, eps) in enumerate(cases):
        gamma, beta = _params(k, x.shape[-1])
        expected, layer = _keras_bn(x, gamma, beta, eps, momentum=0.0)
        y, mean, var = _tuple(t.call(batchnorm_train, x.copy(), gamma, beta, eps, where=name),
                              "batchnorm_train", ("y", "mean", "var"), t)
        # with momentum 0 the layer's moving statistics are exactly this batch's statistics
        t.array(mean, np.asarray(layer.moving_mean), f"mean for {name}", rtol=1e-4, atol=1e-4)
        if not t.array(var, np.asarray(layer.moving_variance), f"var for {name}", rtol=1e-4,
                       atol=1e-4):
            unbiased = x.astype(np.float64).var(axis=tuple(range(x.ndim - 1)), ddof=1)
            mistake = t.mistake(var, [(unbiased, f"`var` for {name} is the unbiased variance "
                                       "(divided by count − 1); batch normalization divides by "
                                       "the count.")], rtol=1e-4, atol=1e-4)
            if mistake:
                t.fail(mistake)
        t.array(y, expected, f"y for {name}", rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------- q2
@question(names=["batchnorm_inference"], hints=[
    "At inference nothing is computed from the batch: use the stored `moving_mean` and `moving_var`.",
    "`gamma * (x - moving_mean) / np.sqrt(moving_var + eps) + beta`; broadcasting over the last "
    "axis does the rest.",
])
def q2(t, batchnorm_inference):
    """batch normalization in inference mode (moving statistics)"""
    cases = [
        ("a (8, 5) batch of feature vectors", _data(10, (8, 5)), 1e-3),
        ("a (3, 5, 7, 4) batch of non-square images", _data(11, (3, 5, 7, 4)), 1e-3),
        ("a single (1, 4, 4, 3) image", _data(12, (1, 4, 4, 3)), 1e-3),
        ("moving variances as small as eps", _data(13, (4, 2, 2, 6), scale=0.01), 1e-3),
        ("eps=0.1 with moving variances of that size", _data(14, (5, 3, 3, 4), scale=0.3), 0.1),
    ]
    for k, (name, x, eps) in enumerate(cases):
        channels = x.shape[-1]
        gamma, beta = _params(20 + k, channels)
        rng = np.random.default_rng(30 + k)
        moving_mean = rng.normal(0.0, 2.0, channels).astype(np.float32)
        moving_var = rng.uniform(0.5, 3.0, channels).astype(np.float32)
        if "small" in name:
            moving_var = rng.uniform(1e-4, 2e-3, channels).astype(np.float32)
        if eps > 1e-3:
            moving_var = rng.uniform(0.05, 0.2, channels).astype(np.float32)
        expected, _ = _keras_bn(x, gamma, beta, eps, moving=(moving_mean, moving_var),
                                training=False)
        y = t.call(batchnorm_inference, x.copy(), gamma, beta, moving_mean.copy(),
                   moving_var.copy(), eps, where=name)
        if not t.array(y, expected, f"y for {name}", rtol=1e-4, atol=1e-4) and x.shape[0] > 1:
            with_batch_stats, _ = _keras_bn(x, gamma, beta, eps, training=True)
            mistake = t.mistake(y, [(with_batch_stats, f"For {name} you normalized with the "
                                     "batch's own mean and variance; at inference use "
                                     "`moving_mean` and `moving_var`.")], rtol=1e-4, atol=1e-4)
            if mistake:
                t.fail(mistake)


# ----------------------------------------------------------------------------- q3
@question(names=["update_moving_stats"], hints=[
    "Each training step keeps a fraction `momentum` of the old moving value and adds a fraction "
    "`1 - momentum` of the new batch value.",
    "`new_mean = momentum * moving_mean + (1 - momentum) * batch_mean`, and the same for the variance.",
])
def q3(t, update_moving_stats):
    """the momentum update of the moving statistics"""
    for momentum, shape in ((0.99, (16, 3)), (0.9, (4, 5, 3, 6)), (0.0, (8, 2))):
        name = f"momentum {momentum} on batches of shape {shape}"
        channels = shape[-1]
        rng = np.random.default_rng(int(momentum * 100))
        mean = rng.normal(0.0, 1.0, channels).astype(np.float32)
        var = rng.uniform(0.5, 2.0, channels).astype(np.float32)
        layer = keras.layers.BatchNormalization(momentum=momentum)
        layer.build(shape)
        layer.moving_mean.assign(mean)
        layer.moving_variance.assign(var)
        for step in range(3):
            x = _data(100 + step, shape, loc=step, scale=1.0 + step)
            axes = tuple(range(x.ndim - 1))
            batch_mean, batch_var = x.mean(axis=axes), x.var(axis=axes)
            answer = _tuple(t.call(update_moving_stats, mean.copy(), var.copy(), batch_mean,
                                   batch_var, momentum, where=f"step {step + 1}, {name}"),
                            "update_moving_stats", ("new_mean", "new_var"), t)
            layer(x, training=True)
            mean_ok = t.array(answer[0], np.asarray(layer.moving_mean),
                              f"new_mean after step {step + 1}, {name}", rtol=1e-4, atol=1e-5)
            var_ok = t.array(answer[1], np.asarray(layer.moving_variance),
                             f"new_var after step {step + 1}, {name}", rtol=1e-4, atol=1e-5)
            if not (mean_ok and var_ok):
                swapped = (1 - momentum) * mean + momentum * batch_mean
                mistake = t.mistake(answer[0], [(swapped, f"The weights look swapped ({name}): "
                                                 "`momentum` multiplies the OLD moving value, "
                                                 "`1 - momentum` the batch value.")],
                                    rtol=1e-4, atol=1e-4)
                if mistake:
                    t.fail(mistake)
                return
            mean, var = np.asarray(answer[0], np.float32), np.asarray(answer[1], np.float32)


# ----------------------------------------------------------------------------- q4
@question(names=["steps_to_forget"], hints=[
    "After k steps the starting value still has weight `momentum ** k` in the moving average.",
    "Count k = 0, 1, 2, ... and stop at the first k with `momentum ** k < fraction` (strictly less).",
    "A closed form with `math.log` is tempting, but check what happens when `momentum ** k` "
    "equals `fraction` exactly (e.g. momentum 0.5, fraction 0.25).",
])
def q4(t, steps_to_forget):
    """how many steps until the moving statistics forget their start"""
    cases = [(0.99, 0.01), (0.9, 0.01), (0.5, 0.25), (0.999, 0.5), (0.0, 0.01), (0.9, 2.0)]
    for momentum, fraction in cases:
        expected = 0
        while momentum ** expected >= fraction:
            expected += 1
        where = f"momentum={momentum}, fraction={fraction}"
        k = t.whole(t.call(steps_to_forget, momentum, fraction, where=where),
                    f"steps_to_forget({momentum}, {fraction})")
        t.case(k == expected, f"`steps_to_forget({momentum}, {fraction})` is wrong"
               + (" by one" if abs(k - expected) == 1 else "") + ".")


# ----------------------------------------------------------------------------- q5
def _axes_of(value, kind: str, t):
    """The axes of one entry as a tuple of axis numbers 0..3 (negative axes counted from the
    end; a single axis may be given alone), or a FAIL."""
    if isinstance(value, np.ndarray) and value.ndim == 1:
        value = value.tolist()
    if not isinstance(value, (tuple, list)):
        value = (value,)
    if not value or isinstance(value[0], (tuple, list)):
        t.fail(f"`norm_axes['{kind}']` should be a tuple of axis numbers, e.g. (1, 2).")
    value = t.shape(value, f"norm_axes['{kind}']")
    if any(not -4 <= a <= 3 for a in value):
        t.fail(f"`norm_axes['{kind}']` names an axis that an (N, H, W, C) tensor does not have.")
    normal = [int(a) % 4 for a in value]
    if len(set(normal)) != len(normal):
        t.fail(f"`norm_axes['{kind}']` names the same axis twice.")
    return tuple(normal)


@question(names=["norm_axes"], hints=[
    "Ask, for each method: which numbers share one mean? Batch norm: one mean per channel. "
    "Layer norm: one per example. Instance norm: one per example AND channel.",
    "Axes of an (N, H, W, C) tensor are 0 = batch, 1 = height, 2 = width, 3 = channels. "
    "The axes you list are the ones averaged away.",
])
def q5(t, norm_axes):
    """which axes batch, layer and instance normalization average over"""
    if not isinstance(norm_axes, dict):
        t.fail(f"`norm_axes` should be a dict with keys {list(NORM_KINDS)}, "
               f"not a {type(norm_axes).__name__}.")
    missing = [k for k in NORM_KINDS if k not in norm_axes]
    if missing:
        t.fail(f"`norm_axes` has no key(s) {missing}.")
    x = _data(50, (4, 5, 6, 3))
    references = {
        "batch": keras.layers.BatchNormalization(momentum=0.0),
        "layer": keras.layers.LayerNormalization(axis=[1, 2, 3]),
        "instance": keras.layers.GroupNormalization(groups=x.shape[-1]),
    }
    for kind in NORM_KINDS:
        axes = _axes_of(norm_axes[kind], kind, t)
        expected = np.asarray(references[kind](x, training=True))
        x64 = x.astype(np.float64)
        mine = (x64 - x64.mean(axis=axes, keepdims=True)) / np.sqrt(
            x64.var(axis=axes, keepdims=True) + 1e-3)
        t.case(np.allclose(mine, expected, rtol=1e-4, atol=1e-4),
               f"`norm_axes['{kind}']` averages over the wrong axes: normalizing an (N, H, W, C) "
               f"tensor over them does not give what {kind} normalization gives.")


# ----------------------------------------------------------------------------- q6
@question(names=["group_norm"], hints=[
    "Reshape (N, H, W, C) to (N, H, W, groups, C // groups): channels 0..C/G−1 form group 0, "
    "the next C/G channels group 1, and so on.",
    "Take the mean and the variance over the height, width and within-group channel axes "
    "(1, 2, 4) with `keepdims=True`, normalize, reshape back, then apply gamma and beta per channel.",
])
def q6(t, group_norm):
    """group normalization in NumPy (and layer/instance norm as its special cases)"""
    cases = [
        ("shape (2, 4, 5, 6) with 3 groups", (2, 4, 5, 6), 3, 3.0, 1e-3),
        ("groups=1 (layer normalization) on shape (3, 4, 4, 4)", (3, 4, 4, 4), 1, 3.0, 1e-3),
        ("groups=C (instance normalization) on shape (2, 5, 3, 4)", (2, 5, 3, 4), 4, 3.0, 1e-3),
        ("a single (1, 3, 7, 8) image with 4 groups", (1, 3, 7, 8), 4, 3.0, 1e-3),
        ("eps=0.1 on shape (2, 3, 3, 6) with 2 groups and small values", (2, 3, 3, 6), 2, 0.3,
         0.1),
    ]
    for k, (name, shape, groups, scale, eps) in enumerate(cases):
        x = _data(60 + k, shape, scale=scale)
        gamma, beta = _params(70 + k, shape[-1])
        layer = keras.layers.GroupNormalization(groups=groups, epsilon=eps)
        layer.build(shape)
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
        expected = np.asarray(layer(x))
        y = t.call(group_norm, x.copy(), groups, gamma, beta, eps, where=name)
        if not t.array(y, expected, f"y for {name}", rtol=1e-4, atol=1e-4) and 1 < groups < shape[-1]:
            n, h, w, c = shape
            strided = x.reshape(n, h, w, c // groups, groups)
            strided = (strided - strided.mean(axis=(1, 2, 3), keepdims=True)) / np.sqrt(
                strided.var(axis=(1, 2, 3), keepdims=True) + eps)
            mistake = t.mistake(y, [(strided.reshape(shape) * gamma + beta, f"For {name} your "
                                     "groups take every G-th channel; a group is a run of "
                                     "consecutive channels.")], rtol=1e-4, atol=1e-4)
            if mistake:
                t.fail(mistake)


# ----------------------------------------------------------------------------- q7
def reference_cnn(order: str):
    """The small CNN of the lesson's experiments, for one block order."""
    layers = keras.layers

    model = keras.Sequential([keras.Input((28, 28, 1))])
    for filters in (16, 32):
        model.add(layers.Conv2D(filters, 3, padding="same", use_bias=order != "conv-bn-relu"))
        if order == "conv-bn-relu":
            model.add(layers.BatchNormalization(momentum=0.9))
        model.add(layers.ReLU())
        if order == "conv-relu-bn":
            model.add(layers.BatchNormalization(momentum=0.9))
        model.add(layers.MaxPooling2D(2))
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation="relu"))
    model.add(layers.Dense(10, activation="softmax"))
    return model


@question(names=["build_cnn"], hints=[
    "Start from `keras.Sequential([keras.Input((28, 28, 1))])` and `add` the layers of each block "
    "in the order the string spells.",
    "A bias right before a BatchNormalization is wasted: BN subtracts the mean (removing any "
    "constant) and adds its own beta. Use `use_bias=False` only in that case.",
    "After the two blocks: Flatten, Dense(64, relu), Dense(10, softmax). Use "
    "BatchNormalization(momentum=0.9).",
])
def q7(t, build_cnn):
    """the experiment's CNN with three block orders"""
    for order in ORDERS:
        model = t.call(build_cnn, order, where=f"order '{order}'")
        t.model(model, reference_cnn(order), f"build_cnn('{order}')")
