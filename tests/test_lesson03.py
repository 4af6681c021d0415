"""Lesson 03 (convolution): reference answers PASS, plausible mistakes FAIL with a clear message."""
import math

import numpy as np
import tensorflow as tf
from helpers import answer_tests

from utils.checks import lesson03


# ----------------------------------------------------------------------------- reference answers
def conv2d_single(image, kernel):
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i:i + kh, j:j + kw] * kernel)
    return out


KERNELS = {
    "horizontal_edge": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=float),
    "vertical_edge": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float),
    "blur_kernel": np.full((3, 3), 1 / 9),
    "sharpen_kernel": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=float),
}


def conv_output_size(n, k, stride=1, padding=0, dilation=1):
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1


def same_padding(n, k, stride=1, dilation=1):
    total = max((math.ceil(n / stride) - 1) * stride + dilation * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def conv2d(x, kernels, bias, stride=1, padding="valid", dilation=1):
    kh, kw = kernels.shape[:2]
    if padding == "same":
        rows = same_padding(x.shape[0], kh, stride, dilation)
        cols = same_padding(x.shape[1], kw, stride, dilation)
        x = np.pad(x, (rows, cols, (0, 0)))
    span_h, span_w = dilation * (kh - 1) + 1, dilation * (kw - 1) + 1
    out_h = (x.shape[0] - span_h) // stride + 1
    out_w = (x.shape[1] - span_w) // stride + 1
    out = np.zeros((out_h, out_w, kernels.shape[3]))
    for i in range(out_h):
        for j in range(out_w):
            patch = x[i * stride:i * stride + span_h:dilation,
                      j * stride:j * stride + span_w:dilation]
            out[i, j] = np.tensordot(patch, kernels, axes=3)
    return out + bias


def conv_params(k, c_in, c_out, groups=1, use_bias=True):
    return (k * k * c_in // groups + int(use_bias)) * c_out


def depthwise_params(k, c_in, depth_multiplier=1):
    return (k * k + 1) * c_in * depth_multiplier


def separable_params(k, c_in, c_out, depth_multiplier=1):
    return k * k * c_in * depth_multiplier + (c_in * depth_multiplier + 1) * c_out


def receptive_field(layers):
    r, jump = 1, 1
    for k, s, d in layers:
        r += d * (k - 1) * jump
        jump *= s
    return r


# written differently: sliding windows, TensorFlow ops, loops over the taps, other formulas
def conv2d_single_windows(image, kernel):
    windows = np.lib.stride_tricks.sliding_window_view(image, kernel.shape)
    return np.einsum("ijab,ab->ij", windows, kernel)


def conv2d_single_tf(image, kernel):
    out = tf.nn.conv2d(image[None, :, :, None], kernel[:, :, None, None], 1, "VALID")
    return out.numpy()[0, :, :, 0]


def conv2d_single_taps(image, kernel):
    """One shifted copy of the image per kernel tap, in float64."""
    (h, w), (kh, kw) = image.shape, kernel.shape
    out = np.zeros((h - kh + 1, w - kw + 1), dtype=np.float64)
    for a in range(kh):
        for b in range(kw):
            out += kernel[a, b] * image[a:a + out.shape[0], b:b + out.shape[1]]
    return out


INT_KERNELS = {  # Prewitt edges as ints, a Gaussian blur, the image plus (image minus its blur)
    "horizontal_edge": np.array([[1, 1, 1], [0, 0, 0], [-1, -1, -1]]),
    "vertical_edge": np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]),
    "blur_kernel": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16,
    "sharpen_kernel": 2 * np.pad([[1.0]], 1) - np.full((3, 3), 1 / 9),
}
LIST_KERNELS = {name: value.tolist() for name, value in KERNELS.items()}


def conv_output_size_floor(n, k, stride=1, padding=0, dilation=1):
    return math.floor((n + 2 * padding - (dilation * (k - 1) + 1)) / stride) + 1


def conv_output_size_float(n, k, stride=1, padding=0, dilation=1):
    """np.floor returns a float64 with a whole value: the count 3.0 is the count 3."""
    return np.floor((n + 2 * padding - dilation * (k - 1) - 1) / stride) + 1


