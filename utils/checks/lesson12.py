"""Checks of lesson 12 · Regularization and deep-network pathologies.

Expected values come from Keras and TensorFlow at check time: the weight penalty from
``model.losses`` of a model whose kernels carry ``L1L2`` regularizers (the student's function may
get a copy without regularizers: the penalty depends on the kernels only), the dropout scale from
``keras.layers.Dropout`` and ``SpatialDropout2D``, gradients from ``tf.GradientTape``, clipping
from ``tf.clip_by_value``, ``tf.clip_by_norm`` and ``tf.clip_by_global_norm``, and the residual
block's size and outputs from a reference block holding the same weights.
"""
from __future__ import annotations

import zlib

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from .compare import layer_steps
from .core import question


# ---------------------------------------------------------------------------------- helpers
def _set_random_weights(model, rng) -> None:
    """Random weights everywhere (biases and BatchNorm parameters too); BatchNorm variances and
    scales stay positive, so that inference mode is well defined."""
    for weight in model.weights:
        value = rng.normal(0, 0.5, size=weight.shape)
        if weight.name in ("moving_variance", "gamma"):
            value = np.abs(value) + 0.5
        weight.assign(value.astype(np.float32))


# --------------------------------------------------------------------------------------- q1
def _penalty_model(l1: float, l2: float, rng, regularized: bool = True):
    reg = keras.regularizers.L1L2(l1=l1, l2=l2) if regularized else None
    model = keras.Sequential([
        keras.Input((6, 5, 2)),
        keras.layers.Conv2D(3, 3, kernel_regularizer=reg),
        keras.layers.BatchNormalization(),
        keras.layers.Flatten(),
        keras.layers.Dense(4, kernel_regularizer=reg),
        keras.layers.Dense(2, kernel_regularizer=reg)])
    _set_random_weights(model, rng)  # biases and BatchNorm parameters are non-zero too
    return model


def _penalty_cases(rng):
    """(description, model given to the student, l1, l2, expected penalty from Keras)."""
    cases = []
    for l1, l2 in [(0.01, 0.0), (0.0, 0.005), (0.003, 0.02), (0.0, 0.0)]:
        model = _penalty_model(l1, l2, rng)
        cases.append((f"l1={l1}, l2={l2}", model, l1, l2, float(sum(model.losses))))
    l1, l2 = 0.004, 0.01
    plain = _penalty_model(l1, l2, rng, regularized=False)
    penalized = _penalty_model(l1, l2, rng)
    penalized.set_weights(plain.get_weights())
    cases.append((f"a model without regularizers, l1={l1}, l2={l2}", plain, l1, l2,
                  float(sum(penalized.losses))))
    return cases


@question(names=["weight_penalty"], hints=[
    "Loop over `model.layers` and keep the layers that have a `kernel` attribute "
    "(`hasattr(layer, 'kernel')`); biases and BatchNorm parameters are not penalized.",
    "L1 adds l1 * sum(|w|) and L2 adds l2 * sum(w ** 2) over every entry of every kernel: "
    "sums, not means, and no factor 1/2.",
    "`np.asarray(layer.kernel)` (or `layer.kernel.numpy()`) gives the kernel as a NumPy array; "
    "use the `l1` and `l2` you are given, whatever the model's layers carry."])
def q1(t, weight_penalty):
    """the L1/L2 penalty Keras adds to the loss"""
    rng = np.random.default_rng(1201)
    for where, model, l1, l2, expected in _penalty_cases(rng):
        carried = float(sum(model.losses))
        out = t.call(weight_penalty, model, l1, l2, where=where)
        got = t.number(out, f"weight_penalty(model, {where})")
        if np.isclose(got, expected, rtol=1e-4, atol=1e-7):
            t.case(True, "")
        elif np.isclose(got, carried, rtol=1e-4, atol=1e-7):
            t.case(False, f"weight_penalty on {where} follows the regularizers the model carries "
                          "(`model.losses`, empty here), not the l1 and l2 it is given: compute "
                          "the penalty from the kernels themselves.")
        else:
            t.case(False, f"weight_penalty(model, {where}) does not match the penalty Keras adds"
                   + (" (it should be 0 when l1 = l2 = 0)." if l1 == l2 == 0 else
                      " (only kernels, sums over all entries, L2 without a factor 1/2)."))


