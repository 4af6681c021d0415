"""Checks of lesson 10 · Optimizers.

Every update rule is checked step by step against the Keras optimizer of the same name: the check
keeps a float64 ``keras.Variable``, applies the same gradients (and the same learning rate at every
step) with ``optimizer.apply``, and compares the student's weights after each step. The loss
surface gradient is compared with ``tf.GradientTape``.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .compare import as_array, compare_arrays
from .core import question


# ---------------------------------------------------------------------------------- helpers
def _keras_path(optimizer, w0, grads, lrs) -> list[np.ndarray]:
    """Weights after each step of ``optimizer`` applied to a float64 copy of ``w0``."""
    var = keras.Variable(np.array(w0, dtype=np.float64), dtype="float64")
    path = []
    for g, lr in zip(grads, lrs, strict=True):
        optimizer.learning_rate = lr
        optimizer.apply([tf.constant(g, dtype=tf.float64)], [var])
        path.append(np.array(var.numpy(), dtype=np.float64))
    return path


def _case_data(seed: int, shape, steps: int, scale: float = 1.0):
    """A start point and a sequence of gradients (``scale`` sets their size)."""
    rng = np.random.default_rng(seed)
    w0 = rng.normal(size=shape)
    grads = scale * rng.normal(size=(steps, *shape))
    return w0, grads


def _compare_step_by_step(t, step, name: str, case: str, optimizer, w0, grads, lrs,
                          hyper: dict) -> bool:
    """Run the student's ``step`` along the gradients; one case, failing at the first bad step."""
    expected = _keras_path(optimizer, w0, grads, lrs)
    scale = max(float(np.max(np.abs(e - w0))) for e in expected)
    w, state = np.array(w0), None
    for k, (g, lr, want) in enumerate(zip(grads, lrs, expected, strict=True), start=1):
        given = w.copy()
        result = t.call(step, given, np.array(g), state, float(lr), where=f"{case}, step {k}",
                        **hyper)
        if not np.array_equal(given, w):
            return t.case(False, f"{case}: at step {k} `{name}` changed the array `w` it was "
                                 "given; return a new array and leave `w` as it is (code that "
                                 "keeps the old weights, like a recorded path, relies on it).")
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            t.fail(f"`{name}` should return a pair `(new_w, new_state)`, but on {case} at step {k} "
                   f"it returned a {type(result).__name__}"
                   + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
                   + ".")
        new_w, state = result
        arr, problem = as_array(new_w, "new_w")
        if problem is None and arr.shape != want.shape:
            problem = compare_arrays(arr, want, "new_w")  # names both shapes
        if problem is None:
            problem = compare_arrays(np.asarray(arr, dtype=np.float64) - w0, want - w0,
                                     "new_w - w0", rtol=1e-4, atol=1e-6 * scale)
        if problem is not None:
            agree = f" (steps 1-{k - 1} agree)" if k > 2 else (" (step 1 agrees)" if k == 2 else "")
            return t.case(False, f"{case}: after step {k}{agree} your weights differ from Keras' "
                                 f"`{type(optimizer).__name__}`: {problem}")
        w = np.array(arr, dtype=np.float64)
    return t.case(True, "")


def _lrs(steps: int, lr: float, varying: bool = False, seed: int = 0) -> np.ndarray:
    """A learning rate per step: constant, or changing at every step as under a schedule.

    Rounded to float32, the precision in which Keras stores a learning rate."""
    if not varying:
        return np.full(steps, lr, dtype=np.float32).astype(np.float64)
    lrs = lr * np.random.default_rng(seed).uniform(0.2, 2.0, size=steps)
    return lrs.astype(np.float32).astype(np.float64)