def same_padding_ceil(n, k, stride=1, dilation=1):
    outputs = -(-n // stride)
    total = max((outputs - 1) * stride + dilation * (k - 1) + 1 - n, 0)
    return [total // 2, (total + 1) // 2]


def same_padding_search(n, k, stride=1, dilation=1):
    """The smallest total with which ceil(n / stride) positions fit, as a NumPy array."""
    total = 0
    while conv_output_size(n + total, k, stride, 0, dilation) < math.ceil(n / stride):
        total += 1
    return np.array([total // 2, total - total // 2])


def _same(x, kh, kw, stride, dilation):
    rows = same_padding(x.shape[0], kh, stride, dilation)
    cols = same_padding(x.shape[1], kw, stride, dilation)
    return np.pad(x, (rows, cols, (0, 0)))


def conv2d_windows(x, kernels, bias, stride=1, padding="valid", dilation=1):
    kh, kw = kernels.shape[:2]
    if padding == "same":
        x = _same(x, kh, kw, stride, dilation)
    span = (dilation * (kh - 1) + 1, dilation * (kw - 1) + 1)
    windows = np.lib.stride_tricks.sliding_window_view(x, span, axis=(0, 1))
    windows = windows[::stride, ::stride, :, ::dilation, ::dilation]   # (H', W', C_in, KH, KW)
    return np.einsum("ijcab,abco->ijo", windows, kernels) + bias


def conv2d_tf(x, kernels, bias, stride=1, padding="valid", dilation=1):
    out = tf.nn.conv2d(x[None], kernels, strides=stride, padding=padding.upper(),
                       dilations=dilation)
    return (out[0] + bias).numpy()


def conv2d_taps(x, kernels, bias, stride=1, padding="valid", dilation=1):
    """A loop over the KH x KW taps; each tap multiplies a strided view of the whole image."""
    kh, kw, _, c_out = kernels.shape
    if padding == "same":
        x = _same(x, kh, kw, stride, dilation)
    out_h = conv_output_size(x.shape[0], kh, stride, 0, dilation)
    out_w = conv_output_size(x.shape[1], kw, stride, 0, dilation)
    out = np.zeros((out_h, out_w, c_out), dtype=np.float64) + bias
    for a in range(kh):
        for b in range(kw):
            view = x[a * dilation::stride, b * dilation::stride][:out_h, :out_w]
            out += view @ kernels[a, b]
    return out


def conv_params_float(k, c_in, c_out, groups=1, use_bias=True):
    """`/` gives a float with a whole value: accepted, like any whole number."""
    return (k * k * c_in / groups + int(use_bias)) * c_out


def conv_params_by_group(k, c_in, c_out, groups=1, use_bias=True):
    per_group = k * k * (c_in // groups) * (c_out // groups)
    return groups * per_group + (c_out if use_bias else 0)


def separable_from_depthwise(k, c_in, c_out, depth_multiplier=1):
    channels = c_in * depth_multiplier
    return depthwise_params(k, c_in, depth_multiplier) - channels + channels * c_out + c_out


def receptive_field_backwards(layers):
    """From the output back to the input: r <- (r - 1) * s + d * (k - 1) + 1."""
    r = 1
    for k, s, d in reversed(layers):
        r = (r - 1) * s + d * (k - 1) + 1
    return r


def receptive_field_jumps(layers):
    jumps = np.cumprod([1] + [s for _, s, _ in layers])[:-1]
    return 1 + int(sum(d * (k - 1) * j for (k, _, d), j in zip(layers, jumps)))


CORRECT = [
    ("q1", {"conv2d_single": conv2d_single}), ("q1", {"conv2d_single": conv2d_single_windows}),
    ("q1", {"conv2d_single": conv2d_single_tf}), ("q1", {"conv2d_single": conv2d_single_taps}),
    ("q2", KERNELS), ("q2", INT_KERNELS), ("q2", LIST_KERNELS),
    ("q3", {"conv_output_size": conv_output_size}),
    ("q3", {"conv_output_size": conv_output_size_floor}),
    ("q3", {"conv_output_size": conv_output_size_float}),
    ("q4", {"same_padding": same_padding}), ("q4", {"same_padding": same_padding_ceil}),
    ("q4", {"same_padding": same_padding_search}),
    ("q5", {"conv2d": conv2d}), ("q5", {"conv2d": conv2d_windows}), ("q5", {"conv2d": conv2d_tf}),
    ("q5", {"conv2d": conv2d_taps}),
    ("q6", {"conv_params": conv_params}), ("q6", {"conv_params": conv_params_float}),
    ("q6", {"conv_params": conv_params_by_group}),
    ("q7", {"depthwise_params": depthwise_params, "separable_params": separable_params}),
    ("q7", {"depthwise_params": lambda k, c_in, depth_multiplier=1:
            k * k * c_in * depth_multiplier + c_in * depth_multiplier,
            "separable_params": separable_from_depthwise}),
    ("q7", {"depthwise_params": lambda k, c_in, depth_multiplier=1:
            float((k * k + 1) * c_in * depth_multiplier),
            "separable_params": lambda k, c_in, c_out, depth_multiplier=1:
            np.int64(separable_params(k, c_in, c_out, depth_multiplier))}),
    ("q8", {"receptive_field": receptive_field}),
    ("q8", {"receptive_field": receptive_field_backwards}),
    ("q8", {"receptive_field": receptive_field_jumps}),
]


# ----------------------------------------------------------------------------- wrong answers
def flipped_convolution(image, kernel):
    """true convolution (kernel flipped), not what Keras computes"""
    return conv2d_single(image, kernel[::-1, ::-1])


def one_row_short(image, kernel):
    """off by one: range(H - KH) instead of range(H - KH + 1)"""
    return conv2d_single(image, kernel)[:-1]


def rounds_up(n, k, stride=1, padding=0, dilation=1):
    return math.ceil((n + 2 * padding - dilation * (k - 1) - 1) / stride) + 1


def true_division(n, k, stride=1, padding=0, dilation=1):
    return (n + 2 * padding - dilation * (k - 1) - 1) / stride + 1


def ignores_dilation(n, k, stride=1, padding=0, dilation=1):
    return (n + 2 * padding - k) // stride + 1


def symmetric_padding(n, k, stride=1, dilation=1):
    """pads (K-1)/2 on both sides, right only at stride 1 with odd kernels"""
    half = (dilation * (k - 1)) // 2
    return half, half


def extra_zero_before(n, k, stride=1, dilation=1):
    before, after = same_padding(n, k, stride, dilation)
    return after, before


def no_max_zero(n, k, stride=1, dilation=1):
    total = (math.ceil(n / stride) - 1) * stride + dilation * (k - 1) + 1 - n
    return total // 2, total - total // 2


def no_bias(x, kernels, bias, stride=1, padding="valid", dilation=1):
    return conv2d(x, kernels, 0 * bias, stride, padding, dilation)


def same_as_symmetric(x, kernels, bias, stride=1, padding="valid", dilation=1):
    if padding == "same":  # floor half of the total on the top/left: wrong side for odd totals
        kh, kw = kernels.shape[:2]
        rows, cols = (same_padding(n, k, stride, dilation)[::-1]
                      for n, k in ((x.shape[0], kh), (x.shape[1], kw)))
        x, padding = np.pad(x, (rows, cols, (0, 0))), "valid"
    return conv2d(x, kernels, bias, stride, padding, dilation)


def stride_ignored(x, kernels, bias, stride=1, padding="valid", dilation=1):
    return conv2d(x, kernels, bias, 1, padding, dilation)


def stub_same(x, kernels, bias, stride=1, padding="valid", dilation=1):
    if padding == "same":
        raise NotImplementedError()
    return conv2d(x, kernels, bias, stride, padding, dilation)


def params_no_bias(k, c_in, c_out, groups=1, use_bias=True):
    return k * k * c_in // groups * c_out


def params_no_groups(k, c_in, c_out, groups=1, use_bias=True):
    return (k * k * c_in + int(use_bias)) * c_out


def params_groups_on_outputs(k, c_in, c_out, groups=1, use_bias=True):
    """divides the whole count by the groups instead of the input channels of a kernel"""
    return (k * k * c_in + int(use_bias)) * c_out // groups


def pads_as_stride_1(n, k, stride=1, dilation=1):
    """the stride-1 total K_eff - 1 at every stride: the right output size at stride 3 for 11
    values and kernel 5, but one zero too many, put before"""
    total = dilation * (k - 1)
    return total // 2, total - total // 2


def one_extra_zero_after(n, k, stride=1, dilation=1):
    """a zero after that no kernel position reads (at stride 2 on an odd length)"""
    before, after = same_padding(n, k, stride, dilation)
    return before, after + (stride > 1)


def separable_with_depthwise_bias(k, c_in, c_out, depth_multiplier=1):
    return depthwise_params(k, c_in, depth_multiplier) + (c_in * depth_multiplier + 1) * c_out


def depthwise_no_multiplier(k, c_in, depth_multiplier=1):
    return (k * k + 1) * c_in


def rf_no_jump(layers):
    return 1 + sum(d * (k - 1) for k, s, d in layers)


def rf_stride_too_early(layers):
    r, jump = 1, 1
    for k, s, d in layers:
        jump *= s
        r += d * (k - 1) * jump
    return r


def rf_ignores_dilation(layers):
    return receptive_field([(k, s, 1) for k, s, d in layers])


def _kernels(**changes):
    return {**KERNELS, **changes}


WRONG = {
    "q1": [({"conv2d_single": flipped_convolution}, "is wrong at"),
           ({"conv2d_single": one_row_short}, "should have shape"),
           ({"conv2d_single": lambda image, kernel: image.T @ kernel}, "raised ValueError")],
    "q2": [(_kernels(horizontal_edge=KERNELS["vertical_edge"]), "responds to a vertical edge"),
           (_kernels(vertical_edge=KERNELS["vertical_edge"] + 0.1), "responds to a flat"),
           (_kernels(blur_kernel=np.ones((3, 3))), "changes the brightness of a flat image"),
           (_kernels(blur_kernel=np.eye(3)[1:2].T @ np.eye(3)[1:2]), "hardly smooths"),
           (_kernels(sharpen_kernel=-KERNELS["sharpen_kernel"]), "changes the brightness"),
           (_kernels(sharpen_kernel=np.full((3, 3), 1 / 9)), "does not strengthen"),
           (_kernels(blur_kernel=np.ones((5, 5)) / 25),
            "`blur_kernel` has shape (5, 5); it should have shape (3, 3)"),
           (_kernels(sharpen_kernel="[[0, -1, 0], [-1, 5, -1], [0, -1, 0]]"),
            "`sharpen_kernel` should be an array of numbers, but it is a str"),
           (_kernels(horizontal_edge=np.zeros((3, 3))), "all zeros")],
    "q3": [({"conv_output_size": rounds_up}, "is not what Keras gives"),
           ({"conv_output_size": true_division},
            "`conv_output_size(32, 3, stride=2, padding=0, dilation=1)` is 15.5, not a whole "
            "number"),
           ({"conv_output_size": ignores_dilation}, "dilation=2)` = 10 is not what Keras gives")],
    "q4": [({"same_padding": symmetric_padding}, "the total is wrong"),
           ({"same_padding": extra_zero_before}, "split between before and after"),
           ({"same_padding": no_max_zero}, "never negative"),
           ({"same_padding": pads_as_stride_1},
            "on a 7x11 input, kernel 5, stride 3, dilation 1: your padding of the columns gives "
            "the right output size, but the total is wrong"),
           ({"same_padding": one_extra_zero_after},
            "on a 5x6 input, kernel 3, stride 2, dilation 1: your padding of the rows gives the "
            "right output size, but the total is wrong"),
           ({"same_padding": lambda n, k, stride=1, dilation=1: (k - 1) // 2},
            "it should return a pair of whole numbers `(before, after)`"),
           ({"same_padding": lambda n, k, stride=1, dilation=1: (0, 1, 1)}, "returned 3 values")],
    "q5": [({"conv2d": no_bias}, "is wrong at"),
           ({"conv2d": same_as_symmetric}, "padding 'same'"),
           ({"conv2d": stride_ignored}, "stride 2, padding 'valid', dilation 1` has shape"),
           ({"conv2d": stub_same}, "does it call a function you have not written yet")],
    "q6": [({"conv_params": params_no_bias}, "differs from Keras"),
           ({"conv_params": params_no_groups}, "groups=4, use_bias=True)` = 204928 differs"),
           ({"conv_params": params_groups_on_outputs},
            "`conv_params(5, 64, 128, groups=4, use_bias=True)` = 51232 differs")],
    "q7": [({"depthwise_params": depthwise_params,
             "separable_params": separable_with_depthwise_bias},
            "`separable_params(3, 32, 64, depth_multiplier=1)` = 2432 differs"),
           ({"depthwise_params": depthwise_no_multiplier, "separable_params": separable_params},
            "depthwise_params(5, 16, depth_multiplier=2)` = 416 differs"),
           ({"depthwise_params": depthwise_params, "separable_params": 42},
            "should be a function")],
    "q8": [({"receptive_field": rf_no_jump}, "is not the receptive field Keras shows"),
           ({"receptive_field": rf_stride_too_early}, "(3, 2, 1)])` = 29 is not"),
           ({"receptive_field": rf_ignores_dilation}, "(3, 1, 8)])` = 9 is not")],
}


(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(lesson03, CORRECT, WRONG)


def test_receptive_field_reference_is_the_span():
    """A kernel-1 stride-2 layer leaves holes; the receptive field is still the span."""
    assert lesson03.keras_receptive_field([(1, 2, 1), (3, 1, 1)]) == 5
