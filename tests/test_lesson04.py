"""Lesson 04 (pooling): correct answers PASS; plausible wrong answers FAIL with a clear message."""
import math

import keras
import numpy as np
import tensorflow as tf
from helpers import answer_tests

from utils.checks import lesson04
from utils.checks.lesson04 import q5


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


# written differently: sliding windows, TensorFlow ops returning NumPy, a tape, the functional API
def _view(x, pool, stride):
    """(N, rows, cols, C, p_r, p_c) windows of x without a copy."""
    sr, sc = stride
    return np.lib.stride_tricks.sliding_window_view(x, pool, axis=(1, 2))[:, ::sr, ::sc]


def max_pool2d_windows(x, pool, stride):
    return _view(x, pool, stride).max(axis=(-2, -1))


def max_pool2d_tf(x, pool, stride):
    return tf.nn.max_pool2d(x, pool, stride, "VALID").numpy()


def avg_pool2d_windows(x, pool, stride):
    return _view(x.astype(np.float64), pool, stride).mean(axis=(-2, -1))


def avg_pool2d_keras(x, pool, stride):
    return keras.ops.convert_to_numpy(keras.layers.AveragePooling2D(pool, stride)(x))


def max_pool2d_backward_tape(x, grad_out, pool, stride):
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = tf.nn.max_pool2d(xt, pool, stride, "VALID")
    return tape.gradient(y, xt, output_gradients=tf.constant(grad_out)).numpy()


def max_pool2d_backward_vectorised(x, grad_out, pool, stride):
    """One argmax per window over the flattened window axes, then np.add.at (adds repeats)."""
    (pr, pc), (sr, sc) = pool, stride
    windows = _view(x, pool, stride)                         # (N, rows, cols, C, pr, pc)
    a, b = np.unravel_index(windows.reshape(*windows.shape[:4], -1).argmax(-1), (pr, pc))
    n, i, j, c = np.indices(grad_out.shape)
    dx = np.zeros_like(x, dtype=np.float64)
    np.add.at(dx, (n, i * sr + a, j * sc + b, c), grad_out)
    return dx


def pool_kernel_eye(channels, size):
    return np.ones((size, size, 1, 1)) * np.eye(channels) / size**2


def pool_kernel_einsum(channels, size):
    return np.einsum("ab,io->abio", np.full((size, size), 1 / size**2, np.float32),
                     np.eye(channels, dtype=np.float32))


def head_params_per_layer(feature_shape, units, classes, head):
    inputs = math.prod(feature_shape) if head == "flatten" else feature_shape[-1]
    hidden = inputs * units + units
    return hidden + units * classes + classes


def head_params_float(feature_shape, units, classes, head):
    h, w, c = feature_shape
    inputs = h * w * c if head == "flatten" else c
    return float((inputs + 1) * units + (units + 1) * classes)


def _reduce(head):
    return keras.layers.Flatten() if head == "flatten" else keras.layers.GlobalAveragePooling2D()


def build_cnn_tf_activations(head):
    L = keras.layers
    return keras.Sequential([
        keras.Input((28, 28, 1)), L.Conv2D(16, 3, padding="same", activation=tf.nn.relu),
        L.MaxPooling2D(2), L.Conv2D(32, (3, 3), padding="same", activation=tf.nn.relu),
        L.MaxPooling2D(), _reduce(head), L.Dense(64, activation=tf.nn.relu),
        L.Dense(10, activation=tf.nn.softmax)])


def build_cnn_functional(head):
    L = keras.layers
    inputs = keras.Input((28, 28, 1))
    x = L.Conv2D(16, (3, 3), padding="same", activation=keras.activations.relu)(inputs)
    x = L.MaxPool2D(pool_size=(2, 2), strides=(2, 2))(x)
    x = L.Conv2D(32, 3, padding="same", activation=keras.ops.relu)(x)
    x = L.MaxPooling2D(2)(x)
    x = L.Dense(64, activation="relu")(_reduce(head)(x))
    return keras.Model(inputs, L.Dense(10, activation=keras.activations.softmax)(x))


def build_cnn_separate_activations(head):
    L = keras.layers
    return keras.Sequential([
        keras.Input((28, 28, 1)), L.Conv2D(16, (3, 3), padding="same"), L.ReLU(),
        L.MaxPooling2D((2, 2), strides=2),
        L.Conv2D(32, 3, padding="same"), L.Activation(tf.nn.relu),
        L.MaxPooling2D(), _reduce(head),
        L.Dense(64), L.Activation("relu"), L.Dense(10), L.Activation(tf.nn.softmax)])


def build_cnn_softmax_layer(head):
    L = keras.layers
    return keras.Sequential([
        keras.Input((28, 28, 1)), L.Conv2D(16, 3, padding="same", activation="relu"),
        L.MaxPooling2D(2), L.Conv2D(32, 3, padding="same", activation="relu"), L.MaxPooling2D(2),
        _reduce(head), L.Dense(64, activation="relu"), L.Dense(10), L.Softmax()])