# --------------------------------------------------------------------------------------- q2
def _keras_scale(layer_cls, rate: float, shape) -> float:
    """The value Keras gives a kept 1.0 in training mode (the inverted-dropout scale)."""
    out = np.asarray(layer_cls(rate, seed=0)(np.ones(shape, np.float32), training=True))
    return float(out.max())


@question(names=["dropout"], hints=[
    "Draw `keep = rng.random(x.shape) >= rate`: every entry is kept with probability 1 - rate.",
    "Multiply the kept entries by 1 / (1 - rate) so that the expected value of every entry is "
    "unchanged; with `training=False` return `x` itself, untouched.",
    "Do not modify `x` in place, and take all randomness from `rng` (not `np.random`)."])
def q2(t, dropout):
    """inverted dropout, training and inference"""
    rng = np.random.default_rng(1202)
    x = rng.normal(size=(3, 4, 5))
    out = t.call(dropout, x.copy(), 0.5, False, np.random.default_rng(0), where="training=False")
    t.array(out, x, "dropout(x, rate=0.5, training=False) (inference must return x unchanged)")
    out = t.call(dropout, x.copy(), 0.0, True, np.random.default_rng(0), where="rate=0")
    t.array(out, x, "dropout(x, rate=0.0, training=True) (nothing is dropped at rate 0)")

    for rate in (0.2, 0.5, 0.75):
        x = rng.uniform(1.0, 2.0, size=(400, 250))
        kept_scale = _keras_scale(keras.layers.Dropout, rate, (4, 50))
        original = x.copy()
        out = t.call(dropout, x, rate, True, np.random.default_rng(7), where=f"rate={rate}")
        got = t.numbers(out, f"dropout(x, rate={rate}, training=True)", shape=x.shape)
        t.case(np.array_equal(x, original), f"dropout(rate={rate}) changed its input `x` in place.")
        dropped = got == 0
        t.case(abs(dropped.mean() - rate) < 0.01,
               f"with rate={rate} you dropped {dropped.mean():.1%} of the entries; the share of "
               "zeros should be close to the rate (the rate is the probability of DROPPING).")
        ratio = got[~dropped] / original[~dropped]
        t.case(ratio.size > 0 and np.allclose(ratio, kept_scale, rtol=1e-5),
               f"with rate={rate} the kept entries are not scaled like Keras' Dropout in training "
               "(inverted dropout rescales what it keeps so the mean stays the same).")
    x = np.ones((50, 40))
    first = t.call(dropout, x, 0.5, True, np.random.default_rng(3), where="a repeated call")
    again = t.call(dropout, x, 0.5, True, np.random.default_rng(3), where="a repeated call")
    first = t.numbers(first, "dropout(...)", shape=x.shape)
    t.case(np.array_equal(first, t.numbers(again, "dropout(...)", shape=x.shape)),
           "two calls with generators seeded alike gave different masks: draw the mask from `rng`.")
    rng = np.random.default_rng(4)
    a = t.numbers(t.call(dropout, x, 0.5, True, rng, where="two calls"), "dropout(...)",
                  shape=x.shape)
    b = t.numbers(t.call(dropout, x, 0.5, True, rng, where="two calls"), "dropout(...)",
                  shape=x.shape)
    t.case(not np.array_equal(a == 0, b == 0),
           "two calls with the same generator dropped exactly the same entries: every call "
           "(every training batch) needs a new random mask.")


# --------------------------------------------------------------------------------------- q3
@question(names=["spatial_dropout"], hints=[
    "The mask has shape (N, 1, 1, C): one coin per sample and channel, broadcast over H and W.",
    "`keep = rng.random((n, 1, 1, c)) >= rate`, then `x * keep / (1 - rate)`.",
    "Every sample of the batch gets its own mask: do not share one mask of shape (1, 1, 1, C)."])
