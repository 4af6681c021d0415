"""Checks of lesson 11 · Learning-rate schedules.

The expected learning rates come from ``keras.optimizers.schedules`` (in float64 where the schedule
allows it: a float64 initial rate makes Keras compute in float64), and the plateau question drives
``keras.callbacks.ReduceLROnPlateau`` over a simulated sequence of validation losses (a known
mistake, counting the cooldown epochs towards the patience, is recognised by its values).
"""
from __future__ import annotations

import json

import keras
import numpy as np
import tensorflow as tf

from .compare import as_array, compare_arrays
from .core import is_a, is_subclass, kernel_side, question

schedules = keras.optimizers.schedules


# ---------------------------------------------------------------------------------- helpers
def _keras_values(schedule, steps) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(schedule(np.asarray(steps, dtype=np.float64))),
                      dtype=np.float64)


def _check_vectorized(t, fn, name: str, cases) -> None:
    """Each case: (description, keyword arguments, Keras schedule). Steps are given as an array."""
    for description, kwargs, reference, steps in cases:
        steps = np.asarray(steps, dtype=np.int64)
        out = t.call(fn, steps.copy(), where=description, **kwargs)
        problem = compare_arrays(out, _keras_values(reference, steps), f"{name} for {description}",
                                 rtol=1e-6, atol=1e-12)
        if problem and "is wrong at" in problem:
            arr = np.asarray(as_array(out, name)[0], dtype=np.float64)
            bad = ~np.isclose(arr, _keras_values(reference, steps), rtol=1e-6, atol=1e-12)
            problem += f" First wrong step: {int(steps[np.argmax(bad)])}."
        t.case(problem is None, problem or "")


# --------------------------------------------------------------------------------------- q1
@question(names=["piecewise_lr"], hints=[
    "np.searchsorted (or a comparison with each boundary) tells you which interval a step is in.",
    "Keras counts a step that is exactly on a boundary as part of the interval before it: "
    "step <= boundaries[0] gives values[0].",
])
def q1(t, piecewise_lr):
    """step (piecewise constant) decay like PiecewiseConstantDecay"""
    f64 = lambda values: [np.float64(v) for v in values]  # noqa: E731
    cases = [
        ("boundaries [100, 200], values [0.1, 0.01, 0.001]",
         dict(boundaries=[100, 200], values=[0.1, 0.01, 0.001]),
         schedules.PiecewiseConstantDecay([100, 200], f64([0.1, 0.01, 0.001])),
         np.arange(0, 301)),
        ("one boundary at 0 (values [1.0, 0.5])", dict(boundaries=[0], values=[1.0, 0.5]),
         schedules.PiecewiseConstantDecay([0], f64([1.0, 0.5])), np.arange(0, 5)),
        ("boundaries [10, 11, 50], steps in random order",
         dict(boundaries=[10, 11, 50], values=[0.4, 0.3, 0.2, 0.1]),
         schedules.PiecewiseConstantDecay([10, 11, 50], f64([0.4, 0.3, 0.2, 0.1])),
         np.random.default_rng(1).permutation(np.arange(0, 60))),
    ]
    _check_vectorized(t, piecewise_lr, "piecewise_lr", cases)


# --------------------------------------------------------------------------------------- q2
@question(names=["exponential_lr"], hints=[
    "The exponent is step / decay_steps: the rate is multiplied by decay_rate once every "
    "decay_steps steps.",
    "With staircase=True the exponent is rounded down to a whole number (np.floor), so the rate "
    "changes in jumps.",
])
def q2(t, exponential_lr):
    """exponential decay (smooth and staircase) like ExponentialDecay"""
    cases = []
    for lr, decay_steps, rate, staircase, steps in [
        (0.1, 100, 0.5, False, np.arange(0, 401, 7)),
        (0.1, 30, 0.5, True, np.arange(0, 121)),
        (2.0, 7, 0.9, True, np.arange(0, 50)),
        (1e-5, 300, 1e5, False, np.arange(0, 301, 10)),
    ]:
        kwargs = dict(initial_lr=lr, decay_steps=decay_steps, decay_rate=rate, staircase=staircase)
        cases.append((f"initial_lr={lr}, decay_steps={decay_steps}, decay_rate={rate}, "
                      f"staircase={staircase}", kwargs,
                      schedules.ExponentialDecay(np.float64(lr), decay_steps, rate,
                                                 staircase=staircase), steps))
    _check_vectorized(t, exponential_lr, "exponential_lr", cases)


