"""Checks of lesson 13: modern CNN architectures.

The block builders (q1-q4) are called on symbolic inputs and wrapped as models with
``t.functional``. Their structure is read through public APIs (layer types and configs with fused
activations split out, output shape, ``count_params()``), and their forward pass is compared with
a reference block: every weight of both models is set by one rule that depends only on the
weight's role and shape, so any wiring that computes the same function gives the same output,
whatever the order in which the layers were created or whether an activation is fused.
The counts of q5 come from Keras layers (``count_params()``, the kernel's size times the number
of output positions); the stages of q6 from the layers' output shapes.
"""
from __future__ import annotations

import functools
import zlib

import numpy as np

from .compare import layer_steps
from .core import question


# ----------------------------------------------------------------------------- reference blocks
def reference_vgg_block(x, filters: int, n_convs: int):
    from keras import layers

    for _ in range(n_convs):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    return layers.MaxPooling2D(2)(x)


def reference_inception(x, f1, f3_reduce, f3, f5_reduce, f5, pool_proj):
    from keras import layers

    b1 = layers.Conv2D(f1, 1, activation="relu")(x)
    b3 = layers.Conv2D(f3_reduce, 1, activation="relu")(x)
    b3 = layers.Conv2D(f3, 3, padding="same", activation="relu")(b3)
    b5 = layers.Conv2D(f5_reduce, 1, activation="relu")(x)
    b5 = layers.Conv2D(f5, 5, padding="same", activation="relu")(b5)
    bp = layers.MaxPooling2D(3, strides=1, padding="same")(x)
    bp = layers.Conv2D(pool_proj, 1, activation="relu")(bp)
    return layers.Concatenate()([b1, b3, b5, bp])


def reference_bottleneck(x, filters: int, stride: int = 1):
    from keras import layers

    shortcut = x
    if stride != 1 or x.shape[-1] != 4 * filters:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, use_bias=False)(x)
        shortcut = layers.BatchNormalization()(shortcut)
    y = layers.Conv2D(filters, 1, use_bias=False)(x)
    y = layers.ReLU()(layers.BatchNormalization()(y))
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(y)
    y = layers.ReLU()(layers.BatchNormalization()(y))
    y = layers.BatchNormalization()(layers.Conv2D(4 * filters, 1, use_bias=False)(y))
    return layers.ReLU()(layers.Add()([y, shortcut]))


def reference_inverted_residual(x, expansion: int, filters: int, stride: int = 1):
    from keras import layers

    c_in = x.shape[-1]
    y = x
    if expansion != 1:
        y = layers.Conv2D(c_in * expansion, 1, use_bias=False)(y)
        y = layers.ReLU(6.0)(layers.BatchNormalization()(y))
    y = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(y)
    y = layers.ReLU(6.0)(layers.BatchNormalization()(y))
    y = layers.BatchNormalization()(layers.Conv2D(filters, 1, use_bias=False)(y))
    if stride == 1 and c_in == filters:
        y = layers.Add()([x, y])
    return y


