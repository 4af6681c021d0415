"""Checks of lesson 04 · Pooling and the classifier head.

Expected values come from Keras at check time: the pooling layers (``MaxPooling2D``,
``AveragePooling2D``, ``GlobalAveragePooling2D``) on random inputs with fixed seeds, the gradient
``tf.GradientTape`` takes through ``tf.nn.max_pool2d``, a ``Conv2D`` holding the student's kernel
next to ``AveragePooling2D``, and ``count_params()`` and the layer configs of Keras models for
the heads and the CNN. Messages name the case, never the expected numbers.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .core import question

# ----------------------------------------------------------------------------- helpers
# (case name, input shape (N, H, W, C), pool (rows, cols), stride (rows, cols))
POOL_CASES = [
    ("the 4x4 example, pool 2x2, stride 2", (1, 4, 4, 1), (2, 2), (2, 2)),
    ("overlapping windows: 6x6x2 input, pool 3x3, stride 1", (2, 6, 6, 2), (3, 3), (1, 1)),
    ("non-square: 5x7x3 input, pool 2x3, stride (1, 2)", (2, 5, 7, 3), (2, 3), (1, 2)),
    ("stride larger than the window: 7x7x1 input, pool 2x2, stride 3",
     (1, 7, 7, 1), (2, 2), (3, 3)),
    ("leftover rows and columns: 5x5x4 input, pool 2x2, stride 2", (3, 5, 5, 4), (2, 2), (2, 2)),
]


def _inputs(shape, seed, negative=False):
    x = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
    return -np.abs(x) - 1.0 if negative else x


def _distinct(shape, seed):
    """Inputs without ties, so that every window has a single maximum."""
    values = np.random.default_rng(seed).permutation(int(np.prod(shape)))
    return (values.reshape(shape) / values.size).astype(np.float32)


def _keras(layer, x):
    return np.asarray(layer(tf.constant(x, tf.float32)))


def _pool_cases(t, fn, fn_name, layer_class, extra_negative):
    cases = list(POOL_CASES)
    if extra_negative:
        cases.append(("all-negative input: 4x6x2, pool 2x2, stride 2",
                      (2, 4, 6, 2), (2, 2), (2, 2)))
    for k, (name, shape, pool, stride) in enumerate(cases):
        x = _inputs(shape, seed=k, negative=name.startswith("all-negative"))
        expected = _keras(layer_class(pool_size=pool, strides=stride, padding="valid"), x)
        out = t.call(fn, x.copy(), pool, stride, where=name)
        t.array(out, expected, f"{fn_name} on {name}", rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- q1
@question(names=["max_pool2d"], hints=[
    "The output has floor((H - pool_rows) / stride_rows) + 1 rows, and the same rule for columns.",
    "For output position (i, j) the window is x[:, i*sr : i*sr + pr, j*sc : j*sc + pc, :]; "
    "take its maximum over axes (1, 2) so that every image and every channel stays separate.",
    "Do not start from an array of zeros and take maxima with it: windows that are all negative "
    "would give 0. Fill each output position directly with the window's maximum.",
])
def q1(t, max_pool2d):
    """max pooling in NumPy"""
    _pool_cases(t, max_pool2d, "max_pool2d", keras.layers.MaxPooling2D, extra_negative=True)


# ----------------------------------------------------------------------------- q2
@question(names=["avg_pool2d", "global_avg_pool"], hints=[
    "Average pooling uses the same windows as max pooling; only the reduction changes.",
    "Global average pooling is one mean per image and per channel: reduce over the two spatial "
    "axes (1 and 2) and keep axes 0 and 3, giving shape (N, C).",
    "A sum is not a mean: divide by the number of values in the window (pool_rows * pool_cols).",
])
def q2(t, avg_pool2d, global_avg_pool):
    """average pooling and global average pooling"""
    _pool_cases(t, avg_pool2d, "avg_pool2d", keras.layers.AveragePooling2D, extra_negative=False)
    for k, shape in enumerate([(2, 4, 4, 3), (3, 5, 7, 8), (1, 1, 1, 2)]):
        x = _inputs(shape, seed=10 + k)
        expected = _keras(keras.layers.GlobalAveragePooling2D(), x)
        where = f"a {shape[1]}x{shape[2]}x{shape[3]} feature map (batch of {shape[0]})"
        out = t.call(global_avg_pool, x.copy(), where=where)
        t.array(out, expected, f"global_avg_pool on {where}", rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- q3
@question(names=["max_pool2d_backward"], hints=[
    "Only the input that won a window receives gradient from that window's output; the others "
    "in the window receive nothing from it.",
    "Loop over output positions; find the argmax inside the window (np.unravel_index helps) and "
    "add the upstream gradient there, separately for every image and channel.",
    "When windows overlap (stride < pool) one input can win several windows: add (+=), do not "
    "overwrite. Inputs that no window covers get gradient 0.",
])
def q3(t, max_pool2d_backward):
    """the gradient of max pooling"""
    cases = [POOL_CASES[0], POOL_CASES[1], POOL_CASES[2], POOL_CASES[4]]
    for k, (name, shape, pool, stride) in enumerate(cases):
        x = _distinct(shape, seed=20 + k)
        xt = tf.constant(x)
        pooled_shape = tuple(tf.nn.max_pool2d(xt, pool, stride, "VALID").shape)
        g = np.random.default_rng(30 + k).normal(size=pooled_shape).astype(np.float32)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            loss = tf.reduce_sum(tf.nn.max_pool2d(xt, pool, stride, "VALID") * g)
        expected = tape.gradient(loss, xt).numpy()
        out = t.call(max_pool2d_backward, x.copy(), g.copy(), pool, stride, where=name)
        t.array(out, expected, f"max_pool2d_backward on {name}", rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- q4
@question(names=["pool_kernel"], hints=[
    "A Conv2D kernel has shape (size, size, input channels, output channels); kernel[:, :, i, o] "
    "is how input channel i feeds output channel o.",
    "Average pooling never mixes channels: output channel o may only read input channel o.",
    "Each of the size*size positions of a window contributes with weight 1/(size*size); "
    "np.eye(channels) gives the channel pattern.",
])
def q4(t, pool_kernel):
    """a strided convolution that computes average pooling"""
    for channels, size, (h, w) in [(1, 2, (6, 6)), (3, 2, (6, 8)), (4, 3, (6, 9))]:
        where = f"pool_kernel(channels={channels}, size={size})"
        kernel = t.numbers(t.call(pool_kernel, channels, size, where=where), where)
        if kernel.shape != (size, size, channels, channels):
            t.fail(f"{where} has shape {kernel.shape}; a Conv2D kernel with {channels} input and "
                   f"{channels} output channels and a {size}x{size} window needs "
                   "(size, size, channels, channels).")
        conv = keras.layers.Conv2D(channels, size, strides=size, use_bias=False)
        conv.build((None, h, w, channels))
        conv.set_weights([kernel.astype(np.float32)])
        x = _inputs((2, h, w, channels), seed=40 + channels)
        average = keras.layers.AveragePooling2D(size)
        t.array(_keras(conv, x), _keras(average, x),
                f"Conv2D(strides={size}) with {where} on a {h}x{w}x{channels} input", atol=1e-5)
        if channels > 1:
            only_first = np.zeros_like(x)
            only_first[..., 0] = x[..., 0]
            t.array(_keras(conv, only_first), _keras(average, only_first),
                    f"{where} on an input where only channel 0 is non-zero (channels must not mix)",
                    atol=1e-5)


# ----------------------------------------------------------------------------- q5
def _head(feature_shape, units, classes, head):
    reduce = keras.layers.Flatten() if head == "flatten" else keras.layers.GlobalAveragePooling2D()
    return keras.Sequential([keras.Input(feature_shape), reduce,
                             keras.layers.Dense(units, activation="relu"),
                             keras.layers.Dense(classes, activation="softmax")])


@question(names=["head_params"], hints=[
    "A Dense layer with n inputs and m units has an m x n weight matrix and m biases; "
    "Flatten and pooling layers have no parameters.",
    "After Flatten the Dense layer sees H*W*C inputs; after global average pooling only C.",
    "Add the output layer too: Dense(classes) on `units` inputs, biases included.",
])
def q5(t, head_params):
    """parameter counts of a Flatten head and a GAP head"""
    for shape, units, classes in [((4, 4, 64), 128, 10), ((7, 7, 32), 64, 10),
                                  ((3, 5, 16), 32, 3), ((1, 1, 8), 4, 2)]:
        for head in ("flatten", "gap"):
            where = f"head_params({shape}, {units}, {classes}, '{head}')"
            count = t.whole(t.call(head_params, shape, units, classes, head, where=where), where)
            expected = _head(shape, units, classes, head).count_params()
            wrong = "too many" if count > expected else "too few"
            t.case(count == expected, f"{where} gives {count:,}, which is {wrong} parameters "
                                      "(count the weights and the biases of both Dense layers).")


# ----------------------------------------------------------------------------- q6
def reference_cnn(head):
    """The architecture of exercise 6 (also used by the notebook's tests)."""
    reduce = keras.layers.Flatten() if head == "flatten" else keras.layers.GlobalAveragePooling2D()
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        reduce,
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])


@question(names=["build_cnn"], hints=[
    "Follow the table in the task layer by layer: "
    "`keras.Sequential([keras.Input((28, 28, 1)), ...])`.",
    "Only the layer right after the second pooling layer depends on `head`: "
    "keras.layers.Flatten() or keras.layers.GlobalAveragePooling2D().",
    "The output layer is Dense(10, activation='softmax') so that each row sums to 1.",
])
def q6(t, build_cnn):
    """a small CNN with a Flatten or a GAP head"""
    for head in ("flatten", "gap"):
        where = f"build_cnn('{head}')"
        model = t.call(build_cnn, head, where=where)
        reference = reference_cnn(head)
        t.model(model, reference, where)
