"""Lesson 00: the reference answers pass, plausible wrong answers fail with a specific message."""
import keras
import numpy as np
import tensorflow as tf
from helpers import answer_tests

from utils.checks import lesson00
from utils.checks.lesson00 import q1, q2, q3, q4, q5


def flatten_images(x):
    return x.reshape(len(x), -1)


def to_unit_float(x):
    x = x.astype(np.float32) / 255
    return x[..., None] if x.ndim == 3 else x


def count_per_class(labels, num_classes=10):
    return np.bincount(labels, minlength=num_classes)


def class_means(x, y, num_classes=10):
    return np.stack([x[y == c].mean(axis=0) for c in range(num_classes)])


def to_grayscale(photo):
    return (photo.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)) / 255


# written differently: NumPy functions, TensorFlow and Keras ops, loops, other dtypes
def to_unit_float_keras(x):
    scaled = keras.layers.Rescaling(1 / 255)(x)               # a float32 tensor
    return np.expand_dims(scaled, -1) if x.ndim == 3 else np.asarray(scaled)


def to_unit_float_tf(x):
    y = tf.image.convert_image_dtype(x, tf.float32)           # uint8 -> float32 / 255
    return (y[..., tf.newaxis] if x.ndim == 3 else y).numpy()


def class_means_one_hot(x, y, num_classes=10):
    one_hot = np.eye(num_classes)[y]                           # (N, K)
    sums = one_hot.T @ x.reshape(len(x), -1).astype(np.float64)
    return (sums / one_hot.sum(axis=0)[:, None]).reshape((num_classes,) + x.shape[1:])


def class_means_tf(x, y, num_classes=10):
    return tf.math.unsorted_segment_mean(tf.cast(x, tf.float32), tf.cast(y, tf.int32),
                                         num_classes).numpy()


def to_grayscale_channels(photo):
    p = photo / 255                                            # float64
    return (0.299 * p[..., 0] + 0.587 * p[..., 1] + 0.114 * p[..., 2]).astype(np.float32)


def to_grayscale_tf(photo):
    return tf.image.rgb_to_grayscale(tf.image.convert_image_dtype(photo, tf.float32))[..., 0].numpy()


CORRECT = [
    (q1, {"flatten_images": flatten_images}),
    (q1, {"flatten_images": lambda x: np.reshape(x, (x.shape[0], np.prod(x.shape[1:]))).copy()}),
    (q1, {"flatten_images": lambda x: tf.reshape(x, [len(x), -1]).numpy()}),
    (q1, {"flatten_images": lambda x: np.stack([image.ravel() for image in x])}),
    (q1, {"flatten_images": lambda x: keras.layers.Flatten()(x).numpy()}),      # keeps uint8
    (q2, {"to_unit_float": to_unit_float}), (q2, {"to_unit_float": to_unit_float_keras}),
    (q2, {"to_unit_float": to_unit_float_tf}),
    (q2, {"to_unit_float": lambda x: (np.expand_dims(x, -1) if x.ndim == 3 else x)
          .astype(np.float64).__truediv__(255).astype(np.float32)}),
    (q3, {"count_per_class": count_per_class}),
    (q3, {"count_per_class": lambda labels, k=10: np.array([np.sum(labels == c) for c in range(k)])}),
    (q3, {"count_per_class": lambda labels, k=10: np.eye(k)[labels].sum(axis=0)}),
    (q3, {"count_per_class": lambda labels, k=10:
          tf.math.bincount(tf.cast(labels, tf.int32), minlength=k).numpy()}),
    (q4, {"class_means": class_means}), (q4, {"class_means": class_means_one_hot}),
    (q4, {"class_means": class_means_tf}),
    (q5, {"to_grayscale": to_grayscale}), (q5, {"to_grayscale": to_grayscale_channels}),
    (q5, {"to_grayscale": to_grayscale_tf}),
]


def _divide_in_place(x):
    x /= 255                                                   # uint8 cannot hold x / 255
    return x[..., None].astype(np.float32) if x.ndim == 3 else x.astype(np.float32)


WRONG = {
    "q1": [({"flatten_images": lambda x: x.reshape(-1)}, "should have shape (4, 784)"),
           ({"flatten_images": lambda x: x.reshape(len(x), -1, order="F")}, "is wrong at"),
           ({"flatten_images": lambda x: x.reshape(len(x), -1).astype(np.float32)},
            "for 4 grayscale 28x28 images` has dtype float32; flattening keeps the dtype")],
    "q2": [({"to_unit_float": lambda x: x.astype(np.float32) / 255}, "should have shape (5, 28, 28, 1)"),
           ({"to_unit_float": lambda x: (x / 255)[..., None] if x.ndim == 3 else x / 255},
            "float32 was asked"),
           ({"to_unit_float": lambda x: to_unit_float(x) * 255 / x.max()},
            "for a dark batch (no pixel above 100)` is wrong"),
           ({"to_unit_float": lambda x: (x[..., None] / 255).astype(np.uint8)}, "is wrong at"),
           ({"to_unit_float": _divide_in_place}, "raised")],
    "q3": [({"count_per_class": lambda labels, k=10: np.unique(labels, return_counts=True)[1]},
            "where classes 0 and 9 never occur` has shape (8,)"),
           ({"count_per_class": lambda labels, k=10: np.bincount(labels)}, "has shape (9,)"),
           ({"count_per_class": lambda labels, k=10: np.bincount(labels, minlength=k) / len(labels)},
            "holds numbers that are not whole")],
    "q4": [({"class_means": lambda x, y, k=10: np.array([x[y == c].mean() for c in range(k)])},
            "should have shape (10, 28, 28)"),
           ({"class_means": lambda x, y, k=10: np.stack([x.mean(axis=0)] * k)}, "is wrong at"),
           ({"class_means": lambda x, y, k=10: np.stack([x[y == c].sum(0) // (y == c).sum()
                                                          for c in range(k)])},
            "for 60 images 28x28 of 10 classes` is wrong at")],
    "q5": [({"to_grayscale": lambda p: (p.mean(axis=-1) / 255).astype(np.float32)}, "is wrong at"),
           ({"to_grayscale": lambda p: p @ np.array([0.299, 0.587, 0.114]) / 255}, "float32 was asked"),
           ({"to_grayscale": lambda p: (np.array([0.299, 0.587, 0.114]) @ p / 255)}, "raised ValueError")],
}


(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(lesson00, CORRECT, WRONG)