def reference_stage_shapes(model) -> list[tuple]:
    """The (h, w, c) of the last layer at each resolution H/2^k x W/2^k, k = 1, 2, ..."""
    height, width = model.input_shape[1:3]
    found, k = [], 1
    while height % 2 ** k == 0 and width % 2 ** k == 0:
        size = (height // 2 ** k, width // 2 ** k)
        last = None
        for layer in model.layers:
            shape = tuple(layer.output.shape)
            if len(shape) == 4 and shape[1:3] == size:
                last = shape[1:]
        if last is None:
            break
        found.append(tuple(int(v) for v in last))
        k += 1
    return found


# ----------------------------------------------------------------------------- helpers
def _functional(t, fn, fn_name: str, shape, args, where: str):
    """The block as a model, or a FAIL naming what came back instead."""
    kind, value = t.functional(fn, shape, *args, where=where)
    if kind == "not a tensor":
        t.fail(f"`{fn_name}` on {where} returned a {value}; it should return the output tensor "
               "of the block (functional API: `y = layer(x)`), not a model or a layer.")
    if kind != "model":
        t.fail(f"the output of `{fn_name}` on {where} is not connected to its input `x` ({value}).")
    return value


def _reference_model(build, shape, args):
    import keras

    inputs = keras.Input(shape)
    return keras.Model(inputs, build(inputs, *args))


def _rule_values(layer, weight, shape) -> np.ndarray:
    """Values for one weight that depend only on the layer kind, the weight's role and shape."""
    role = str(getattr(weight, "name", "w")).rsplit("/", 1)[-1].split(":")[0]
    kind = type(layer).__name__
    seed = zlib.crc32(f"{kind}|{role}|{shape}".encode())
    rng = np.random.default_rng(seed)
    if role == "kernel":
        fan_in = int(np.prod(shape[:2])) if kind == "DepthwiseConv2D" else int(np.prod(shape[:-1]))
        return rng.normal(0.0, 1.2 / np.sqrt(max(fan_in, 1)), shape)
    if role in ("gamma", "moving_variance"):
        return rng.uniform(0.5, 1.5, shape)
    return rng.normal(0.0, 0.2, shape)  # bias, beta, moving_mean


def set_rule_weights(model) -> bool:
    """Give every weight of ``model`` its rule value; False if a layer refuses."""
    for layer in model.layers:
        weights = layer.weights
        if not weights:
            continue
        try:
            layer.set_weights([_rule_values(layer, w, tuple(w.shape)).astype(np.float32)
                               for w in weights])
        except Exception:
            return False
    return True


def _forward(t, model, reference, x, where: str, what: str) -> None:
    """Compare the two blocks' outputs (inference mode) with rule weights in both."""
    if not set_rule_weights(model) or not set_rule_weights(reference):
        t.case(False, f"the weights of the block on {where} could not be set (a layer with "
                      "unusual weights?).")
        return
    try:
        got = np.asarray(model(x, training=False))
    except Exception as exc:
        t.case(False, f"running the block on {where} failed ({type(exc).__name__}).")
        return
    expected = np.asarray(reference(x, training=False))
    scale = float(np.abs(expected).max()) or 1.0
    t.array(got, expected, f"the block's output on {where} ({what})", rtol=1e-4,
            atol=1e-4 * scale)


def _steps(model):
    return layer_steps(model)


def _kinds(steps, kind):
    return [(config, layer) for k, config, layer in steps if k == kind]


def _is_relu6(kind, config) -> bool:
    if kind == "Activation":
        return config.get("activation") == "relu6"
    if kind == "ReLU":
        return (float(config.get("max_value") or 0) == 6.0
                and not config.get("negative_slope") and not config.get("threshold"))
    return False


def _activations(steps):
    """(number of plain ReLUs, number of ReLU6, other activations) of a model's steps."""
    relu = sum(1 for k, c, _ in steps if k == "Activation" and c.get("activation") == "relu")
    relu6 = sum(1 for k, c, _ in steps if _is_relu6(k, c))
    other = [c.get("activation", k) for k, c, _ in steps
             if (k == "Activation" and c.get("activation") not in ("relu", "relu6"))
             or (k in ("ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax") and not _is_relu6(k, c))]
    return relu, relu6, other


def _biased(steps) -> int:
    return sum(1 for k, c, _ in steps if k in ("Conv2D", "DepthwiseConv2D") and c.get("use_bias"))


def _pair(value):
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)


def _convs(steps, size):
    return [(c, layer) for c, layer in _kinds(steps, "Conv2D") if _pair(c["kernel_size"]) == size]


def _inputs(rng, shape, n=2):
    return rng.normal(size=(n,) + tuple(shape)).astype(np.float32)


def _output_shape(model):
    try:
        return tuple(model.output_shape)
    except Exception:
        return None