def q3(t, spatial_dropout):
    """spatial dropout: whole feature maps"""
    rng = np.random.default_rng(1203)
    for shape, rate in [((64, 5, 7, 64), 0.5), ((32, 6, 6, 48), 0.25), ((16, 3, 3, 128), 0.8)]:
        x = rng.uniform(1.0, 2.0, size=shape)
        scale = _keras_scale(keras.layers.SpatialDropout2D, rate, (16, 2, 2, 16))
        where = f"x of shape {shape}, rate={rate}"
        out = t.call(spatial_dropout, x.copy(), rate, np.random.default_rng(11), where=where)
        got = t.numbers(out, f"spatial_dropout({where})", shape=shape)
        zero = got == 0
        maps_zero = zero.all(axis=(1, 2))
        partly = zero.any(axis=(1, 2)) & ~maps_zero
        if partly.any():
            n, c = np.argwhere(partly)[0]
            t.case(False, f"with {where}: the feature map of sample {n}, channel {c} is only "
                          "partly zero; spatial dropout drops whole maps (all H x W values "
                          "together).")
            continue
        t.case(abs(maps_zero.mean() - rate) < 0.05,
               f"with {where} you dropped {maps_zero.mean():.1%} of the feature maps; the share "
               "should be close to the rate.")
        kept = ~zero
        t.case(kept.any() and np.allclose(got[kept] / x[kept], scale, rtol=1e-5),
               f"with {where} the kept maps are not scaled like Keras' SpatialDropout2D.")
        t.case(len({row.tobytes() for row in maps_zero}) > 1,
               f"with {where} every sample dropped the same channels: draw one mask per sample "
               "(shape (N, 1, 1, C)), not one for the whole batch.")


