"""Lesson 01: the reference answers pass, plausible wrong answers fail with a specific message."""
import numpy as np
from helpers import answer_tests

from utils.checks import PASS, lesson01
from utils.checks.lesson01 import q1, q2, q3, q4, q5, q6


def scores(X, W, b):
    return X @ W.T + b


def softmax(Z):
    e = np.exp(Z - Z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy(Z, y):
    shifted = Z - Z.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(y)), y].mean()


def full_loss(W, b, X, y, lam):
    return cross_entropy(scores(X, W, b), y) + lam * np.sum(W ** 2)


def grads(W, b, X, y, lam):
    dS = softmax(scores(X, W, b))
    dS[np.arange(len(y)), y] -= 1
    dS /= len(y)
    return dS.T @ X + 2 * lam * W, dS.sum(axis=0)


def naive_cross_entropy(Z, y):
    return -np.log(softmax(Z)[np.arange(len(y)), y]).mean()


def grads_without_factor_two(W, b, X, y, lam):
    dW, db = grads(W, b, X, y, lam)
    return dW - lam * W, db


def grads_without_mean(W, b, X, y, lam):
    dW, db = grads(W, b, X, y, 0.0)
    return len(y) * dW + 2 * lam * W, len(y) * db


REFERENCE = {q1: {"W_shape": (10, 3072), "b_shape": (10,), "n_params": 30730},
             q2: {"scores": scores}, q3: {"softmax": softmax},
             q4: {"cross_entropy": cross_entropy}, q5: {"full_loss": full_loss},
             q6: {"grads": grads}}
Q1 = REFERENCE[q1]

WRONG = {
    "q1": [({**Q1, "W_shape": (3072, 10)}, "looks transposed"),
           ({**Q1, "W_shape": (10, 1024)}, "all three colour channels"),
           ({**Q1, "b_shape": 10}, "should be a tuple of whole numbers"),
           ({**Q1, "n_params": 30720}, "the biases are parameters too"),
           ({**Q1, "W_shape": (10, 32, 32, 3)}, "`W_shape` is not the shape of W")],
    "q2": [({"scores": lambda X, W, b: X @ W.T}, "is wrong at"),
           ({"scores": lambda X, W, b: W @ X.T + b[:, None]}, "should have shape (5, 10)"),
           ({"scores": lambda X, W, b: X @ W + b}, "raised ValueError")],
    "q3": [({"softmax": lambda Z: np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)},
            "for huge logits (around +1000 and -1000)` contains NaN"),
           ({"softmax": lambda Z: softmax(Z.T).T}, "is wrong at")],
    "q4": [({"cross_entropy": naive_cross_entropy}, "contains NaN or infinity"),
           ({"cross_entropy": lambda Z, y: -np.log(softmax(Z)[np.arange(len(y)), y])},
            "has shape (6,) but should have shape ()"),
           ({"cross_entropy": lambda Z, y: -cross_entropy(Z, y)}, "is wrong"),
           ({"cross_entropy": lambda Z, y: len(y) * cross_entropy(Z, y)}, "for 6 ordinary examples` is wrong")],
    "q5": [({"full_loss": lambda W, b, X, y, lam: full_loss(W, b, X, y, lam) + lam * np.sum(b ** 2)},
            "with lam = 0.1` is wrong"),
           ({"full_loss": lambda W, b, X, y, lam: full_loss(W, b, X, y, lam / 2)}, "with lam = 0.1` is wrong"),
           ({"full_loss": lambda W, b, X, y, lam: cross_entropy(scores(X, W, b), y)}, "with lam = 0.1` is wrong")],
    "q6": [({"grads": grads_without_factor_two}, "dW for N=5, D=4, C=3, lam = 0.5` is wrong"),
           ({"grads": grads_without_mean}, "dW for N=5, D=4, C=3, lam = 0` is wrong"),
           ({"grads": lambda W, b, X, y, lam: grads(W, b, X, y, lam)[0]}, "should return a pair"),
           ({"grads": lambda W, b, X, y, lam: (grads(W, b, X, y, lam)[0].T, grads(W, b, X, y, lam)[1])},
            "dW for N=5, D=4, C=3, lam = 0` has shape (4, 3)")],
}


def test_shapes_may_be_lists():
    result = q1.evaluate(namespace={}, W_shape=[10, 3072], b_shape=np.array([10]),
                         n_params=np.int64(30730))
    assert result.status == PASS, result.messages


(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(lesson01, REFERENCE, WRONG)