# ----------------------------------------------------------------------------- q1
VGG_CASES = [((16, 16, 3), 8, 2), ((15, 12, 4), 6, 3), ((8, 10, 5), 4, 1)]


@question(names=["vgg_block"], hints=[
    "Repeat `n_convs` times: `x = layers.Conv2D(filters, 3, padding='same', activation='relu')(x)`; "
    "then one `layers.MaxPooling2D(2)(x)`.",
    "Keep the convolutions at stride 1 with padding 'same': only the pooling halves the size "
    "(an odd size is rounded down, as MaxPooling2D's 'valid' padding does).",
    "Return the tensor you get at the end (`return layers.MaxPooling2D(2)(x)`), not a Model."])
def q1(t, vgg_block):
    """a VGG block: n 3x3 convolutions with ReLU, then 2x2 max pooling"""
    rng = np.random.default_rng(1301)
    for shape, filters, n in VGG_CASES:
        where = f"input {shape}, filters={filters}, n_convs={n}"
        model = _functional(t, vgg_block, "vgg_block", shape, (filters, n), where)
        reference = _reference_model(reference_vgg_block, shape, (filters, n))
        steps = _steps(model)
        convs = _kinds(steps, "Conv2D")
        t.case(len(convs) == n, f"on {where} the block has {len(convs)} Conv2D layer(s); it needs "
                                "`n_convs` of them.")
        t.case(all(_pair(c["kernel_size"]) == (3, 3) and _pair(c["strides"]) == (1, 1)
                   and c["padding"] == "same" for c, _ in convs),
               f"on {where} not every convolution is 3x3 with stride 1 and padding='same'.")
        pools = _kinds(steps, "MaxPooling2D")
        t.case(len(pools) == 1 and _pair(pools[0][0]["pool_size"]) == (2, 2)
               and _pair(pools[0][0]["strides"]) == (2, 2) and steps[-1][0] == "MaxPooling2D",
               f"on {where} the block should end with one 2x2 max pooling of stride 2 "
               "(after the last ReLU).")
        relu, _, other = _activations(steps)
        t.case(relu == n and not other,
               f"on {where} the block has {relu} ReLU(s) and {len(other)} other activation(s); "
               "every convolution is followed by a ReLU.")
        t.model(model, reference, f"vgg_block on {where}")
        _forward(t, model, reference, _inputs(rng, shape), where, "with the same weights as "
                 "the reference block")


# ----------------------------------------------------------------------------- q2
INCEPTION_CASES = [((8, 8, 6), (4, 3, 5, 2, 3, 2)), ((7, 9, 10), (6, 4, 8, 2, 4, 3))]


@question(names=["inception_module"], hints=[
    "Four branches, each starting from `x`: a 1x1 conv (f1); a 1x1 conv (f3_reduce) then a 3x3 conv "
    "(f3); a 1x1 conv (f5_reduce) then a 5x5 conv (f5); MaxPooling2D(3, strides=1, "
    "padding='same') then a 1x1 conv (pool_proj).",
    "Every convolution has activation='relu'; the 3x3 and 5x5 ones need padding='same' so that "
    "all four branches keep the height and width of `x`.",
    "Join them with `layers.Concatenate()([b1, b3, b5, bp])`, in exactly this order (channels "
    "axis, the default axis=-1)."])