# --------------------------------------------------------------------------------------- q4
def _gradient_models(rng):
    dense = keras.Sequential([
        keras.Input((4, 4, 1)), keras.layers.Flatten(),
        keras.layers.Dense(6, activation="sigmoid"), keras.layers.Dense(6, activation="sigmoid"),
        keras.layers.Dense(6, activation="sigmoid"), keras.layers.Dense(3, activation="softmax")])
    conv = keras.Sequential([
        keras.Input((6, 7, 2)), keras.layers.Conv2D(4, 3, use_bias=False),
        keras.layers.BatchNormalization(), keras.layers.ReLU(),
        keras.layers.MaxPooling2D(), keras.layers.Conv2D(5, 2, padding="same", activation="tanh"),
        keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    cases = []
    for name, model in [("a 4-Dense sigmoid network", dense),
                        ("a small CNN with BatchNormalization", conv)]:
        _set_random_weights(model, rng)
        x = rng.normal(size=(8,) + model.input_shape[1:]).astype(np.float32)
        y = rng.integers(0, 3, size=8)
        cases.append((name, model, x, y))
    return cases


def _kernel_gradient_norms(model, x, y, training: bool = True) -> np.ndarray:
    kernels = [layer.kernel for layer in model.layers if hasattr(layer, "kernel")]
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy()(y, model(x, training=training))
    return np.array([float(tf.norm(g)) for g in tape.gradient(loss, kernels)])


@question(names=["gradient_norms"], hints=[
    "Compute the loss inside `with tf.GradientTape() as tape:` and call "
    "`tape.gradient(loss, kernels)` with the list of kernels.",
    "The kernels are `[layer.kernel for layer in model.layers if hasattr(layer, 'kernel')]`; "
    "biases are not part of the answer.",
    "The loss is the MEAN cross-entropy of the model in training mode: "
    "`keras.losses.SparseCategoricalCrossentropy()(y, model(x, training=True))`; the norm is the "
    "square root of the sum of squares over the whole gradient."])
def q4(t, gradient_norms):
    """the gradient norm of every layer's kernel"""
    rng = np.random.default_rng(1204)
    for name, model, x, y in _gradient_models(rng):
        state = model.get_weights()
        in_inference = _kernel_gradient_norms(model, x, y, training=False)
        expected = _kernel_gradient_norms(model, x, y)
        model.set_weights(state)  # undo the moving statistics' update of the training call
        weights = [w.numpy().copy() for w in model.trainable_weights]
        out = t.call(gradient_norms, model, x, y, where=name)
        arr = t.numbers(out, f"gradient_norms on {name}")
        if arr.shape != expected.shape:
            t.fail(f"on {name} `gradient_norms` returned shape {arr.shape}; it should hold one "
                   f"norm per layer with a kernel, shape {expected.shape} (no biases).")
        inference_message = (f"gradient_norms on {name} are those of the model in inference "
                             "mode; the loss must come from `model(x, training=True)` "
                             "(BatchNormalization then uses the batch's statistics).")
        differs = not np.allclose(in_inference, expected, rtol=1e-3)
        mistake = differs and t.mistake(arr, [(in_inference, inference_message)], rtol=1e-3,
                                        atol=1e-7)
        if mistake:
            t.case(False, mistake)
        else:
            t.array(arr, expected, f"gradient_norms on {name}", rtol=1e-3, atol=1e-7)
        t.case(all(np.array_equal(a, b.numpy()) for a, b in zip(weights, model.trainable_weights)),
               f"`gradient_norms` changed the weights of {name}: only measure, do not train.")


# --------------------------------------------------------------------------------------- q5
def _as_list_of_arrays(t, value, name: str, shapes) -> list:
    if not isinstance(value, (list, tuple)):
        t.fail(f"`{name}` should be a list of arrays, but it is a {type(value).__name__}.")
    if len(value) != len(shapes):
        t.fail(f"`{name}` holds {len(value)} arrays; it should hold one per gradient "
               f"({len(shapes)}).")
    return [t.numbers(v, f"{name}[{i}]", shape=s) for i, (v, s) in enumerate(zip(value, shapes))]


@question(names=["clip_by_value", "clip_by_norm", "clip_by_global_norm"], hints=[
    "clip_by_value caps every entry to [-limit, limit] (`np.clip`). clip_by_norm rescales the "
    "WHOLE tensor by max_norm / ||g|| only when ||g|| > max_norm.",
    "The norm of a tensor is the square root of the sum of squares of ALL its entries, not per "
    "row. The global norm is sqrt(sum of ||g_i||^2) over every gradient of the list.",
    "clip_by_global_norm multiplies EVERY gradient by the same factor "
    "max_norm / max(global_norm, max_norm), and returns `(clipped_list, global_norm)`; "
    "a zero gradient must not give NaN."])
def q5(t, clip_by_value, clip_by_norm, clip_by_global_norm):
    """gradient clipping by value, by norm, by global norm"""
    rng = np.random.default_rng(1205)
    g = rng.normal(0, 3, size=(4, 6))
    for limit in (0.5, 10.0):
        expected = tf.clip_by_value(g, -limit, limit).numpy()
        out = t.call(clip_by_value, g.copy(), limit, where=f"limit={limit}")
        t.array(t.numbers(out, f"clip_by_value(g, {limit})", shape=g.shape), expected,
                f"clip_by_value(g of shape (4, 6), limit={limit})")

    cases = [("a (4, 6) gradient with norm above max_norm", g, 2.0),
             ("a (4, 6) gradient with norm below max_norm", g, 100.0),
             ("a (3, 3, 2, 5) conv-kernel gradient", rng.normal(size=(3, 3, 2, 5)), 1.0),
             ("an all-zero gradient", np.zeros((5,)), 1.0)]
    for where, grad, max_norm in cases:
        expected = tf.clip_by_norm(grad, max_norm).numpy()
        out = t.call(clip_by_norm, grad.copy(), max_norm, where=where)
        t.array(t.numbers(out, f"clip_by_norm on {where}", shape=grad.shape), expected,
                f"clip_by_norm on {where}", rtol=1e-5, atol=1e-7)

    grads = [rng.normal(size=(3, 3, 1, 4)), rng.normal(size=(4,)), rng.normal(size=(36, 10))]
    shapes = [gr.shape for gr in grads]
    for where, max_norm in [("norm above max_norm", 3.0), ("norm below max_norm", 100.0)]:
        clipped, norm = tf.clip_by_global_norm(grads, max_norm)
        out = t.call(clip_by_global_norm, [gr.copy() for gr in grads], max_norm, where=where)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            t.fail("`clip_by_global_norm` should return a pair `(clipped_list, global_norm)`.")
        mine = _as_list_of_arrays(t, out[0], "clip_by_global_norm(...)[0]", shapes)
        got_norm = t.number(out[1], "clip_by_global_norm(...)[1]")
        t.case(np.isclose(got_norm, float(norm), rtol=1e-5),
               f"the global norm returned with {where} is wrong: it is sqrt(sum of squares of "
               "all entries of all gradients), measured before clipping.")
        t.case(all(np.allclose(a, b.numpy(), rtol=1e-5, atol=1e-7) for a, b in zip(mine, clipped)),
               f"the clipped gradients with {where} differ from tf.clip_by_global_norm "
               "(every gradient is scaled by the same factor).")
    zeros = [np.zeros((2, 2)), np.zeros((3,))]
    out = t.call(clip_by_global_norm, zeros, 1.0, where="all-zero gradients")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        t.fail("`clip_by_global_norm` should return a pair `(clipped_list, global_norm)`.")
    mine = _as_list_of_arrays(t, out[0], "clip_by_global_norm(zeros)[0]", [(2, 2), (3,)])
    t.case(all(not a.any() for a in mine), "clip_by_global_norm of all-zero gradients should "
                                           "return zeros (no division by a zero norm).")


# --------------------------------------------------------------------------------------- q6
BLOCK_CASES = [((16, 16, 8), 8, 1), ((16, 16, 8), 16, 1), ((15, 15, 8), 16, 2),
               ((12, 10, 8), 8, 2)]


def reference_block(x, filters: int, stride: int = 1, stride_on_second: bool = False):
    """The basic ResNet block the exercise asks for (used for its size, output shape and outputs);
    ``stride_on_second=True`` gives a known mistake, the stride on the second 3x3 convolution."""
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False)(x)
        shortcut = layers.BatchNormalization()(shortcut)
    first, second = (1, stride) if stride_on_second else (stride, 1)
    y = layers.Conv2D(filters, 3, strides=first, padding="same", use_bias=False)(x)
    y = layers.BatchNormalization()(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(filters, 3, strides=second, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    return keras.layers.ReLU()(layers.Add()([y, shortcut]))


def _fill_by_shape(model, seed: int) -> None:
    """Give every weight a value that depends only on its name and shape (kernel (3, 3, 8, 16),
    BatchNorm gamma (16,), ...), so that two blocks built in a different order, or with their
    layers listed differently, hold the same weights in the same roles."""
    for weight in model.weights:
        shape = tuple(weight.shape)
        key = zlib.crc32(f"{weight.name}{shape}".encode())
        rng = np.random.default_rng([seed, key])
        if weight.name in ("gamma", "moving_variance"):
            value = rng.uniform(0.6, 1.4, size=shape)
        elif weight.name in ("beta", "moving_mean", "bias"):
            value = rng.normal(0.0, 0.3, size=shape)
        else:  # kernels: unit-variance outputs
            value = rng.normal(0.0, 1.0 / np.sqrt(np.prod(shape[:-1])), size=shape)
        weight.assign(value.astype(np.float32))


def _block_outputs(model, x, seed: int) -> np.ndarray:
    _fill_by_shape(model, seed)
    return np.asarray(model(x, training=False))


class _Layers:
    """A list of layers as `layer_steps` reads a model (only its `.layers`)."""

    def __init__(self, found):
        self.layers = found


def _flat_layers(model) -> list:
    """The layers of a model, with those of nested models (a Sequential main path) in place."""
    found = []
    for layer in model.layers:
        found.extend(_flat_layers(layer) if isinstance(layer, keras.Model) else [layer])
    return found


def _relu_count(model, steps) -> int:
    """ReLU layers and activations, and `keras.ops.relu` called on the block's tensors."""
    layers_ = sum(1 for kind, config, _ in steps
                  if kind == "Activation" and config["activation"] == "relu")
    ops = sum(1 for op in getattr(model, "operations", [])
              if type(op).__name__ == "Relu" and not isinstance(op, keras.layers.Layer))
    return layers_ + ops


def _block_model(t, fn, shape, filters, stride, name):
    kind, value = t.functional(fn, shape, filters, stride, where=name)
    if kind == "not a tensor":
        t.fail(f"`residual_block` on {name} returned a {value}; it should return the "
               "output tensor of the block (functional API: `y = layer(x)`).")
    if kind != "model":
        t.fail(f"the output of `residual_block` on {name} is not connected to its input `x` "
               f"({value}).")
    return value


def _silence_main_branch(model, rng):
    """Zero every 3x3 kernel, make BatchNorm the identity in inference, randomize 1x1 kernels.

    Returns the 1x1 kernels set (the shortcut projection, if any)."""
    ones = []
    for layer in _flat_layers(model):
        if isinstance(layer, keras.layers.Conv2D):
            weights = [np.zeros_like(w) for w in layer.get_weights()]
            if tuple(layer.kernel_size) == (1, 1):
                weights[0] = rng.normal(size=weights[0].shape).astype(np.float32)
                ones.append((weights[0], layer.strides))
            layer.set_weights(weights)
        elif isinstance(layer, keras.layers.BatchNormalization):
            values = {"gamma": 1.0, "beta": 0.0, "moving_mean": 0.0,
                      "moving_variance": 1.0 - layer.epsilon}
            layer.set_weights([np.full(w.shape, values.get(w.name, 0.0), np.float32)
                               for w in layer.weights])
    return ones


@question(names=["residual_block"], hints=[
    "Main path: Conv2D(filters, 3, strides=stride, padding='same', use_bias=False) -> BN -> ReLU "
    "-> Conv2D(filters, 3, padding='same', use_bias=False) -> BN. Then Add()([main, shortcut]) "
    "and a final ReLU.",
    "The shortcut is `x` itself when the shape does not change; when `stride != 1` OR the number "
    "of channels changes, it is Conv2D(filters, 1, strides=stride, use_bias=False) -> BN.",
    "`x.shape[-1]` is the number of input channels. Return the output tensor, not a Model."])
def q6(t, residual_block):
    """a residual block with identity or projection shortcut"""
    rng = np.random.default_rng(1206)
    for shape, filters, stride in BLOCK_CASES:
        project = stride != 1 or shape[-1] != filters
        name = (f"input {shape} with filters={filters}, stride={stride} "
                f"({'projection' if project else 'identity'} shortcut)")
        model = _block_model(t, residual_block, shape, filters, stride, name)
        inputs = keras.Input(shape)
        reference = keras.Model(inputs, reference_block(inputs, filters, stride))
        steps = layer_steps(_Layers(_flat_layers(model)))
        kinds = [kind for kind, _, _ in steps]
        t.case(tuple(model.output_shape) == tuple(reference.output_shape),
               f"on {name} the block outputs shape {tuple(model.output_shape)}; check strides "
               "and padding='same' on the 3x3 convolutions.")
        t.case(kinds.count("Add") == 1,
               f"on {name} the block should contain exactly one Add layer (it has "
               f"{kinds.count('Add')}).")
        ones = [layer for kind, _, layer in steps
                if kind == "Conv2D" and tuple(layer.kernel_size) == (1, 1)]
        if project:
            t.case(len(ones) == 1 and tuple(ones[0].strides) == (stride, stride),
                   f"on {name} the shortcut needs exactly one 1x1 Conv2D with strides={stride} "
                   f"(found {len(ones)} 1x1 convolution(s)).")
        else:
            t.case(not ones, f"on {name} the shortcut should be the identity: x is added "
                             "unchanged, no 1x1 convolution.")
        t.case(kinds.count("Conv2D") == (3 if project else 2),
               f"on {name} the block has {kinds.count('Conv2D')} Conv2D layers; it needs two 3x3 "
               "convolutions" + (" plus the 1x1 projection." if project else "."))
        relus = _relu_count(model, steps)
        t.case(relus == 2, f"on {name} the block has {relus} ReLU layer(s); it needs two: after "
                           "the first BatchNorm and after the Add.")
        t.case(model.count_params() == reference.count_params(),
               f"on {name} the block has {model.count_params():,} parameters, which is not the "
               "size of the block described (use_bias=False before BN, BN after every conv "
               "including the projection).")
        x = rng.normal(size=(2,) + shape).astype(np.float32)
        if tuple(model.output_shape) == tuple(reference.output_shape):
            try:
                got = _block_outputs(model, x, seed=12)
            except Exception as exc:
                t.fail(f"running the block on {name} failed ({type(exc).__name__}).")
            want = _block_outputs(reference, x, seed=12)
            wrong_stride = keras.Model(inputs, reference_block(inputs, filters, stride,
                                                               stride_on_second=True))
            mistake = stride != 1 and t.mistake(got, [(
                _block_outputs(wrong_stride, x, seed=12),
                f"on {name} the stride is on the second 3x3 convolution; it belongs on the first "
                "one (the shapes agree, the outputs do not).")], rtol=1e-4, atol=1e-4)
            if mistake:
                t.case(False, mistake)
            else:
                t.array(got, want, f"the block's output on {name}, with the same weights in the "
                        "same roles as the block described (order of conv, BN and ReLU, place "
                        "of the stride and of the Add)", rtol=1e-4, atol=1e-4)
        ones_set = _silence_main_branch(model, rng)
        if project:
            if len(ones_set) != 1:
                continue  # already reported above
            kernel, strides = ones_set[0]
            shortcut = tf.nn.conv2d(x, kernel, strides=list(strides), padding="VALID").numpy()
        else:
            shortcut = x
        try:
            got = np.asarray(model(x, training=False))
        except Exception as exc:
            t.fail(f"running the block on {name} failed ({type(exc).__name__}).")
        t.array(got, np.maximum(shortcut, 0),
                f"the block's output on {name} when the main path outputs zero "
                "(it should be ReLU(shortcut))", rtol=1e-4, atol=1e-5)