# --------------------------------------------------------------------------------------- q3
@question(names=["cosine_lr"], hints=[
    "The fraction done is step / decay_steps; half a cosine period goes from 1 down to 0 via "
    "0.5 * (1 + cos(pi * fraction)).",
    "alpha is the final rate as a fraction of initial_lr: initial_lr * ((1 - alpha) * c + alpha).",
    "After decay_steps the rate stays at its final value: clip the step (np.minimum) first.",
])
def q3(t, cosine_lr):
    """cosine decay like CosineDecay, including alpha and steps after the end"""
    cases = []
    for lr, decay_steps, alpha, steps in [
        (0.1, 100, 0.0, np.arange(0, 101, 5)),
        (1.0, 50, 0.1, np.arange(0, 51)),
        (0.5, 40, 0.0, np.arange(0, 200, 3)),
        (0.05, 10, 0.2, np.arange(0, 30)),
    ]:
        cases.append((f"initial_lr={lr}, decay_steps={decay_steps}, alpha={alpha}, steps up to "
                      f"{steps.max()}", dict(initial_lr=lr, decay_steps=decay_steps, alpha=alpha),
                      schedules.CosineDecay(np.float64(lr), decay_steps, alpha=alpha), steps))
    _check_vectorized(t, cosine_lr, "cosine_lr", cases)


# --------------------------------------------------------------------------------------- q4
@question(names=["cosine_restarts_lr"], hints=[
    "Find the cycle a step is in and how far into that cycle it is: cycle i lasts "
    "first_decay_steps * t_mul**i steps.",
    "A loop that subtracts the length of each finished cycle works; so does the closed form with "
    "a logarithm (a geometric series).",
    "Cycle i starts at m_mul**i: lr = initial_lr * ((1 - alpha) * m_mul**i * 0.5 * (1 + cos(pi * "
    "fraction)) + alpha) in Keras (alpha is not scaled by m_mul).",
])
def q4(t, cosine_restarts_lr):
    """cosine decay with warm restarts like CosineDecayRestarts"""
    cases = []
    for lr, first, t_mul, m_mul, alpha, steps in [
        (0.1, 20, 1.0, 1.0, 0.0, np.arange(0, 81)),
        (1.0, 10, 2.0, 1.0, 0.0, np.arange(0, 151)),
        # (Keras' float logarithm can put an exact restart step of t_mul=3 in either cycle)
        (1.0, 10, 3.0, 0.5, 0.0, np.setdiff1d(np.arange(0, 140), [10, 40, 130])),
        (0.5, 8, 2.0, 0.8, 0.1, np.arange(0, 121)),
    ]:
        kwargs = dict(initial_lr=lr, first_decay_steps=first, t_mul=t_mul, m_mul=m_mul, alpha=alpha)
        cases.append((f"initial_lr={lr}, first_decay_steps={first}, t_mul={t_mul}, m_mul={m_mul}, "
                      f"alpha={alpha}", kwargs,
                      schedules.CosineDecayRestarts(np.float64(lr), first, t_mul=t_mul,
                                                    m_mul=m_mul, alpha=alpha), steps))
    _check_vectorized(t, cosine_restarts_lr, "cosine_restarts_lr", cases)


# --------------------------------------------------------------------------------------- q5
def _warmup_reference(peak_lr, warmup_steps, total_steps, final_lr=0.0):
    return schedules.CosineDecay(0.0, total_steps - warmup_steps, alpha=final_lr / peak_lr,
                                 warmup_target=peak_lr, warmup_steps=warmup_steps)