def q2(t, inception_module):
    """an Inception module with 1x1 reductions"""
    rng = np.random.default_rng(1302)
    for shape, widths in INCEPTION_CASES:
        f1, f3r, f3, f5r, f5, fp = widths
        where = (f"input {shape} with f1={f1}, f3_reduce={f3r}, f3={f3}, f5_reduce={f5r}, "
                 f"f5={f5}, pool_proj={fp}")
        model = _functional(t, inception_module, "inception_module", shape, widths, where)
        reference = _reference_model(reference_inception, shape, widths)
        steps = _steps(model)
        out = _output_shape(model)
        t.case(out == _output_shape(reference),
               f"on {where} the module outputs shape {out}; all branches keep H x W and the "
               "channels of the four branches add up.")
        concats = _kinds(steps, "Concatenate")
        t.case(len(concats) == 1 and concats[0][0].get("axis") in (-1, 3),
               f"on {where} the module should join its branches with one Concatenate on the "
               f"channel axis (found {len(concats)} Concatenate layer(s)).")
        sizes = sorted(_pair(c["kernel_size"]) for c, _ in _kinds(steps, "Conv2D"))
        t.case(sizes == [(1, 1)] * 4 + [(3, 3), (5, 5)],
               f"on {where} the module's convolutions have kernel sizes {sizes}; it needs four "
               "1x1 (f1, the two reductions, pool_proj), one 3x3 and one 5x5.")
        pools = _kinds(steps, "MaxPooling2D")
        t.case(len(pools) == 1 and _pair(pools[0][0]["pool_size"]) == (3, 3)
               and _pair(pools[0][0]["strides"]) == (1, 1) and pools[0][0]["padding"] == "same",
               f"on {where} the pool branch needs one MaxPooling2D(3, strides=1, padding='same').")
        relu, _, other = _activations(steps)
        t.case(relu == 6 and not other,
               f"on {where} the module has {relu} ReLU(s) and {len(other)} other activation(s); "
               "each of the six convolutions is followed by a ReLU.")
        t.case(model.count_params() == reference.count_params(),
               f"on {where} the module has {model.count_params():,} parameters, not the size of "
               "the module described: does each 3x3 / 5x5 conv read the output of its 1x1 "
               "reduction, and does the 1x1 pool projection read the pooled `x`?")
        _forward(t, model, reference, _inputs(rng, shape), where,
                 "branches concatenated in the order 1x1, 3x3, 5x5, pool")


# ----------------------------------------------------------------------------- q3
BOTTLENECK_CASES = [((8, 8, 16), 4, 1), ((8, 8, 8), 4, 1), ((9, 9, 16), 4, 2), ((8, 6, 32), 8, 2)]


@question(names=["bottleneck_block"], hints=[
    "Main path: Conv2D(filters, 1) -> BN -> ReLU -> Conv2D(filters, 3, strides=stride, "
    "padding='same') -> BN -> ReLU -> Conv2D(4 * filters, 1) -> BN, every Conv2D with "
    "use_bias=False.",
    "Shortcut: `x` itself when stride == 1 and x.shape[-1] == 4 * filters; otherwise "
    "Conv2D(4 * filters, 1, strides=stride, use_bias=False) -> BN.",
    "Add the two with `layers.Add()([main, shortcut])` and apply one last ReLU after the sum "
    "(none on the main path after its last BN)."])
