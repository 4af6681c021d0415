"""Lesson 02: the reference answers pass, plausible wrong answers fail with a specific message."""
import numpy as np
from helpers import answer_tests

from utils.checks import lesson02
from utils.checks.lesson02 import q1, q2, q3, q4, q5, q6, q7


def collapse(W1, b1, W2, b2):
    return W2 @ W1, W2 @ b1 + b2


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_grad(z):
    s = sigmoid(z)
    return s * (1 - s)


def forward(X, params):
    hidden = np.maximum(0, X @ params["W1"].T + params["b1"])
    return hidden @ params["W2"].T + params["b2"]


def backward(X, y, params, relu_mask=True):
    Z1 = X @ params["W1"].T + params["b1"]
    H = np.maximum(0, Z1)
    S = H @ params["W2"].T + params["b2"]
    S = S - S.max(axis=1, keepdims=True)
    P = np.exp(S) / np.exp(S).sum(axis=1, keepdims=True)
    n = len(y)
    loss = -np.log(P[np.arange(n), y]).mean()
    dS = P.copy()
    dS[np.arange(n), y] -= 1
    dS /= n
    dH = dS @ params["W2"]
    dZ1 = dH * (Z1 > 0) if relu_mask else dH
    return loss, {"W1": dZ1.T @ X, "b1": dZ1.sum(axis=0), "W2": dS.T @ H, "b2": dS.sum(axis=0)}


def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros_like(x, dtype=float)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        up = f(x)
        x[i] = old - h
        down = f(x)
        x[i] = old
        grad[i] = (up - down) / (2 * h)
    return grad


def forward_difference(f, x, h=1e-5):
    grad, base = np.zeros_like(x), f(x)
    for i in np.ndindex(x.shape):
        x[i] += h
        grad[i] = (f(x) - base) / h
        x[i] -= h
    return grad


def never_restores(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += h
        up = f(x)
        x[i] -= 2 * h
        grad[i] = (up - f(x)) / (2 * h)
    return grad


def standardize(X_train, X_test):
    mean, std = X_train.mean(axis=0), np.maximum(X_train.std(axis=0), 1e-7)
    return (X_train - mean) / std, (X_test - mean) / std


def dense_param_count(h, w, c, units):
    return (h * w * c + 1) * units


def conv_param_count(k, c_in, filters):
    return (k * k * c_in + 1) * filters


REFERENCE = {q1: {"collapse": collapse}, q2: {"sigmoid": sigmoid, "sigmoid_grad": sigmoid_grad},
             q3: {"forward": forward}, q4: {"backward": backward},
             q5: {"numerical_gradient": numerical_gradient}, q6: {"standardize": standardize},
             q7: {"dense_param_count": dense_param_count, "conv_param_count": conv_param_count}}
COUNTS = REFERENCE[q7]

WRONG = {
    "q1": [({"collapse": lambda W1, b1, W2, b2: (W2 @ W1, b2)}, "b' for D=4 -> H=6 -> C=3` is wrong"),
           ({"collapse": lambda W1, b1, W2, b2: (W2 @ W1, b1 + b2)}, "raised ValueError"),
           ({"collapse": lambda W1, b1, W2, b2: ((W2 @ W1).T, W2 @ b1 + b2)},
            "W' for D=4 -> H=6 -> C=3` has shape (4, 3)"),
           ({"collapse": lambda W1, b1, W2, b2: W2 @ W1}, "should return a pair")],
    "q2": [({"sigmoid": sigmoid, "sigmoid_grad": lambda z: z * (1 - z)}, "sigmoid_grad(z) for 41 points"),
           ({"sigmoid": lambda z: 1 / (1 + np.exp(z)), "sigmoid_grad": sigmoid_grad}, "sigmoid(z) for 41 points"),
           ({"sigmoid": sigmoid, "sigmoid_grad": lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2},
            "sigmoid_grad(z) for huge inputs (up to ±1000)` contains NaN")],
    "q3": [({"forward": lambda X, p: X @ p["W1"].T @ p["W2"].T + p["b2"]}, "is wrong at"),
           ({"forward": lambda X, p: np.maximum(0, forward(X, p))}, "is wrong at"),
           ({"forward": lambda X, p: (np.maximum(0, X @ p["W1"].T) + p["b1"]) @ p["W2"].T + p["b2"]},
            "for many hidden units below zero` is wrong")],
    "q4": [({"backward": lambda X, y, p: backward(X, y, p, relu_mask=False)},
            "grads['W1'] for N=5, D=4, H=6, C=3` is wrong"),
           ({"backward": lambda X, y, p: backward(X, y, p)[1]}, "should return a pair"),
           ({"backward": lambda X, y, p: (backward(X, y, p)[0], list(backward(X, y, p)[1].values()))},
            "as a dict with the keys W1, b1, W2, b2"),
           ({"backward": lambda X, y, p: (backward(X, y, p)[0],
                                          {k: len(y) * g for k, g in backward(X, y, p)[1].items()})},
            "grads['W1'] for N=5, D=4, H=6, C=3` is wrong")],
    "q5": [({"numerical_gradient": forward_difference}, "numerical_gradient(f, x) for f(x) = sum"),
           ({"numerical_gradient": lambda f, x, h=1e-5: 2 * numerical_gradient(f, x, h)}, "is wrong at"),
           ({"numerical_gradient": never_restores}, "`numerical_gradient` changed x")],
    "q6": [({"standardize": lambda a, b: ((a - a.mean(0)) / a.std(0), (b - b.mean(0)) / b.std(0))},
            "the standardized X_test for features with different means"),
           ({"standardize": lambda a, b: ((a - a.mean()) / a.std(), (b - a.mean()) / a.std())},
            "the standardized X_train for features with different means"),
           ({"standardize": lambda a, b: ((a - a.mean(0)) / a.std(0), (b - a.mean(0)) / a.std(0))},
            "for a feature that is 0 in every image` contains NaN")],
    "q7": [({**COUNTS, "dense_param_count": lambda h, w, c, units: h * w * c * units},
            "dense_param_count(224, 224, 3, 100)` is not the number"),
           ({**COUNTS, "conv_param_count": lambda k, c_in, filters: k * k * filters + filters},
            "conv_param_count(3, 3, 100)` is not the number"),
           ({**COUNTS, "conv_param_count": lambda k, c_in, filters: str((k * k * c_in + 1) * filters)},
            "should return a number")],
}


(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(lesson02, REFERENCE, WRONG)
