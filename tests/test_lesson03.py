"""Lesson 03 (convolution): reference answers PASS, plausible mistakes FAIL with a clear message."""
import math

import numpy as np
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


REFERENCE = {
    "q1": {"conv2d_single": conv2d_single},
    "q2": KERNELS,
    "q3": {"conv_output_size": conv_output_size},
    "q4": {"same_padding": same_padding},
    "q5": {"conv2d": conv2d},
    "q6": {"conv_params": conv_params},
    "q7": {"depthwise_params": depthwise_params, "separable_params": separable_params},
    "q8": {"receptive_field": receptive_field},
}


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


def params_float(k, c_in, c_out, groups=1, use_bias=True):
    return (k * k * c_in / groups + int(use_bias)) * c_out


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
           (_kernels(blur_kernel=np.ones((5, 5)) / 25), "should be a 3x3 array"),
           (_kernels(horizontal_edge=np.zeros((3, 3))), "all zeros")],
    "q3": [({"conv_output_size": rounds_up}, "is not what Keras gives"),
           ({"conv_output_size": true_division}, "returned the float"),
           ({"conv_output_size": ignores_dilation}, "dilation=2)` = 10 is not what Keras gives")],
    "q4": [({"same_padding": symmetric_padding}, "the total is wrong"),
           ({"same_padding": extra_zero_before}, "split between before and after"),
           ({"same_padding": no_max_zero}, "never negative"),
           ({"same_padding": lambda n, k, stride=1, dilation=1: (k - 1) // 2}, "a pair of ints")],
    "q5": [({"conv2d": no_bias}, "is wrong at"),
           ({"conv2d": same_as_symmetric}, "padding 'same'"),
           ({"conv2d": stride_ignored}, "stride 2, padding 'valid', dilation 1` has shape"),
           ({"conv2d": stub_same}, "does it call a function you have not written yet")],
    "q6": [({"conv_params": params_no_bias}, "differs from Keras"),
           ({"conv_params": params_no_groups}, "groups=4, use_bias=True)` = 204928 differs"),
           ({"conv_params": params_float}, "returned the float")],
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
    answer_tests(lesson03, REFERENCE, WRONG)


def test_receptive_field_reference_is_the_span():
    """A kernel-1 stride-2 layer leaves holes; the receptive field is still the span."""
    assert lesson03.keras_receptive_field([(1, 2, 1), (3, 1, 1)]) == 5