def q3(t, bottleneck_block):
    """a ResNet bottleneck block with a projection shortcut"""
    rng = np.random.default_rng(1303)
    for shape, filters, stride in BOTTLENECK_CASES:
        project = stride != 1 or shape[-1] != 4 * filters
        where = (f"input {shape} with filters={filters}, stride={stride} "
                 f"({'projection' if project else 'identity'} shortcut)")
        model = _functional(t, bottleneck_block, "bottleneck_block", shape, (filters, stride), where)
        reference = _reference_model(reference_bottleneck, shape, (filters, stride))
        steps = _steps(model)
        out = _output_shape(model)
        t.case(out == _output_shape(reference),
               f"on {where} the block outputs shape {out}; it should have 4 * filters channels "
               "and the stride's resolution.")
        t.case(len(_kinds(steps, "Add")) == 1,
               f"on {where} the block should contain exactly one Add layer.")
        threes = _convs(steps, (3, 3))
        ones = _convs(steps, (1, 1))
        t.case(len(threes) == 1 and _pair(threes[0][0]["strides"]) == (stride, stride)
               and threes[0][0]["padding"] == "same",
               f"on {where} the block needs one 3x3 convolution with padding='same' that carries "
               "the stride (a strided 1x1 would skip three pixels in four without looking at them).")
        strided_ones = [c for c, _ in ones if _pair(c["strides"]) != (1, 1)]
        t.case(len(ones) == (3 if project else 2) and len(strided_ones) == (1 if project and stride != 1 else 0),
               f"on {where} the block has {len(ones)} 1x1 convolution(s), {len(strided_ones)} of "
               "them strided; it needs two on the main path (stride 1)"
               + (" and the projection on the shortcut." if project else
                  ", and no projection: the shortcut is x itself."))
        n_bn = len(_kinds(steps, "BatchNormalization"))
        t.case(n_bn == (4 if project else 3),
               f"on {where} the block has {n_bn} BatchNormalization layer(s); one follows every "
               "convolution, the projection included.")
        relu, _, other = _activations(steps)
        t.case(relu == 3 and not other,
               f"on {where} the block has {relu} ReLU(s) and {len(other)} other activation(s); it "
               "needs three: after the first two BNs and after the Add.")
        t.case(_biased(steps) == 0,
               f"on {where} {_biased(steps)} convolution(s) have a bias; a convolution followed by "
               "BatchNormalization does not need one (use_bias=False).")
        t.case(model.count_params() == reference.count_params(),
               f"on {where} the block has {model.count_params():,} parameters, not the size of the "
               "block described.")
        _forward(t, model, reference, _inputs(rng, shape), where, "in inference mode, with the "
                 "same weights as the reference block")


# ----------------------------------------------------------------------------- q4
INVERTED_CASES = [((8, 8, 8), 4, 8, 1), ((8, 8, 8), 4, 12, 1), ((9, 9, 8), 6, 8, 2),
                  ((6, 6, 16), 1, 16, 1)]


@question(names=["inverted_residual"], hints=[
    "Expand: Conv2D(expansion * C_in, 1, use_bias=False) -> BN -> ReLU6 (`layers.ReLU(6.0)`); "
    "skip this step when expansion == 1. C_in is `x.shape[-1]`.",
    "Then DepthwiseConv2D(3, strides=stride, padding='same', use_bias=False) -> BN -> ReLU6, and "
    "the linear projection Conv2D(filters, 1, use_bias=False) -> BN with NO activation after it.",
    "Add `x` (layers.Add) only when stride == 1 and C_in == filters; otherwise return the "
    "projection's BN output as it is."])
def q4(t, inverted_residual):
    """a MobileNetV2 inverted residual block"""
    rng = np.random.default_rng(1304)
    for shape, expansion, filters, stride in INVERTED_CASES:
        residual = stride == 1 and shape[-1] == filters
        where = (f"input {shape} with expansion={expansion}, filters={filters}, stride={stride} "
                 f"({'with' if residual else 'no'} residual)")
        model = _functional(t, inverted_residual, "inverted_residual", shape,
                            (expansion, filters, stride), where)
        reference = _reference_model(reference_inverted_residual, shape,
                                     (expansion, filters, stride))
        steps = _steps(model)
        out = _output_shape(model)
        t.case(out == _output_shape(reference),
               f"on {where} the block outputs shape {out}; check the stride of the depthwise "
               "convolution and the projection's width.")
        depthwise = _kinds(steps, "DepthwiseConv2D")
        t.case(len(depthwise) == 1 and _pair(depthwise[0][0]["kernel_size"]) == (3, 3)
               and _pair(depthwise[0][0]["strides"]) == (stride, stride)
               and depthwise[0][0]["padding"] == "same"
               and int(depthwise[0][0].get("depth_multiplier", 1)) == 1,
               f"on {where} the block needs one 3x3 DepthwiseConv2D with strides={stride} and "
               "padding='same'.")
        convs = _kinds(steps, "Conv2D")
        t.case(len(convs) == (1 if expansion == 1 else 2)
               and all(_pair(c["kernel_size"]) == (1, 1) and _pair(c["strides"]) == (1, 1)
                       for c, _ in convs),
               f"on {where} the block has {len(convs)} Conv2D layer(s); it needs "
               + ("only the 1x1 projection (no expansion when expansion == 1)." if expansion == 1
                  else "two 1x1 convolutions at stride 1: the expansion and the projection."))
        n_add = len(_kinds(steps, "Add"))
        t.case(n_add == (1 if residual else 0),
               f"on {where} the block has {n_add} Add layer(s); "
               + ("the input is added back when stride is 1 and the channels match." if residual
                  else "there is no residual when the stride is 2 or the channels change."))
        relu, relu6, other = _activations(steps)
        t.case(relu6 == (1 if expansion == 1 else 2) and relu == 0 and not other,
               f"on {where} the block has {relu6} ReLU6, {relu} plain ReLU(s) and {len(other)} "
               "other activation(s); ReLU6 follows the expansion and the depthwise convolution, "
               "and the projection stays linear (no activation after it).")
        t.case(steps and steps[-1][0] in ("BatchNormalization", "Add"),
               f"on {where} the block should end with the projection's BatchNormalization (or the "
               "Add): the bottleneck is linear.")
        t.case(_biased(steps) == 0,
               f"on {where} {_biased(steps)} convolution(s) have a bias; every convolution here is "
               "followed by BatchNormalization (use_bias=False).")
        t.case(model.count_params() == reference.count_params(),
               f"on {where} the block has {model.count_params():,} parameters, not the size of the "
               "block described (the expansion has expansion * C_in channels).")
        _forward(t, model, reference, _inputs(rng, shape), where, "in inference mode, with the "
                 "same weights as the reference block")