# --------------------------------------------------------------------------------------- q1
@question(names=["sgd_step"], hints=[
    "Keras keeps a velocity v that starts at zero and already contains the learning rate: "
    "v = momentum * v - lr * g, then w = w + v.",
    "With nesterov=True the weight moves by momentum * v_new - lr * g, using the velocity you "
    "have just updated.",
    "The textbook form v = momentum * v + g; w = w - lr * v gives the same path only while the "
    "learning rate stays constant; one case changes it at every step.",
])
def q1(t, sgd_step):
    """SGD, momentum and Nesterov as Keras' SGD computes them"""
    cases = [
        ("plain SGD, shape (3,)", dict(), (3,), 4, 0.1, False),
        ("momentum=0.9, shape (2, 3)", dict(momentum=0.9), (2, 3), 6, 0.05, False),
        ("momentum=0.9 with nesterov=True, shape (2, 3)", dict(momentum=0.9, nesterov=True),
         (2, 3), 6, 0.05, False),
        ("momentum=0.5 with a learning rate that changes at every step", dict(momentum=0.5),
         (4,), 6, 0.1, True),
        ("momentum=0.8, nesterov=True, changing learning rate", dict(momentum=0.8, nesterov=True),
         (2, 2), 5, 0.1, True),
    ]
    for seed, (case, hyper, shape, steps, lr, varying) in enumerate(cases):
        w0, grads = _case_data(seed, shape, steps)
        opt = keras.optimizers.SGD(learning_rate=lr, **hyper)
        _compare_step_by_step(t, sgd_step, "sgd_step", case, opt, w0, grads,
                              _lrs(steps, lr, varying, seed), hyper)


# --------------------------------------------------------------------------------------- q2
@question(names=["adagrad_step"], hints=[
    "On the first call (state is None) create the accumulator filled with "
    "initial_accumulator_value, not with zeros.",
    "Add g**2 to the accumulator first, then step with the updated accumulator.",
    "Keras puts epsilon inside the square root: lr * g / sqrt(acc + epsilon). With tiny "
    "gradients and an accumulator starting at 0 the place of epsilon matters.",
])
def q2(t, adagrad_step):
    """Adagrad as Keras computes it (initial accumulator, epsilon inside the root)"""
    cases = [
        ("Keras defaults (initial_accumulator_value=0.1), shape (5,)", dict(), (5,), 5, 0.1, 1.0),
        ("initial_accumulator_value=0.0, shape (2, 3)", dict(initial_accumulator_value=0.0),
         (2, 3), 5, 0.5, 1.0),
        ("initial_accumulator_value=0.0 and tiny gradients (1e-4)",
         dict(initial_accumulator_value=0.0), (4,), 5, 0.01, 1e-4),
        ("initial_accumulator_value=1.0, epsilon=0.01", dict(initial_accumulator_value=1.0,
                                                            epsilon=0.01), (3,), 4, 0.3, 0.1),
    ]
    for seed, (case, hyper, shape, steps, lr, scale) in enumerate(cases):
        w0, grads = _case_data(10 + seed, shape, steps, scale)
        opt = keras.optimizers.Adagrad(learning_rate=lr, **hyper)
        _compare_step_by_step(t, adagrad_step, "adagrad_step", case, opt, w0, grads,
                              _lrs(steps, lr), hyper)


# --------------------------------------------------------------------------------------- q3
@question(names=["rmsprop_step"], hints=[
    "The state is a running average of squared gradients that starts at zero.",
    "Update it as rho * v + (1 - rho) * g**2, then step by lr * g / sqrt(v + epsilon).",
    "Epsilon goes inside the square root in Keras; with tiny gradients that changes the step "
    "a lot.",
])
def q3(t, rmsprop_step):
    """RMSprop as Keras computes it (epsilon inside the root)"""
    cases = [
        ("Keras defaults (rho=0.9), shape (5,)", dict(), (5,), 6, 0.01, 1.0),
        ("rho=0.5, shape (2, 3)", dict(rho=0.5), (2, 3), 5, 0.05, 1.0),
        ("tiny gradients (1e-4)", dict(), (4,), 5, 0.001, 1e-4),
        ("rho=0.99, epsilon=1e-3, changing learning rate", dict(rho=0.99, epsilon=1e-3),
         (3,), 5, 0.01, 0.1),
    ]
    for seed, (case, hyper, shape, steps, lr, scale) in enumerate(cases):
        w0, grads = _case_data(20 + seed, shape, steps, scale)
        opt = keras.optimizers.RMSprop(learning_rate=lr, **hyper)
        _compare_step_by_step(t, rmsprop_step, "rmsprop_step", case, opt, w0, grads,
                              _lrs(steps, lr, varying=seed == 3, seed=seed), hyper)