def _schedule_values(t, schedule, steps, where: str, as_tensor: bool = False) -> np.ndarray:
    values = []
    for step in steps:
        arg = tf.constant(step, dtype=tf.int64) if as_tensor else int(step)
        rate = t.call(schedule, arg, where=f"{where}, step {step}")
        values.append(t.number(rate, f"the rate of {where} at step {step}"))
    return np.array(values)


@question(names=["WarmupCosine"], hints=[
    "Convert the step to a float tensor first (keras.ops.cast(step, 'float32')), then compute "
    "both branches with keras.ops and choose with keras.ops.where(step < warmup_steps, ...).",
    "Warmup: peak_lr * step / warmup_steps. Decay: the cosine of exercise 3 from peak_lr to "
    "final_lr over total_steps - warmup_steps steps, with the step counted from the end of warmup "
    "and clipped at the end.",
    "get_config must return the four constructor arguments by name, so that "
    "WarmupCosine(**config) rebuilds the same schedule. With warmup_steps=0, avoid dividing by 0 "
    "(keras.ops.maximum(warmup_steps, 1)).",
])
def q5(t, WarmupCosine):
    """a LearningRateSchedule subclass: linear warmup, then cosine decay"""
    if not is_subclass(WarmupCosine, schedules.LearningRateSchedule):
        t.fail("`WarmupCosine` should be a class derived from "
               "`keras.optimizers.schedules.LearningRateSchedule`, not a "
               f"{type(WarmupCosine).__name__}.")
    cases = [
        ("WarmupCosine(0.1, 10, 100)", (0.1, 10, 100), {},
         [0, 1, 5, 9, 10, 11, 30, 55, 80, 99, 100, 101, 150]),
        ("WarmupCosine(2.0, 25, 60, final_lr=0.2)", (2.0, 25, 60), {"final_lr": 0.2},
         [0, 3, 24, 25, 26, 40, 59, 60, 90]),
        ("WarmupCosine(0.5, 0, 40) (no warmup)", (0.5, 0, 40), {}, [0, 1, 20, 39, 40, 50]),
    ]
    for description, args, kwargs, steps in cases:
        schedule = t.call(WarmupCosine, *args, where=description, **kwargs)
        expected = _schedule_values(t, _warmup_reference(*args, **kwargs), steps, "reference")
        got = _schedule_values(t, schedule, steps, description)
        t.array(got, expected, f"the rates of {description} at steps {steps}", rtol=1e-5,
                atol=1e-8)
    # the optimizer passes its step counter as an int64 tensor
    schedule = t.call(WarmupCosine, 0.1, 10, 100, where="WarmupCosine(0.1, 10, 100)")
    steps = [0, 4, 10, 60, 120]
    got = _schedule_values(t, schedule, steps, "an int64 tensor step", as_tensor=True)
    t.array(got, _schedule_values(t, _warmup_reference(0.1, 10, 100), steps, "reference"),
            "the rates for steps given as int64 tensors (as an optimizer passes them)", rtol=1e-5,
            atol=1e-8)
    # get_config / from_config
    schedule = t.call(WarmupCosine, 0.3, 5, 50, final_lr=0.03, where="WarmupCosine(0.3, 5, 50, "
                      "final_lr=0.03)")
    config = t.call(schedule.get_config, where="get_config()")
    if not isinstance(config, dict):
        t.fail(f"`get_config()` should return a dict, not a {type(config).__name__}.")
    try:
        json.dumps(config)
        rebuilt = WarmupCosine.from_config(config)
        same = np.allclose(_schedule_values(t, rebuilt, [0, 3, 20, 50], "rebuilt"),
                           _schedule_values(t, schedule, [0, 3, 20, 50], "original"))
        problem = "" if same else "gives different rates"
    except Exception as exc:
        problem = f"fails ({type(exc).__name__}: {str(exc)[:120]})"
    t.case(not problem, "Rebuilding the schedule from `get_config()` (JSON-serializable, then "
                        f"`WarmupCosine.from_config(config)`) {problem}: return every constructor "
                        "argument under its own name.")
    _check_in_optimizer(t, WarmupCosine)


