"""Lesson 04 (pooling): correct answers PASS; plausible wrong answers FAIL with a clear message."""
import keras
import numpy as np

from helpers import answer_tests
from utils.checks import PASS, lesson04
from utils.checks.lesson04 import q5, q6


# ----------------------------------------------------------------------------- correct answers
def _windows(x, pool, stride):
    """Yield (i, j, window) for every output position (valid padding)."""
    (pr, pc), (sr, sc) = pool, stride
    rows, cols = (x.shape[1] - pr) // sr + 1, (x.shape[2] - pc) // sc + 1
    for i in range(rows):
        for j in range(cols):
            yield i, j, x[:, i * sr:i * sr + pr, j * sc:j * sc + pc, :]


def _pool(x, pool, stride, reduce):
    (pr, pc), (sr, sc) = pool, stride
    rows, cols = (x.shape[1] - pr) // sr + 1, (x.shape[2] - pc) // sc + 1
    out = np.empty((x.shape[0], rows, cols, x.shape[3]))
    for i, j, window in _windows(x, pool, stride):
        out[:, i, j, :] = reduce(window, axis=(1, 2))
    return out


def max_pool2d(x, pool, stride):
    return _pool(x, pool, stride, np.max)


def avg_pool2d(x, pool, stride):
    return _pool(x, pool, stride, np.mean)


def global_avg_pool(x):
    return x.mean(axis=(1, 2))


def max_pool2d_backward(x, grad_out, pool, stride, accumulate=True):
    (pr, pc), (sr, sc) = pool, stride
    dx = np.zeros_like(x)
    for i, j, window in _windows(x, pool, stride):
        for n in range(x.shape[0]):
            for c in range(x.shape[3]):
                a, b = np.unravel_index(np.argmax(window[n, :, :, c]), (pr, pc))
                if accumulate:
                    dx[n, i * sr + a, j * sc + b, c] += grad_out[n, i, j, c]
                else:
                    dx[n, i * sr + a, j * sc + b, c] = grad_out[n, i, j, c]
    return dx


def pool_kernel(channels, size):
    kernel = np.zeros((size, size, channels, channels))
    kernel[:, :, np.arange(channels), np.arange(channels)] = 1.0 / size**2
    return kernel


def head_params(feature_shape, units, classes, head):
    h, w, c = feature_shape
    inputs = h * w * c if head == "flatten" else c
    return (inputs + 1) * units + (units + 1) * classes


def build_cnn(head):
    return lesson04.reference_cnn(head)


CORRECT = {"q1": {"max_pool2d": max_pool2d},
           "q2": {"avg_pool2d": avg_pool2d, "global_avg_pool": global_avg_pool},
           "q3": {"max_pool2d_backward": max_pool2d_backward},
           "q4": {"pool_kernel": pool_kernel},
           "q5": {"head_params": head_params},
           "q6": {"build_cnn": build_cnn}}


def test_equivalent_model_with_separate_activations_passes():
    def separate(head):
        L = keras.layers
        return keras.Sequential([
            keras.Input((28, 28, 1)), L.Conv2D(16, (3, 3), padding="same"), L.ReLU(),
            L.MaxPooling2D((2, 2), strides=2),
            L.Conv2D(32, 3, padding="same"), L.Activation("relu"),
            L.MaxPooling2D(), L.Flatten() if head == "flatten" else L.GlobalAveragePooling2D(),
            L.Dense(64), L.ReLU(), L.Dense(10), L.Softmax()])

    assert q6.evaluate(namespace={}, build_cnn=separate).status == PASS