# --------------------------------------------------------------------------------------- q4
@question(names=["adam_step"], hints=[
    "Keep m, v and the step count t in the state; t is 1 on the first update.",
    "m = beta_1 * m + (1 - beta_1) * g and v = beta_2 * v + (1 - beta_2) * g**2; without the "
    "bias correction the first steps are far too small.",
    "Keras folds the correction into the step size: alpha = lr * sqrt(1 - beta_2**t) / "
    "(1 - beta_1**t), then w -= alpha * m / (sqrt(v) + epsilon). Epsilon is added to sqrt(v), "
    "not to the corrected sqrt(v_hat).",
])
def q4(t, adam_step):
    """Adam with bias correction, exactly as Keras computes it"""
    cases = [
        ("Keras defaults, shape (5,)", dict(), (5,), 6, 0.01, 1.0),
        ("beta_1=0.5, beta_2=0.9, shape (2, 3)", dict(beta_1=0.5, beta_2=0.9), (2, 3), 6, 0.1,
         1.0),
        ("tiny gradients (1e-6), where the place of epsilon matters", dict(), (4,), 5, 0.01,
         1e-6),
        ("epsilon=0.1 with a changing learning rate", dict(epsilon=0.1), (3,), 5, 0.05, 1.0),
    ]
    for seed, (case, hyper, shape, steps, lr, scale) in enumerate(cases):
        w0, grads = _case_data(30 + seed, shape, steps, scale)
        opt = keras.optimizers.Adam(learning_rate=lr, **hyper)
        _compare_step_by_step(t, adam_step, "adam_step", case, opt, w0, grads,
                              _lrs(steps, lr, varying=seed == 3, seed=seed), hyper)


# --------------------------------------------------------------------------------------- q5
def _tape_grad(p: np.ndarray, b: float) -> np.ndarray:
    v = tf.Variable(np.array(p, dtype=np.float64))
    with tf.GradientTape() as tape:
        loss = (1 - v[0]) ** 2 + b * (v[1] - v[0] ** 2) ** 2
    return tape.gradient(loss, v).numpy()


@question(names=["valley_grad"], hints=[
    "Differentiate each of the two terms separately, then add; the gradient has one entry per "
    "coordinate (d/dx, d/dy).",
    "For b * (y - x**2)**2 the chain rule gives 2 * b * (y - x**2) times the derivative of "
    "(y - x**2): -2x with respect to x and 1 with respect to y.",
])
def q5(t, valley_grad):
    """gradient of the valley loss (1 - x)^2 + b (y - x^2)^2"""
    points = [((-1.5, 2.0), 10.0), ((0.0, 0.0), 10.0), ((1.0, 1.0), 10.0), ((2.0, -1.0), 10.0),
              ((0.5, 0.3), 100.0), ((-0.7, 1.2), 1.0)]
    for point, b in points:
        p = np.array(point)
        out = t.call(valley_grad, p.copy(), b, where=f"p={point}, b={b}")
        t.array(out, _tape_grad(p, b), f"valley_grad(p={point}, b={b})", rtol=1e-6, atol=1e-9)


# --------------------------------------------------------------------------------------- q6
class _StepperState:
    """The state of :func:`_keras_stepper`: one object, so that the grader's judge keeps it on
    its own side while the student's ``optimize`` hands it back and forth."""

    def __init__(self, optimizer, var):
        self.optimizer, self.var = optimizer, var