# ----------------------------------------------------------------------------- q5
CONV_CASES = [(3, 16, 32, 28, 28, None), (5, 3, 8, 12, 10, True), (1, 64, 16, 7, 7, False),
              (3, 32, 32, 14, 9, False), (7, 3, 64, 112, 112, None)]
SEPARABLE_CASES = [(3, 16, 32, 28, 28), (5, 8, 8, 12, 10), (3, 128, 128, 14, 14), (3, 3, 16, 9, 7)]


def keras_conv_cost(k, c_in, c_out, h_out, w_out, bias=True, separable=False):
    """(parameters, multiply-adds) of a Keras layer: each kernel entry is used once per output
    position; biases are additions, not multiply-adds."""
    import keras
    from keras import layers

    inputs = keras.Input((h_out, w_out, c_in))
    if separable:
        layer = layers.SeparableConv2D(c_out, k, padding="same", use_bias=False)
        layer(inputs)
        kernels = layer.depthwise_kernel.shape, layer.pointwise_kernel.shape
    else:
        layer = layers.Conv2D(c_out, k, padding="same", use_bias=bias)
        layer(inputs)
        kernels = (layer.kernel.shape,)
    macs = sum(int(np.prod(shape)) for shape in kernels) * h_out * w_out
    return layer.count_params(), macs


def _cost_pair(t, value, call: str):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        t.fail(f"`{call}` should return a pair `(parameters, multiply_adds)`, not a "
               f"{type(value).__name__}.")
    return t.whole(value[0], f"{call}[0]"), t.whole(value[1], f"{call}[1]")


def _ratio_layers():
    """Keras layers of the three comparisons of q5 (built on symbolic inputs)."""
    import keras
    from keras import layers

    c = 64
    x = keras.Input((16, 16, c))
    two = [layers.Conv2D(c, 3, padding="same", use_bias=False) for _ in range(2)]
    two[1](two[0](x))
    five = layers.Conv2D(c, 5, padding="same", use_bias=False)
    five(x)
    ratio_3x3 = sum(layer.count_params() for layer in two) / five.count_params()
    _, sep = keras_conv_cost(3, 128, 128, 14, 14, separable=True)
    _, full = keras_conv_cost(3, 128, 128, 14, 14, bias=False)
    _, cost_a = keras_conv_cost(3, 64, 64, 56, 56)
    _, cost_b = keras_conv_cost(3, 128, 128, 28, 28)
    more = "same" if cost_a == cost_b else ("A" if cost_a > cost_b else "B")
    return ratio_3x3, sep / full, more