CORRECT = [
    ("q1", {"max_pool2d": max_pool2d}), ("q1", {"max_pool2d": max_pool2d_windows}),
    ("q1", {"max_pool2d": max_pool2d_tf}),
    ("q2", {"avg_pool2d": avg_pool2d, "global_avg_pool": global_avg_pool}),
    ("q2", {"avg_pool2d": avg_pool2d_windows,
            "global_avg_pool": lambda x: x.sum(axis=(1, 2)) / (x.shape[1] * x.shape[2])}),
    ("q2", {"avg_pool2d": avg_pool2d_keras,
            "global_avg_pool": lambda x: keras.layers.GlobalAveragePooling2D()(x).numpy()}),
    ("q3", {"max_pool2d_backward": max_pool2d_backward}),
    ("q3", {"max_pool2d_backward": max_pool2d_backward_tape}),
    ("q3", {"max_pool2d_backward": max_pool2d_backward_vectorised}),
    ("q4", {"pool_kernel": pool_kernel}), ("q4", {"pool_kernel": pool_kernel_eye}),
    ("q4", {"pool_kernel": pool_kernel_einsum}),
    ("q5", {"head_params": head_params}), ("q5", {"head_params": head_params_per_layer}),
    ("q5", {"head_params": head_params_float}),
    ("q6", {"build_cnn": build_cnn}), ("q6", {"build_cnn": build_cnn_tf_activations}),
    ("q6", {"build_cnn": build_cnn_functional}),
    ("q6", {"build_cnn": build_cnn_separate_activations}),
    ("q6", {"build_cnn": build_cnn_softmax_layer}),
]


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


def _cnn(head, pooling=True, softmax=True, **layers):
    """The exercise's CNN with the pooling layers or the softmax left out, or with some of its
    layers (by their number in the table, e.g. ``l2=AveragePooling2D(2)``; None drops it)
    replaced."""
    L = keras.layers
    table = {"l1": L.Conv2D(16, 3, padding="same", activation="relu"),
             "l2": L.MaxPooling2D(2) if pooling else None,
             "l3": L.Conv2D(32, 3, padding="same", activation="relu"),
             "l4": L.MaxPooling2D(2) if pooling else None, "l5": _reduce(head),
             "l6": L.Dense(64, activation="relu"),
             "l7": L.Dense(10, activation="softmax" if softmax else None)}
    table.update(layers)
    return keras.Sequential([keras.Input((28, 28, 1))] + [x for x in table.values() if x])


def _separate_with_average_pooling(head):
    L = keras.layers
    return keras.Sequential([
        keras.Input((28, 28, 1)), L.Conv2D(16, 3, padding="same"), L.ReLU(), L.AveragePooling2D(2),
        L.Conv2D(32, 3, padding="same"), L.ReLU(), L.MaxPooling2D(2), _reduce(head),
        L.Dense(64), L.ReLU(), L.Dense(10), L.Softmax()])


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
            "head_params((4, 4, 64), 128, 10, 'flatten')` is a str; it should be one number")],
    "q6": [({"build_cnn": lambda head: _cnn(head, softmax=False)},
            "`build_cnn('flatten')` is missing an Activation after layer 7 (Dense)"),
           ({"build_cnn": lambda head: lesson04.reference_cnn("flatten")},
            "layer 5 (Flatten) of `build_cnn('gap')` is a Flatten; the required architecture has "
            "a GlobalAveragePooling2D there"),
           ({"build_cnn": lambda head: _cnn(head, pooling=False)},
            "is missing a MaxPooling2D after layer 1 (Conv2D)"),
           ({"build_cnn": lambda head: _cnn(head, l2=keras.layers.AveragePooling2D(2))},
            "layer 2 (AveragePooling2D) of `build_cnn('flatten')` is an AveragePooling2D; the "
            "required architecture has a MaxPooling2D there"),
           ({"build_cnn": _separate_with_average_pooling},
            "layer 3 (AveragePooling2D) of `build_cnn('flatten')` is an AveragePooling2D"),
           ({"build_cnn": lambda head: _cnn(head, l6=None)},
            "`build_cnn('gap')` is missing a Dense after layer 5 (GlobalAveragePooling2D)"),
           ({"build_cnn": lambda head: _cnn(head, l7=keras.layers.Dropout(0.5),
                                            l8=keras.layers.Dense(10, activation="softmax"))},
            "layer 7 (Dropout) of `build_cnn('flatten')` is not in the required architecture"),
           ({"build_cnn": lambda head: _cnn(head, l1=keras.layers.Conv2D(16, 3))},
            "layer 1 (Conv2D) of `build_cnn('flatten')`: `padding` = 'valid'"),
           ({"build_cnn": lambda head: _cnn(head, l1=keras.layers.Conv2D(16, 3, padding="same"))},
            "is missing an Activation after layer 1 (Conv2D)"),
           ({"build_cnn": lambda head: _cnn(head, l7=keras.layers.Dense(10, activation="relu"))},
            "layer 7 (Dense) of `build_cnn('flatten')` uses activation 'relu'"),
           ({"build_cnn": lambda head: None}, "is None")],
}


(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(lesson04, CORRECT, WRONG)


def test_messages_never_show_the_expected_count():
    result = q5.evaluate(namespace={}, head_params=lambda s, u, k, head: 1)
    assert "132,490" not in " ".join(result.messages) and "132490" not in " ".join(result.messages)