def _compiled_sgd_step(schedule):
    """A compiled SGD update using ``schedule`` (as in model.fit) and the variable it moves."""
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    var = keras.Variable(np.zeros(2), dtype="float64")
    optimizer.build([var])
    return tf.function(lambda: optimizer.apply([tf.ones(2, tf.float64)], [var])), var


@kernel_side
def sgd_path(schedule, steps: int = 15):
    """The weight of SGD(learning_rate=schedule) over compiled steps (run next to the student's
    schedule); ``("error", reason)`` when the schedule fails inside the compiled step."""
    path = []
    try:
        train_step, var = _compiled_sgd_step(schedule)
        for _ in range(steps):
            train_step()
            path.append(float(var.numpy()[0]))
    except Exception as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        return ("error", lines[-1].split(". ")[0][:200] if lines else type(exc).__name__)
    return ("path", np.array(path))


def _check_in_optimizer(t, WarmupCosine) -> None:
    """SGD with the schedule, inside a compiled (tf.function) step, as in model.fit."""
    mine = t.call(WarmupCosine, 0.2, 4, 12, where="WarmupCosine(0.2, 4, 12)")
    kind, got = t.collect(sgd_path, mine, where="SGD with WarmupCosine(0.2, 4, 12)")
    if kind != "path":
        t.fail("Your schedule fails inside an optimizer in a compiled training step (as in "
               f"model.fit): {str(got)[:200]}. Use keras.ops on the step (no Python `if`, no "
               "`math` functions).")
    _, expected = sgd_path(_warmup_reference(0.2, 4, 12))
    t.array(got, expected, "the weights of SGD(learning_rate=WarmupCosine(0.2, 4, 12)) over "
                           "15 compiled steps", rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------------------- q6
def _keras_plateau(val_losses, lr, **options) -> np.ndarray:
    callback = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", **options)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr), loss="mse")
    callback.set_model(model)
    callback.on_train_begin()
    out = []
    for epoch, loss in enumerate(val_losses):
        callback.on_epoch_end(epoch, {"val_loss": float(loss)})
        out.append(float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))
    return np.array(out, dtype=np.float64)


def _plateau_counting_cooldown(val_losses, lr, factor=0.1, patience=10, min_delta=1e-4,
                               cooldown=0, min_lr=0.0) -> np.ndarray:
    """A known mistake: epochs of the cooldown count towards the patience (the rate is only held
    during the cooldown, `wait` keeps growing)."""
    best, wait, cooling, out = None, 0, 0, []
    for loss in val_losses:
        if best is None or loss < best - min_delta:
            best, wait = loss, 0
        else:
            wait += 1
            if cooling == 0 and wait >= patience and lr > min_lr:
                lr, cooling, wait = max(lr * factor, min_lr), cooldown, 0
            elif cooling > 0:
                cooling -= 1
        out.append(lr)
    return np.array(out, dtype=np.float64)