# ----------------------------------------------------------------------------- wrong answers
def _ceil_pool(x, pool, stride):
    """Off by one: rounds the output size up and pools the partial windows at the border."""
    (pr, pc), (sr, sc) = pool, stride
    rows, cols = -(-(x.shape[1] - pr) // sr) + 1, -(-(x.shape[2] - pc) // sc) + 1
    out = np.empty((x.shape[0], rows, cols, x.shape[3]))
    for i in range(rows):
        for j in range(cols):
            out[:, i, j] = x[:, i * sr:i * sr + pr, j * sc:j * sc + pc].max(axis=(1, 2))
    return out


def _zero_start_max(x, pool, stride):
    """Starts from zeros and takes maxima with them: all-negative windows give 0."""
    return np.maximum(max_pool2d(x, pool, stride), 0.0)


def _stride_is_pool(x, pool, stride):
    return max_pool2d(x, pool, pool)


def _pool_over_channels(x, pool, stride):
    """Reduces over the channel axis too: one value per window for all channels."""
    out = max_pool2d(x, pool, stride)
    return np.repeat(out.max(axis=3, keepdims=True), x.shape[3], axis=3)


def _sum_pool(x, pool, stride):
    return _pool(x, pool, stride, np.sum)


def _even_split_backward(x, grad_out, pool, stride):
    """Spreads each upstream gradient evenly over its window (average pooling's gradient)."""
    (pr, pc), (sr, sc) = pool, stride
    dx = np.zeros_like(x)
    for i, j, _ in _windows(x, pool, stride):
        share = grad_out[:, i:i + 1, j:j + 1, :] / (pr * pc)
        dx[:, i * sr:i * sr + pr, j * sc:j * sc + pc, :] += share
    return dx


def _cnn(head, pooling=True, softmax=True):
    """The exercise's CNN with the pooling layers or the softmax left out."""
    L = keras.layers

    def pool():
        return [L.MaxPooling2D(2)] if pooling else []

    return keras.Sequential(
        [keras.Input((28, 28, 1)), L.Conv2D(16, 3, padding="same", activation="relu"), *pool(),
         L.Conv2D(32, 3, padding="same", activation="relu"), *pool(),
         L.Flatten() if head == "flatten" else L.GlobalAveragePooling2D(),
         L.Dense(64, activation="relu"), L.Dense(10, activation="softmax" if softmax else None)])


WRONG = {
    "q1": [({"max_pool2d": _ceil_pool},
            "max_pool2d on stride larger than the window: 7x7x1 input, pool 2x2, stride 3` "
            "has shape (1, 3, 3, 1) but should have"),
           ({"max_pool2d": _zero_start_max},
            "max_pool2d on the 4x4 example, pool 2x2, stride 2` is wrong"),
           ({"max_pool2d": _stride_is_pool}, "max_pool2d on overlapping windows"),
           ({"max_pool2d": _pool_over_channels}, "is wrong at"),
           ({"max_pool2d": lambda x, pool, stride: max_pool2d(x, pool, stride).swapaxes(1, 2)},
            "non-square")],
    "q2": [({"avg_pool2d": _sum_pool, "global_avg_pool": global_avg_pool},
            "avg_pool2d on the 4x4 example, pool 2x2, stride 2` is wrong"),
           ({"avg_pool2d": avg_pool2d,
             "global_avg_pool": lambda x: x.mean(axis=(1, 2), keepdims=True)},
            "global_avg_pool on a 4x4x3 feature map (batch of 2)` has shape (2, 1, 1, 3)"),
           ({"avg_pool2d": avg_pool2d, "global_avg_pool": lambda x: x.mean(axis=(1, 2, 3))},
            "should have shape (2, 3)"),
           ({"avg_pool2d": avg_pool2d, "global_avg_pool": lambda x: x.max(axis=(1, 2))},
            "global_avg_pool on a 5x7x8 feature map")],
    "q3": [({"max_pool2d_backward": lambda *a: max_pool2d_backward(*a, accumulate=False)},
            "max_pool2d_backward on overlapping windows"),
           ({"max_pool2d_backward": _even_split_backward},
            "max_pool2d_backward on the 4x4 example, pool 2x2, stride 2` is wrong"),
           ({"max_pool2d_backward": lambda x, g, pool, stride: g},
            "should have shape (1, 4, 4, 1)")],
    "q4": [({"pool_kernel": lambda c, size: np.full((size, size, c, c), 1 / size**2)},
            "only channel 0 is non-zero (channels must not mix)"),
           ({"pool_kernel": lambda channels, size: pool_kernel(channels, size) * size},
            "Conv2D(strides=2) with pool_kernel(channels=1, size=2)"),
           ({"pool_kernel": lambda channels, size: np.full((size, size), 1 / size**2)},
            "needs (size, size, channels, channels)")],
    "q5": [({"head_params": lambda s, u, k, head: head_params(s, u, k, head) - u - k},
            "which is too few parameters"),
           ({"head_params": lambda s, u, k, head: (s[0] * s[1] * s[2] + 1) * u + (u + 1) * k},
            "head_params((4, 4, 64), 128, 10, 'gap') gives 132,490, which is too many"),
           ({"head_params": lambda s, u, k, head: str(head_params(s, u, k, head))},
            "should return a whole number")],
    "q6": [({"build_cnn": lambda head: _cnn(head, softmax=False)}, "is missing"),
           ({"build_cnn": lambda head: lesson04.reference_cnn("flatten")}, "build_cnn('gap')"),
           ({"build_cnn": lambda head: _cnn(head, pooling=False)},
            "is missing a MaxPooling2D after layer 1 (Conv2D)"),
           ({"build_cnn": lambda head: None}, "is None")],
}


(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(lesson04, CORRECT, WRONG)


def test_messages_never_show_the_expected_count():
    result = q5.evaluate(namespace={}, head_params=lambda s, u, k, head: 1)
    assert "132,490" not in " ".join(result.messages) and "132490" not in " ".join(result.messages)