def _keras_stepper(make):
    """A step function with the lesson's signature that runs a Keras optimizer inside."""

    def step(w, g, state, lr, **hyper):
        if state is None:
            state = _StepperState(make(**hyper), keras.Variable(np.zeros(np.shape(w)),
                                                                dtype="float64"))
        optimizer, var = state.optimizer, state.var
        var.assign(np.asarray(w, dtype=np.float64))
        optimizer.learning_rate = lr
        optimizer.apply([tf.constant(np.asarray(g, dtype=np.float64))], [var])
        return np.array(var.numpy()), state

    return step


def _bowl_grad(p):
    p = np.asarray(p, dtype=np.float64)
    return np.array([p[0] + 0.5 * p[1], 0.5 * p[0] + 8.0 * p[1]])


@question(names=["optimize"], hints=[
    "Start the path with w0, then repeat n_steps times: gradient at the current point, one call "
    "of step, append the new point.",
    "Give step the state it returned last time (None on the first call); Adam needs it to count "
    "its steps.",
    "Pass the extra keyword arguments (**hyper) on to every call of step, e.g. momentum=0.9.",
])
def q6(t, optimize):
    """run any step function along a gradient field and return the path"""
    cases = [
        ("SGD, lr=0.05, 12 steps", keras.optimizers.SGD, dict(), 0.05, 12),
        ("SGD with momentum=0.9 passed as a keyword, 12 steps", keras.optimizers.SGD,
         dict(momentum=0.9), 0.05, 12),
        ("Adam, lr=0.1, 10 steps (needs the state)", keras.optimizers.Adam, dict(), 0.1, 10),
        ("n_steps=0", keras.optimizers.SGD, dict(), 0.05, 0),
    ]
    w0 = np.array([2.0, -1.5])
    for case, make, hyper, lr, n in cases:
        # the reference: the Keras optimizer itself, looping over the same gradient field
        optimizer = make(learning_rate=lr, **hyper)
        var = keras.Variable(w0.copy(), dtype="float64")
        expected = [w0.copy()]
        for _ in range(n):
            optimizer.apply([tf.constant(_bowl_grad(var.numpy()))], [var])
            expected.append(np.array(var.numpy()))
        start = w0.copy()
        out = t.call(optimize, _keras_stepper(make), _bowl_grad, start, lr, n, where=case,
                     **hyper)
        t.array(out, np.array(expected), f"path ({case})", rtol=1e-6, atol=1e-9)
        t.case(np.array_equal(start, w0), f"{case}: `optimize` changed the array w0 it was given "
                                          "(copy it before updating in place).")


# --------------------------------------------------------------------------------------- q7
@question(names=["adamw_step"], hints=[
    "Decoupled weight decay does not touch the gradient: first shrink the weights, "
    "w = w - lr * weight_decay * w, then take an ordinary Adam step.",
    "Adding weight_decay * w to the gradient (L2) is a different method: Adam would divide the "
    "decay by sqrt(v) too.",
    "Keras shrinks the weights before the Adam step, using the weights before the update.",
])
def q7(t, adamw_step):
    """AdamW: decoupled weight decay as Keras' AdamW applies it"""
    cases = [
        ("Keras defaults (weight_decay=0.004), lr=0.01", dict(), (5,), 6, 0.01, 1.0),
        ("strong decay: weight_decay=0.5, lr=0.1", dict(weight_decay=0.5), (2, 3), 6, 0.1, 1.0),
        ("zero gradients: only the decay acts", dict(weight_decay=0.2), (4,), 5, 0.1, 0.0),
        ("weight_decay=0.1, beta_1=0.5, changing learning rate",
         dict(weight_decay=0.1, beta_1=0.5), (3,), 5, 0.05, 1.0),
    ]
    for seed, (case, hyper, shape, steps, lr, scale) in enumerate(cases):
        w0, grads = _case_data(40 + seed, shape, steps, scale)
        opt = keras.optimizers.AdamW(learning_rate=lr, **hyper)
        _compare_step_by_step(t, adamw_step, "adamw_step", case, opt, w0, grads,
                              _lrs(steps, lr, varying=seed == 3, seed=seed), hyper)