@question(names=["conv_cost", "separable_cost", "ratio_3x3", "ratio_separable", "costlier"],
          hints=[
    "A k x k convolution has k*k*c_in weights per output channel, plus one bias each when "
    "bias=True; every weight is used once at every output position: multiply-adds = "
    "k*k*c_in*c_out*h_out*w_out (biases are additions, not counted).",
    "Separable = depthwise k x k (k*k*c_in weights, one filter per input channel) + pointwise "
    "1x1 (c_in*c_out weights), both without bias and both run at all h_out*w_out positions.",
    "ratio_3x3 = (2 * 3*3*C*C) / (5*5*C*C); ratio_separable = separable_cost(3, 128, 128, 14, 14)[1] "
    "/ conv_cost(3, 128, 128, 14, 14, bias=False)[1]; for `costlier` compare "
    "conv_cost(3, 64, 64, 56, 56)[1] with conv_cost(3, 128, 128, 28, 28)[1]."])
def q5(t, conv_cost, separable_cost, ratio_3x3, ratio_separable, costlier):
    """parameters and multiply-adds of convolutions, by hand"""
    for k, c_in, c_out, h, w, bias in CONV_CASES:
        args, kwargs = (k, c_in, c_out, h, w), ({} if bias is None else {"bias": bias})
        call = (f"conv_cost({k}, {c_in}, {c_out}, {h}, {w}"
                + ("" if bias is None else f", bias={bias}") + ")")
        params, macs = _cost_pair(t, t.call(conv_cost, *args, where=call, **kwargs), call)
        want_p, want_m = keras_conv_cost(k, c_in, c_out, h, w, bias=bias is not False)
        t.case(params == want_p, f"{call}: the parameter count differs from the Keras Conv2D's "
                                 "count_params()" + (" (the default is bias=True)." if bias is None
                                                     else "."))
        t.case(macs == want_m, f"{call}: the multiply-add count is wrong (every kernel weight "
                               "once per output position; biases are not multiply-adds).")
    for k, c_in, c_out, h, w in SEPARABLE_CASES:
        call = f"separable_cost({k}, {c_in}, {c_out}, {h}, {w})"
        params, macs = _cost_pair(t, t.call(separable_cost, k, c_in, c_out, h, w, where=call), call)
        want_p, want_m = keras_conv_cost(k, c_in, c_out, h, w, separable=True)
        t.case(params == want_p, f"{call}: the parameter count differs from a Keras "
                                 "SeparableConv2D(use_bias=False) (depthwise k x k per input "
                                 "channel + pointwise 1x1).")
        t.case(macs == want_m, f"{call}: the multiply-add count is wrong (both the depthwise and "
                               "the pointwise step run at every output position).")
    r3, rsep, more = _ratio_layers()
    got = t.number(ratio_3x3, "ratio_3x3")
    t.case(np.isclose(got, r3, rtol=1e-3),
           "`ratio_3x3` is not the parameters of two stacked 3x3 convolutions divided by those of "
           "one 5x5 (C -> C channels, no biases)"
           + (" (it is upside down)." if np.isclose(got, 1 / r3, rtol=1e-3) else "."))
    got = t.number(ratio_separable, "ratio_separable")
    t.case(np.isclose(got, rsep, rtol=1e-3),
           "`ratio_separable` is not the multiply-adds of the separable layer divided by those of "
           "the full 3x3 convolution (128 -> 128 channels, 14 x 14 output, no biases)"
           + (" (it is upside down)." if np.isclose(got, 1 / rsep, rtol=1e-3) else "."))
    if not isinstance(costlier, str) or costlier.strip().lower() not in ("a", "b", "same"):
        t.fail("`costlier` should be one of the strings 'A', 'B' or 'same'.")
    answer = costlier.strip().lower()
    t.case(answer == more.lower(),
           f"`costlier` = {costlier!r} is not what the multiply-adds of layers A and B say: "
           "compute both with your conv_cost.")


