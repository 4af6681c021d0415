"""Checks of lesson 03 · Convolution.

Every expected value comes from Keras at check time: the student's NumPy convolutions are compared
with ``keras.layers.Conv2D`` holding the same weights, output sizes and paddings with what Keras
layers produce (the 'same' total padding is the one that gives Keras' output size with the last
kernel position just fitting), parameter counts with ``count_params()``, receptive fields with
the inputs that reach one output of a stack of Keras convolutions.
"""
from __future__ import annotations

import keras
import numpy as np

from .core import NotAttempted, question


# ----------------------------------------------------------------------------- helpers
def _keras_conv(x, kernels, bias=None, stride=1, padding="valid", dilation=1):
    """Conv2D of one image ``x`` (H, W, C_in) with ``kernels`` (KH, KW, C_in, C_out) copied in."""
    kh, kw, _, c_out = kernels.shape
    layer = keras.layers.Conv2D(c_out, (kh, kw), strides=stride, padding=padding,
                                dilation_rate=dilation, use_bias=bias is not None)
    layer.build((None,) + x.shape)
    layer.set_weights([kernels] if bias is None else [kernels, bias])
    return keras.ops.convert_to_numpy(layer(x[None].astype(np.float32)))[0]


def _kernel_3x3(t, value, name: str) -> np.ndarray:
    arr = t.numbers(value, name, shape=(3, 3)).astype(np.float32)
    if not np.any(arr):
        t.fail(f"`{name}` is all zeros: it would turn every image black.")
    return arr


# ----------------------------------------------------------------------------- q1
SINGLE_CASES = [((5, 5), (3, 3)), ((6, 9), (3, 3)), ((7, 5), (2, 4)), ((4, 6), (1, 1)),
                ((4, 3), (4, 3)), ((8, 8), (5, 5))]


@question(names=["conv2d_single"], hints=[
    "The output has one value per position where the whole kernel fits inside the image: "
    "(H - KH + 1) rows and (W - KW + 1) columns.",
    "For output position (i, j) take the patch `image[i:i + KH, j:j + KW]`, multiply it "
    "element-wise with the kernel and sum.",
    "Keras (like every deep-learning library) does not flip the kernel: what it calls "
    "convolution is a cross-correlation, and so should yours be."])
