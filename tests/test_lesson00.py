"""Lesson 00: the reference answers pass, plausible wrong answers fail with a specific message."""
import numpy as np
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


REFERENCE = {q1: {"flatten_images": flatten_images}, q2: {"to_unit_float": to_unit_float},
             q3: {"count_per_class": count_per_class}, q4: {"class_means": class_means},
             q5: {"to_grayscale": to_grayscale}}

WRONG = {
    "q1": [({"flatten_images": lambda x: x.reshape(-1)}, "should have shape (4, 784)"),
           ({"flatten_images": lambda x: x.reshape(len(x), -1, order="F")}, "is wrong at")],
    "q2": [({"to_unit_float": lambda x: x.astype(np.float32) / 255}, "should have shape (5, 28, 28, 1)"),
           ({"to_unit_float": lambda x: (x / 255)[..., None] if x.ndim == 3 else x / 255},
            "float32 was asked"),
           ({"to_unit_float": lambda x: to_unit_float(x) * 255 / x.max()},
            "for a dark batch (no pixel above 100)` is wrong"),
           ({"to_unit_float": lambda x: (x[..., None] / 255).astype(np.uint8)}, "is wrong at")],
    "q3": [({"count_per_class": lambda labels, k=10: np.unique(labels, return_counts=True)[1]},
            "where classes 0 and 9 never occur` has shape (8,)"),
           ({"count_per_class": lambda labels, k=10: np.bincount(labels)}, "has shape (9,)")],
    "q4": [({"class_means": lambda x, y, k=10: np.array([x[y == c].mean() for c in range(k)])},
            "should have shape (10, 28, 28)"),
           ({"class_means": lambda x, y, k=10: np.stack([x.mean(axis=0)] * k)}, "is wrong at")],
    "q5": [({"to_grayscale": lambda p: (p.mean(axis=-1) / 255).astype(np.float32)}, "is wrong at"),
           ({"to_grayscale": lambda p: p @ np.array([0.299, 0.587, 0.114]) / 255}, "float32 was asked"),
           ({"to_grayscale": lambda p: (np.array([0.299, 0.587, 0.114]) @ p / 255)}, "raised ValueError")],
}


(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(lesson00, REFERENCE, WRONG)
