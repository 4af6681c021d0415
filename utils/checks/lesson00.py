"""Checks of lesson 00 · Welcome: images as tensors.

Expected values come from Keras layers (``Flatten``, ``Rescaling``), TensorFlow ops
(``unsorted_segment_mean``, ``rgb_to_grayscale``) and ``np.bincount`` on random uint8 images and
labels made with fixed seeds; the messages name the case and never show the expected numbers.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .core import question


# ----------------------------------------------------------------------------- helpers
def _images(seed: int, shape, high: int = 256) -> np.ndarray:
    """Random uint8 images with values in [0, high)."""
    return np.random.default_rng(seed).integers(0, high, size=shape, dtype=np.uint8)


def _labels(seed: int, n: int, classes) -> np.ndarray:
    """``n`` uint8 labels drawn from ``classes``, each class present at least once."""
    rng = np.random.default_rng(seed)
    labels = np.concatenate([classes, rng.choice(classes, size=n - len(classes))])
    return rng.permutation(labels).astype(np.uint8)


def _dtype_case(t, out, name: str, dtype, why: str) -> None:
    """A case: the answer (already found equal to the expected values) has this dtype."""
    got = t.numbers(out, name).dtype
    t.case(got == dtype, f"`{name}` has dtype {got}; {why}")


# ----------------------------------------------------------------------------- q1
@question(names=["flatten_images"], hints=[
    "The first axis counts the images and must survive; all the other axes merge into one.",
    "`x.reshape(len(x), -1)` keeps the batch axis and lets NumPy work out the length of the rest.",
])
def q1(t, flatten_images):
    """flatten a batch of images into one row of numbers per image"""
    flatten = keras.layers.Flatten()
    for seed, shape, dtype, label in [
            (0, (4, 28, 28), np.uint8, "4 grayscale 28x28 images"),
            (1, (2, 32, 32, 3), np.uint8, "2 RGB 32x32x3 images"),
            (2, (3, 5, 7, 2), np.uint8, "3 non-square 5x7 images with 2 channels"),
            (3, (1, 28, 28), np.uint8, "a batch of a single 28x28 image"),
            (4, (2, 6, 4, 3), np.float32, "2 float32 6x4x3 images")]:
        x = _images(seed, shape).astype(dtype)
        expected = keras.ops.convert_to_numpy(flatten(x.astype("float32")))
        out = t.call(flatten_images, x.copy(), where=label)
        name = f"flatten_images(x) for {label}"
        if t.array(out, expected, name):
            _dtype_case(t, out, name, x.dtype, f"flattening keeps the dtype ({x.dtype} here).")


# ----------------------------------------------------------------------------- q2
@question(names=["to_unit_float"], hints=[
    ("Three things: the dtype becomes float32, the values are divided by 255 (the largest value "
     "a uint8 can hold), and grayscale batches get a channel axis at the end."),
    "Divide by 255, not by `x.max()`: a dark batch must stay dark.",
    ("`x[..., None]` (or `np.expand_dims(x, -1)`) adds the channel axis; only do it when "
     "`x.ndim == 3`."),
])
def q2(t, to_unit_float):
    """uint8 images -> float32 in [0, 1] with a channel axis"""
    rescale = keras.layers.Rescaling(1 / 255)
    for seed, shape, high, label in [(0, (5, 28, 28), 256, "5 grayscale 28x28 images"),
                                     (1, (2, 32, 32, 3), 256, "2 RGB 32x32x3 images"),
                                     (2, (3, 6, 9), 101, "a dark batch (no pixel above 100)")]:
        x = _images(seed, shape, high)
        expected = keras.ops.convert_to_numpy(rescale(x if x.ndim == 4 else x[..., None]))
        out = t.call(to_unit_float, x.copy(), where=label)
        name = f"to_unit_float(x) for {label}"
        if t.array(out, expected, name, rtol=1e-6, atol=1e-6):
            _dtype_case(t, out, name, np.float32, "float32 was asked (what Keras layers use, "
                        "and half the memory of float64).")


# ----------------------------------------------------------------------------- q3
@question(names=["count_per_class"], hints=[
    "The answer always has `num_classes` entries, also for a class that never occurs.",
    ("`np.unique(labels, return_counts=True)` skips absent classes; `np.bincount` has a "
     "`minlength` argument that does not."),
])
def q3(t, count_per_class):
    """how many examples each class has"""
    for labels, k, label in [(_labels(0, 200, np.arange(10)), 10, "200 labels of 10 classes"),
                             (_labels(1, 150, np.arange(1, 9)), 10,
                              "labels where classes 0 and 9 never occur"),
                             (_labels(2, 30, np.arange(3)), 3, "30 labels of 3 classes")]:
        expected = np.bincount(labels, minlength=k)
        out = t.call(count_per_class, labels.copy(), k, where=label)
        name = f"count_per_class(labels, {k}) for {label}"
        counts = t.numbers(out, name)
        if counts.shape == expected.shape and not np.array_equal(counts, np.round(counts)):
            t.fail(f"`{name}` holds numbers that are not whole; counts are whole numbers.")
        t.array(counts, expected, name)


# ----------------------------------------------------------------------------- q4
@question(names=["class_means"], hints=[
    ("Pick the images of one class with a boolean mask `x[y == c]`, then average over the "
     "image axis (axis 0) only."),
    ("Stack the `num_classes` mean images: the result has shape (num_classes,) + one image's "
     "shape, and a float dtype."),
])
def q4(t, class_means):
    """the mean image of each class"""
    for seed, shape, k, label in [(0, (60, 28, 28), 10, "60 images 28x28 of 10 classes"),
                                  (1, (30, 5, 7), 3, "30 non-square 5x7 images of 3 classes"),
                                  (2, (40, 8, 8, 3), 4, "40 RGB 8x8x3 images of 4 classes")]:
        x, y = _images(seed, shape), _labels(seed, shape[0], np.arange(k))
        expected = tf.math.unsorted_segment_mean(x.astype(np.float64), y.astype(np.int32), k)
        out = t.call(class_means, x.copy(), y.copy(), k, where=label)
        name = f"class_means(x, y, {k}) for {label}"
        if t.array(out, expected.numpy(), name):
            got = t.numbers(out, name).dtype
            t.case(got.kind == "f", f"`{name}` has dtype {got}; a float array was asked.")


# ----------------------------------------------------------------------------- q5
@question(names=["to_grayscale"], hints=[
    "The channels are the last axis: the gray value is 0.299 * R + 0.587 * G + 0.114 * B.",
    ("Work in float: convert, combine the three channels with their weights, divide by 255 and "
     "return float32 of shape (H, W)."),
])
def q5(t, to_grayscale):
    """weighted sum of the colour channels"""
    from ..data import sample_photo

    for photo, label in [(_images(0, (6, 9, 3)), "a random 6x9 RGB image"),
                         (sample_photo("flower")[100:180, 200:320], "an 80x120 crop of a photo")]:
        expected = tf.image.rgb_to_grayscale(photo.astype(np.float64) / 255)[..., 0].numpy()
        out = t.call(to_grayscale, photo.copy(), where=label)
        name = f"to_grayscale(photo) for {label}"
        if t.array(out, expected, name, rtol=0, atol=2e-3):
            _dtype_case(t, out, name, np.float32, "float32 was asked.")