@question(names=["plateau_lrs"], hints=[
    "Keep best (the lowest loss so far), wait (epochs without improvement) and a cooldown "
    "counter. A loss is an improvement only if it is below best - min_delta.",
    "Reduce when wait reaches patience (>=, not >), then set wait to 0 and start the cooldown. "
    "The learning rate never goes below min_lr, and nothing happens once it is at min_lr.",
    "At the start of each epoch's update: if in cooldown, count the cooldown down and set wait to "
    "0. Then an improvement resets wait; otherwise wait grows only if the cooldown is now over.",
])
def q6(t, plateau_lrs):
    """when ReduceLROnPlateau lowers the learning rate"""
    rng = np.random.default_rng(6)
    epochs = np.arange(40)
    noisy = list(0.3 + 0.7 * np.exp(-epochs / 5) + rng.normal(0, 0.01, 40))  # flattens out
    cases = [
        ("factor=0.5, patience=2", [1.0, 0.8, 0.81, 0.82, 0.79, 0.8, 0.8, 0.8, 0.7, 0.71],
         0.1, dict(factor=0.5, patience=2)),
        ("min_delta=0.05 (small improvements do not count)",
         [1.0, 0.97, 0.94, 0.91, 0.85, 0.84, 0.83, 0.82, 0.81, 0.7], 0.2,
         dict(factor=0.1, patience=3, min_delta=0.05)),
        ("cooldown=2 and min_lr=0.01", [1.0, 0.9, 0.95, 0.93, 0.91, 0.92, 0.89] + [0.9] * 8,
         0.1, dict(factor=0.5, patience=2, cooldown=2, min_lr=0.01)),
        ("Keras defaults (factor=0.1, patience=10) on 40 noisy epochs", noisy, 0.01, dict()),
        ("patience=3, cooldown=1, min_lr=1e-3 on 40 noisy epochs", noisy, 0.05,
         dict(factor=0.3, patience=3, cooldown=1, min_lr=1e-3)),
        ("patience=3, cooldown=2 on a long plateau", [1.0, 0.9] + [0.95] * 14, 0.1,
         dict(factor=0.5, patience=3, cooldown=2)),
        ("an empty list of losses", [], 0.1, dict(factor=0.5, patience=2)),
    ]
    for description, losses, lr, options in cases:
        out = t.call(plateau_lrs, list(losses), lr, where=description, **options)
        expected = _keras_plateau(losses, lr, **options)
        problem = compare_arrays(out, expected, f"plateau_lrs for {description}", rtol=1e-6,
                                 atol=1e-12)
        if problem and "is wrong at" in problem:
            arr = np.asarray(as_array(out, "plateau_lrs")[0], dtype=np.float64)
            first = int(np.argmax(~np.isclose(arr, expected, rtol=1e-6, atol=1e-12)))
            problem += f" First wrong value: after epoch {first} (counting from 0)."
            problem += t.mistake(arr, [(_plateau_counting_cooldown(losses, lr, **options),
                                        " The epochs of the cooldown count towards your patience; "
                                        "in Keras `wait` stays at 0 until the cooldown is over.")],
                                 rtol=1e-6, atol=1e-12) or ""
        t.case(problem is None, problem or "")


# --------------------------------------------------------------------------------------- q7
@question(names=["make_range_schedule"], hints=[
    "The rate must be lr_min at step 0 and lr_max at step n_steps, multiplied by the same factor "
    "at every step: that is an exponential schedule.",
    "ExponentialDecay computes initial * rate ** (step / decay_steps); nothing stops the rate from "
    "being larger than 1.",
])
def q7(t, make_range_schedule):
    """an exponentially increasing learning rate for the LR range test"""
    for lr_min, lr_max, n_steps in [(1e-5, 1.0, 300), (1e-4, 10.0, 50), (1e-3, 0.1, 7)]:
        where = f"make_range_schedule({lr_min}, {lr_max}, {n_steps})"
        schedule = t.call(make_range_schedule, lr_min, lr_max, n_steps, where=where)
        if not is_a(schedule, schedules.LearningRateSchedule):
            t.fail(f"{where} should return a `keras.optimizers.schedules.LearningRateSchedule` "
                   f"(an object an optimizer accepts as learning_rate), not a "
                   f"{type(schedule).__name__}.")
        steps = sorted({0, 1, n_steps // 3, n_steps // 2, n_steps - 1, n_steps})
        expected = lr_min * (lr_max / lr_min) ** (np.array(steps) / n_steps)
        got = _schedule_values(t, schedule, steps, where)
        t.array(got, expected, f"the rates of {where} at steps {steps}", rtol=1e-4, atol=1e-12)