# ----------------------------------------------------------------------------- q6
@functools.lru_cache(maxsize=1)
def _stage_models():
    """Three models of different kinds with input sizes divisible by 2^k at every stage (built
    once per process: building MobileNetV2 costs a second; the check only reads shapes)."""
    import keras
    from keras import layers

    vgg = keras.Sequential([keras.Input((32, 48, 3))], name="mini_vgg")
    for filters, n in ((8, 1), (12, 2), (16, 2)):
        vgg.add(layers.Conv2D(filters, 3, padding="same", activation="relu"))
        for _ in range(n - 1):
            vgg.add(layers.Conv2D(filters, 3, padding="same", activation="relu"))
        vgg.add(layers.MaxPooling2D(2))
    vgg.add(layers.Flatten())
    vgg.add(layers.Dense(10, activation="softmax"))

    inputs = keras.Input((64, 64, 3))  # a ResNet50-like stem: padding, 7x7/2, padding, pool 3/2
    x = layers.ZeroPadding2D(3)(inputs)
    x = layers.Conv2D(8, 7, strides=2)(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.ZeroPadding2D(1)(x)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = reference_bottleneck(x, 4)
    x = reference_bottleneck(x, 8, 2)
    x = reference_bottleneck(x, 8)
    x = layers.GlobalAveragePooling2D()(x)
    resnet = keras.Model(inputs, layers.Dense(5, activation="softmax")(x), name="mini_resnet")

    mobile = keras.applications.MobileNetV2(input_shape=(64, 96, 3), alpha=0.35,
                                            include_top=False, weights=None)
    return [("a small VGG-style Sequential model on 32 x 48 inputs", vgg),
            ("a small ResNet-style model with a padded stem on 64 x 64 inputs", resnet),
            ("keras.applications.MobileNetV2(alpha=0.35, weights=None) on 64 x 96 inputs", mobile)]


@question(names=["stage_shapes"], hints=[
    "For k = 1, 2, ...: the target size is (H // 2**k, W // 2**k) with H, W = "
    "model.input_shape[1:3]; stop when H or W is not divisible by 2**k.",
    "Loop over `model.layers` and keep `layer.output.shape` when it has 4 entries and its "
    "[1:3] equals the target size; the LAST match is the stage's output. No match: stop.",
    "Padding layers give sizes like H/2 + 2 that match no target, and Flatten/Dense outputs have "
    "fewer than 4 entries: both are skipped by the rule. Return tuples (h, w, c) without the "
    "batch axis."])
def q6(t, stage_shapes):
    """the output shape of every stage of a keras.applications model"""
    for where, model in _stage_models():
        expected = reference_stage_shapes(model)
        out = t.call(stage_shapes, model, where=where)
        if not isinstance(out, (list, tuple)):
            t.fail(f"`stage_shapes` on {where} returned a {type(out).__name__}; it should return "
                   "a list of (h, w, c) tuples.")
        if any(isinstance(s, (tuple, list)) and len(s) == 4 for s in out):
            t.case(False, f"on {where} the stage shapes have 4 entries; leave out the batch "
                          "axis (h, w, c).")
            continue
        shapes = [t.shape(s, f"stage_shapes(...)[{i}] on {where}") for i, s in enumerate(out)]
        if len(shapes) != len(expected):
            t.case(False, f"on {where} `stage_shapes` found {len(shapes)} stage(s); the model has "
                          f"{len(expected)} (one per halving of the input size, padding layers "
                          "ignored).")
            continue
        wrong = [i + 1 for i, (a, b) in enumerate(zip(shapes, expected)) if a != b]
        t.case(not wrong, f"on {where} stage {wrong[:1]} has the wrong shape (take the LAST "
                          "layer at that resolution, with its channels).")