def q1(t, conv2d_single):
    """single-channel 'valid' convolution, stride 1"""
    rng = np.random.default_rng(301)
    for (h, w), (kh, kw) in SINGLE_CASES:
        image = rng.normal(size=(h, w)).astype(np.float32)
        kernel = rng.normal(size=(kh, kw)).astype(np.float32)
        expected = _keras_conv(image[..., None], kernel[..., None, None])[..., 0]
        where = f"a {h}x{w} image and a {kh}x{kw} kernel"
        out = t.call(conv2d_single, image.copy(), kernel.copy(), where=where)
        t.array(out, expected, f"conv2d_single on {where}", rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------- q2
def _relative_peak(out, scale):
    return float(np.max(np.abs(out))) / scale


@question(names=["horizontal_edge", "vertical_edge", "blur_kernel", "sharpen_kernel"], hints=[
    "Think of what each kernel must give on a flat image: an edge detector 0, a blur or a "
    "sharpen the same flat image (so their weights sum to 0 and to 1).",
    "A horizontal edge is a change from top to bottom: subtract the row above the centre from "
    "the row below it. The vertical-edge kernel is the same idea turned by 90 degrees.",
    "Blur: average the 3x3 neighbourhood (all weights 1/9). Sharpen: the image plus "
    "(image minus its blur), e.g. centre 5 and -1 at its four neighbours."])
def q2(t, horizontal_edge, vertical_edge, blur_kernel, sharpen_kernel):
    """hand-made 3x3 kernels: edges, blur, sharpen"""
    given = {"horizontal_edge": horizontal_edge, "vertical_edge": vertical_edge,
             "blur_kernel": blur_kernel, "sharpen_kernel": sharpen_kernel}
    kernels = [_kernel_3x3(t, value, name) for name, value in given.items()]
    rows = np.arange(12)[:, None] * np.ones((1, 12))
    flat = np.full((12, 12), 0.6)
    h_step = np.where(rows < 6, 0.2, 0.9)              # a horizontal edge: dark above, bright below
    v_step = h_step.T                                  # a vertical edge: dark left, bright right
    noise = np.random.default_rng(302).normal(size=(12, 12))
    images = np.stack([flat, h_step, v_step, noise])[..., None].astype(np.float32)
    stacked = np.stack(kernels, axis=-1)[:, :, None, :]  # (3, 3, 1, 4)
    layer = keras.layers.Conv2D(4, 3, use_bias=False)
    layer.build((None, 12, 12, 1))
    layer.set_weights([stacked])
    out = keras.ops.convert_to_numpy(layer(images))   # (4, 10, 10, 4)
    flat_out, h_out, v_out, noise_out = out
    noise_in = noise[1:-1, 1:-1]

    for k, (name, edge, other) in enumerate([("horizontal_edge", h_out, v_out),
                                             ("vertical_edge", v_out, h_out)]):
        scale = float(np.abs(kernels[k]).sum())
        t.case(_relative_peak(flat_out[..., k], scale) < 1e-5,
               f"`{name}` responds to a flat (constant) image; an edge detector gives 0 there.")
        t.case(_relative_peak(other[..., k], scale) < 1e-5,
               f"`{name}` responds to a {'vertical' if k == 0 else 'horizontal'} edge; it should "
               "see only " + ("changes from top to bottom." if k == 0 else
                              "changes from left to right."))
        t.case(_relative_peak(edge[..., k], scale) > 0.1,
               f"`{name}` barely responds to a {'horizontal' if k == 0 else 'vertical'} edge "
               f"({'dark above, bright below' if k == 0 else 'dark left, bright right'}).")
    for k, name in ((2, "blur_kernel"), (3, "sharpen_kernel")):
        t.case(np.allclose(flat_out[..., k], 0.6, atol=1e-5),
               f"`{name}` changes the brightness of a flat image; it should leave it as it is.")
    t.case(bool(np.all(kernels[2] >= 0)),
           "`blur_kernel` has negative weights; a blur is a weighted average of the neighbours.")
    t.case(noise_out[..., 2].std() < 0.7 * noise_in.std(),
           "`blur_kernel` hardly smooths random noise; it should average over the neighbourhood.")
    t.case(noise_out[..., 3].std() > 1.2 * noise_in.std(),
           "`sharpen_kernel` does not strengthen fine detail (random noise keeps or loses "
           "contrast); it should exaggerate differences from the neighbours.")
    corr = np.corrcoef(noise_out[..., 3].ravel(), noise_in.ravel())[0, 1]
    t.case(bool(corr > 0.5), "`sharpen_kernel` output does not look like its input any more; "
           "a sharpened image should still be the same image.")


# ----------------------------------------------------------------------------- q3
# (n rows, m columns, kernel, stride, padding, dilation); the first three are the syllabus's cases
SIZE_CASES = [(5, 5, 3, 1, 0, 1), (5, 5, 3, 2, 1, 1), (28, 28, 5, 1, 2, 1), (32, 31, 3, 2, 0, 1),
              (7, 8, 3, 3, 0, 1), (10, 13, 4, 3, 1, 1), (224, 224, 7, 2, 3, 1),
              (9, 12, 3, 1, 0, 2), (16, 15, 5, 1, 1, 3), (6, 11, 1, 2, 0, 1), (12, 9, 2, 2, 0, 1)]


def _keras_size(n, m, k, stride, padding, dilation):
    pad = keras.layers.ZeroPadding2D(padding)
    conv = keras.layers.Conv2D(1, k, strides=stride, dilation_rate=dilation)
    shape = conv.compute_output_shape(pad.compute_output_shape((1, n, m, 1)))
    return shape[1], shape[2]


@question(names=["conv_output_size"], hints=[
    "With padding P the input is N + 2P long; the kernel's first position covers K of those "
    "values and every further position moves S steps.",
    "Count how many whole steps of size S fit after the first position: floor((N + 2P - K) / S), "
    "then add 1 for the first position. `//` is the floor of a division.",
    "With dilation D a K-wide kernel spans D*(K-1) + 1 input values: use that in place of K."])
def q3(t, conv_output_size):
    """output size floor((N - K_eff + 2P) / S) + 1"""
    if not callable(conv_output_size):
        t.fail(f"`conv_output_size` should be a function, but it is a "
               f"{type(conv_output_size).__name__}.")
    for n, m, k, stride, padding, dilation in SIZE_CASES:
        want = _keras_size(n, m, k, stride, padding, dilation)
        for size, expected in ((n, want[0]), (m, want[1])):
            call = f"conv_output_size({size}, {k}, stride={stride}, padding={padding}, " \
                   f"dilation={dilation})"
            got = t.whole(t.call(conv_output_size, size, k, stride=stride, padding=padding,
                                 dilation=dilation, where=call), call)
            t.case(got == expected, f"`{call}` = {got} is not what Keras gives.")


# ----------------------------------------------------------------------------- q4
# ((rows, columns), kernel, stride, dilation)
SAME_CASES = [((6, 7), 3, 1, 1), ((5, 6), 3, 2, 1), ((8, 9), 4, 1, 1), ((9, 10), 4, 2, 1),
              ((7, 11), 5, 3, 1), ((6, 5), 1, 2, 1), ((10, 7), 3, 1, 2), ((8, 12), 2, 3, 1)]


def _padding_pair(t, value, call: str):
    if isinstance(value, (tuple, list, np.ndarray)) and len(value) != 2:
        t.fail(f"`{call}` returned {len(value)} values; it should return a pair "
               "`(before, after)`.")
    if not isinstance(value, (tuple, list, np.ndarray)):
        t.fail(f"`{call}` returned a {type(value).__name__}; it should return a pair of whole "
               "numbers `(before, after)`.")
    before, after = t.shape(value, call)
    if before < 0 or after < 0 or before + after > 100:
        t.fail(f"`{call}` returned {(before, after)}: paddings are small counts of zeros, "
               "never negative.")
    return before, after


def _keras_total(size, out, k, stride, dilation):
    """The total padding of 'same' along one axis: the fewest zeros with which ``out`` (Keras'
    output size) kernel positions fit."""
    return max((out - 1) * stride + dilation * (k - 1) + 1 - size, 0)


@question(names=["same_padding"], hints=[
    "'same' wants ceil(N / S) outputs. Work out how long the padded input must be for that "
    "many kernel positions, and subtract N: that is the total padding (never below 0).",
    "Total padding = max((ceil(N / S) - 1) * S + K_eff - N, 0), with K_eff = D*(K-1) + 1.",
    "TensorFlow puts the smaller half before: `before = total // 2`, `after = total - before`."])
def q4(t, same_padding):
    """the exact 'same' padding rule (asymmetric for even kernels or stride > 1)"""
    rng = np.random.default_rng(304)
    for (n, m), k, stride, dilation in SAME_CASES:
        pads = []
        for size in (n, m):
            call = f"same_padding({size}, {k}, stride={stride}, dilation={dilation})"
            pads.append(_padding_pair(t, t.call(same_padding, size, k, stride=stride,
                                                dilation=dilation, where=call), call))
        x = rng.normal(size=(1, n, m, 1)).astype(np.float32)
        kernel = rng.normal(size=(k, k, 1, 1)).astype(np.float32)
        same = keras.layers.Conv2D(1, k, strides=stride, dilation_rate=dilation,
                                   padding="same", use_bias=False)
        valid = keras.layers.Conv2D(1, k, strides=stride, dilation_rate=dilation,
                                    use_bias=False)
        same.build(x.shape)
        same.set_weights([kernel])
        padded = keras.layers.ZeroPadding2D(tuple(pads))(x)
        valid.build(padded.shape)
        valid.set_weights([kernel])
        expected = keras.ops.convert_to_numpy(same(x))
        got = keras.ops.convert_to_numpy(valid(padded))
        case = f"a {n}x{m} input, kernel {k}, stride {stride}, dilation {dilation}"
        totals = [_keras_total(size, out, k, stride, dilation)
                  for size, out in ((n, expected.shape[1]), (m, expected.shape[2]))]
        off = [axis for axis, pad, total in zip(("rows", "columns"), pads, totals)
               if sum(pad) != total]
        if got.shape != expected.shape:
            wrong = "rows" if got.shape[1] != expected.shape[1] else "columns"
            t.case(False, f"on {case}: your padding of the {wrong} gives a {got.shape[1]}x"
                   f"{got.shape[2]} output, not the size 'same' gives: the total is wrong.")
        elif off:
            t.case(False, f"on {case}: your padding of the {off[0]} gives the right output "
                   "size, but the total is wrong: with a stride several totals give that size, "
                   "and 'same' adds the fewest zeros with which the last kernel position fits.")
        else:
            t.case(np.allclose(got, expected, atol=1e-5),
                   f"on {case}: the total padding is right, but it is split between before and "
                   "after differently from Keras.")


# ----------------------------------------------------------------------------- q5
# (H, W, C_in, KH, KW, C_out, stride, padding, dilation)
CONV_CASES = [(7, 9, 1, 3, 3, 2, 1, "valid", 1), (8, 6, 3, 3, 3, 4, 2, "valid", 1),
              (9, 7, 16, 5, 3, 8, 1, "valid", 1), (6, 5, 2, 3, 3, 3, 1, "same", 1),
              (8, 7, 3, 3, 3, 2, 2, "same", 1), (9, 10, 2, 4, 4, 3, 2, "same", 1),
              (11, 10, 2, 3, 3, 2, 1, "valid", 2), (9, 8, 3, 3, 3, 2, 1, "same", 2),
              (5, 4, 32, 1, 1, 4, 1, "valid", 1), (10, 9, 4, 2, 3, 5, 3, "valid", 1)]


@question(names=["conv2d"], hints=[
    "Pad first (for 'same', with the rule of exercise 4, rows and columns separately), then "
    "compute the output size, then fill each output position.",
    "At output position (i, j) the patch starts at row i*stride and column j*stride and takes "
    "every `dilation`-th pixel: "
    "`xp[i*s : i*s + D*(KH-1) + 1 : D, j*s : j*s + D*(KW-1) + 1 : D, :]`.",
    "Multiply the (KH, KW, C_in) patch by the kernels and sum over the first three axes: "
    "`np.tensordot(patch, kernels, axes=3)` gives all C_out values at once; then add the bias."])
def q5(t, conv2d):
    """multi-channel conv2d with stride, 'valid'/'same' padding and dilation"""
    rng = np.random.default_rng(305)
    for h, w, c_in, kh, kw, c_out, stride, padding, dilation in CONV_CASES:
        x = rng.normal(size=(h, w, c_in)).astype(np.float32)
        kernels = rng.normal(size=(kh, kw, c_in, c_out)).astype(np.float32)
        bias = rng.normal(size=(c_out,)).astype(np.float32)
        expected = _keras_conv(x, kernels, bias, stride, padding, dilation)
        where = (f"a {h}x{w}x{c_in} input, {c_out} kernels of {kh}x{kw}, stride {stride}, "
                 f"padding '{padding}', dilation {dilation}")
        try:
            out = t.call(conv2d, x.copy(), kernels.copy(), bias.copy(), stride=stride,
                         padding=padding, dilation=dilation, where=where)
        except NotAttempted:
            if t.total == 0:
                raise
            t.fail(f"`conv2d` raised NotImplementedError on {where}: does it call a function "
                   "you have not written yet (`same_padding`?)")
        t.array(out, expected, f"conv2d on {where}", rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------- q6
# (k, c_in, c_out, groups, use_bias)
CONV_PARAM_CASES = [(3, 1, 32, 1, True), (3, 3, 64, 1, True), (5, 64, 128, 4, True),
                    (3, 32, 32, 32, True), (1, 256, 64, 1, True), (7, 3, 64, 1, False),
                    (3, 16, 32, 8, False)]


def _count_params(layer, c_in):
    layer.build((None, 16, 16, c_in))
    return layer.count_params()


@question(names=["conv_params"], hints=[
    "One kernel of a plain convolution has K*K*C_in weights, and there are C_out kernels, "
    "each with one bias.",
    "With `groups=G` each kernel only sees C_in / G input channels.",
    "(K*K*C_in/G + 1) * C_out with a bias, K*K*C_in/G * C_out without."])
def q6(t, conv_params):
    """parameters of a (grouped) Conv2D"""
    if not callable(conv_params):
        t.fail(f"`conv_params` should be a function, but it is a {type(conv_params).__name__}.")
    for k, c_in, c_out, groups, use_bias in CONV_PARAM_CASES:
        expected = _count_params(keras.layers.Conv2D(c_out, k, groups=groups, use_bias=use_bias),
                                 c_in)
        call = f"conv_params({k}, {c_in}, {c_out}, groups={groups}, use_bias={use_bias})"
        got = t.whole(t.call(conv_params, k, c_in, c_out, groups=groups, use_bias=use_bias,
                             where=call), call)
        t.case(got == expected, f"`{call}` = {got} differs from Keras' `count_params()`.")


# ----------------------------------------------------------------------------- q7
# (k, c_in, c_out, depth_multiplier)
SEPARABLE_CASES = [(3, 32, 64, 1), (3, 3, 16, 1), (5, 16, 24, 2), (3, 128, 128, 1), (7, 8, 4, 3)]


@question(names=["depthwise_params", "separable_params"], hints=[
    "A depthwise conv gives each input channel its own K x K kernels (`depth_multiplier` of "
    "them) and one bias per output channel it makes.",
    "A separable conv is a depthwise conv (no bias in Keras) followed by a 1x1 conv from "
    "C_in * depth_multiplier channels to C_out channels with a bias.",
    "depthwise: (K*K + 1) * C_in * M; separable: K*K*C_in*M + (C_in*M + 1) * C_out."])
def q7(t, depthwise_params, separable_params):
    """parameters of DepthwiseConv2D and SeparableConv2D"""
    for name, fn in (("depthwise_params", depthwise_params),
                     ("separable_params", separable_params)):
        if not callable(fn):
            t.fail(f"`{name}` should be a function, but it is a {type(fn).__name__}.")
    for k, c_in, c_out, mult in SEPARABLE_CASES:
        expected = _count_params(keras.layers.DepthwiseConv2D(k, depth_multiplier=mult), c_in)
        call = f"depthwise_params({k}, {c_in}, depth_multiplier={mult})"
        got = t.whole(t.call(depthwise_params, k, c_in, depth_multiplier=mult, where=call),
                      call)
        t.case(got == expected, f"`{call}` = {got} differs from Keras' `count_params()`.")
        expected = _count_params(keras.layers.SeparableConv2D(c_out, k, depth_multiplier=mult),
                                 c_in)
        call = f"separable_params({k}, {c_in}, {c_out}, depth_multiplier={mult})"
        got = t.whole(t.call(separable_params, k, c_in, c_out, depth_multiplier=mult,
                             where=call), call)
        t.case(got == expected, f"`{call}` = {got} differs from Keras' `count_params()`.")


# ----------------------------------------------------------------------------- q8
# lists of (kernel, stride, dilation); Keras forbids stride > 1 and dilation > 1 in one layer
RF_CASES = [[(3, 1, 1)], [(3, 1, 1)] * 3, [(5, 1, 1), (3, 1, 1)], [(3, 2, 1)] * 3,
            [(7, 2, 1), (3, 2, 1), (3, 1, 1)], [(3, 1, 1), (3, 1, 2), (3, 1, 4), (3, 1, 8)],
            [(3, 2, 1), (3, 1, 2), (1, 1, 1), (3, 1, 1)], [(2, 2, 1), (2, 2, 1), (3, 1, 3)]]


def keras_receptive_field(layers, length: int = 256) -> int:
    """The span of input positions that reach the first output of a stack of Keras 1D convolutions
    with all-ones kernels. Input i is a one-hot signal at position i (a batch of all of them), so
    only forward convolutions run: TF 2.21's CPU gradient of a convolution whose stride exceeds
    its kernel can crash the process."""
    y = np.eye(length, dtype="float32")[:, :, None]  # (length, length, 1): example i = one-hot at i
    for k, stride, dilation in layers:  # what Conv1D(1, k, ...) with a ones kernel computes
        y = keras.ops.conv(y, np.ones((k, 1, 1), "float32"), strides=stride, dilation_rate=dilation)
    reached = np.flatnonzero(keras.ops.convert_to_numpy(y)[:, 0, 0])
    return int(reached[-1] - reached[0] + 1)


@question(names=["receptive_field"], hints=[
    "Keep two numbers while walking through the layers: the receptive field r (start 1) and the "
    "jump j, the distance in input pixels between neighbouring positions of the current layer "
    "(start 1).",
    "A layer with kernel K and dilation D widens r by D*(K-1) positions of the current layer, "
    "each j input pixels apart; then its stride multiplies j.",
    "`r += d * (k - 1) * j` and then `j *= s`, for each layer in order."])
def q8(t, receptive_field):
    """receptive field of a stack of convolutions"""
    if not callable(receptive_field):
        t.fail(f"`receptive_field` should be a function, but it is a "
               f"{type(receptive_field).__name__}.")
    for layers in RF_CASES:
        expected = keras_receptive_field(layers)
        call = f"receptive_field({layers})"
        got = t.whole(t.call(receptive_field, [tuple(layer) for layer in layers], where=call),
                      call)
        t.case(got == expected, f"`{call}` = {got} is not the receptive field Keras shows.")
