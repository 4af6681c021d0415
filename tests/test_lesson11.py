"""Lesson 11: the reference answers pass, plausible wrong answers fail with a specific message."""
import math

import keras
import numpy as np
from helpers import answer_tests

from utils.checks import lesson11

ops = keras.ops
Schedule = keras.optimizers.schedules.LearningRateSchedule


# ----------------------------------------------------------------------------- reference answers
def piecewise_lr(step, boundaries, values):
    return np.asarray(values, dtype=float)[np.searchsorted(boundaries, step, side="left")]


def exponential_lr(step, initial_lr, decay_steps, decay_rate, staircase=False):
    p = np.asarray(step, dtype=float) / decay_steps
    return initial_lr * decay_rate ** (np.floor(p) if staircase else p)


def cosine_lr(step, initial_lr, decay_steps, alpha=0.0):
    fraction = np.minimum(np.asarray(step, dtype=float), decay_steps) / decay_steps
    return initial_lr * ((1 - alpha) * 0.5 * (1 + np.cos(np.pi * fraction)) + alpha)


def cosine_restarts_lr(step, initial_lr, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0):
    out = []
    for s in np.asarray(step, dtype=float):
        length, cycle = float(first_decay_steps), 0
        while s >= length:
            s, length, cycle = s - length, length * t_mul, cycle + 1
        cosine = 0.5 * (1 + np.cos(np.pi * s / length))
        out.append(initial_lr * ((1 - alpha) * m_mul ** cycle * cosine + alpha))
    return np.array(out)


class WarmupCosine(Schedule):
    def __init__(self, peak_lr, warmup_steps, total_steps, final_lr=0.0):
        self.peak_lr, self.warmup_steps = peak_lr, warmup_steps
        self.total_steps, self.final_lr = total_steps, final_lr

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warm = self.peak_lr * step / max(self.warmup_steps, 1)
        decay_steps = self.total_steps - self.warmup_steps
        fraction = ops.minimum(step - self.warmup_steps, decay_steps) / decay_steps
        cosine = 0.5 * (1 + ops.cos(math.pi * fraction))
        decayed = self.final_lr + (self.peak_lr - self.final_lr) * cosine
        return ops.where(step < self.warmup_steps, warm, decayed)

    def get_config(self):
        return {"peak_lr": self.peak_lr, "warmup_steps": self.warmup_steps,
                "total_steps": self.total_steps, "final_lr": self.final_lr}


def plateau_lrs(val_losses, lr, factor=0.1, patience=10, min_delta=1e-4, cooldown=0, min_lr=0.0):
    best, wait, cooldown_left, out = None, 0, 0, []
    for loss in val_losses:
        if cooldown_left > 0:
            cooldown_left, wait = cooldown_left - 1, 0
        if best is None or loss < best - min_delta:
            best, wait = loss, 0
        elif cooldown_left == 0:
            wait += 1
            if wait >= patience and lr > min_lr:
                lr = max(lr * factor, min_lr)
                cooldown_left, wait = cooldown, 0
        out.append(lr)
    return np.array(out, dtype=float)


def make_range_schedule(lr_min, lr_max, n_steps):
    return keras.optimizers.schedules.ExponentialDecay(lr_min, n_steps, lr_max / lr_min)


class OwnRangeSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """A student's own subclass: it stays in the kernel, the judge calls it there."""

    def __init__(self, lr_min, lr_max, n_steps):
        self.lr_min, self.lr_max, self.n_steps = lr_min, lr_max, n_steps

    def __call__(self, step):
        fraction = keras.ops.cast(step, "float64") / self.n_steps
        return self.lr_min * keras.ops.power(self.lr_max / self.lr_min, fraction)

    def get_config(self):
        return {"lr_min": self.lr_min, "lr_max": self.lr_max, "n_steps": self.n_steps}


def make_own_range_schedule(lr_min, lr_max, n_steps):
    return OwnRangeSchedule(lr_min, lr_max, n_steps)


# ----------------------------------------------------------------------------- wrong answers
def piecewise_boundary_in_next_interval(step, boundaries, values):
    return np.asarray(values, dtype=float)[np.searchsorted(boundaries, step, side="right")]


def exponential_rounds(step, initial_lr, decay_steps, decay_rate, staircase=False):
    p = np.asarray(step, dtype=float) / decay_steps
    return initial_lr * decay_rate ** (np.round(p) if staircase else p)


def exponential_per_step(step, initial_lr, decay_steps, decay_rate, staircase=False):
    return initial_lr * decay_rate ** np.asarray(step, dtype=float)


def cosine_not_clipped(step, initial_lr, decay_steps, alpha=0.0):
    fraction = np.asarray(step, dtype=float) / decay_steps
    return initial_lr * ((1 - alpha) * 0.5 * (1 + np.cos(np.pi * fraction)) + alpha)


def cosine_alpha_absolute(step, initial_lr, decay_steps, alpha=0.0):
    fraction = np.minimum(np.asarray(step, dtype=float), decay_steps) / decay_steps
    return initial_lr * 0.5 * (1 + np.cos(np.pi * fraction)) + alpha


def restarts_ignore_t_mul(step, initial_lr, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0):
    return cosine_restarts_lr(step, initial_lr, first_decay_steps, 1.0, m_mul, alpha)


def restarts_alpha_scaled(step, initial_lr, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0):
    out = []
    for s in np.asarray(step, dtype=float):
        length, cycle = float(first_decay_steps), 0
        while s >= length:
            s, length, cycle = s - length, length * t_mul, cycle + 1
        cosine = 0.5 * (1 + np.cos(np.pi * s / length))
        out.append(initial_lr * m_mul ** cycle * ((1 - alpha) * cosine + alpha))
    return np.array(out)


class WarmupCosinePythonIf(WarmupCosine):
    def __call__(self, step):
        if step < self.warmup_steps:
            return self.peak_lr * float(step) / self.warmup_steps
        fraction = min(float(step) - self.warmup_steps, self.total_steps - self.warmup_steps)
        fraction /= self.total_steps - self.warmup_steps
        cosine = 0.5 * (1 + math.cos(math.pi * fraction))
        return self.final_lr + (self.peak_lr - self.final_lr) * cosine


class WarmupCosineNoFinal(WarmupCosine):
    def get_config(self):
        return {"peak_lr": self.peak_lr, "warmup_steps": self.warmup_steps,
                "total_steps": self.total_steps}


class WarmupCosineDecayOverTotal(WarmupCosine):
    """Decays over total_steps instead of total_steps - warmup_steps."""

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warm = self.peak_lr * step / max(self.warmup_steps, 1)
        fraction = ops.minimum(step - self.warmup_steps, self.total_steps) / self.total_steps
        cosine = 0.5 * (1 + ops.cos(math.pi * fraction))
        decayed = self.final_lr + (self.peak_lr - self.final_lr) * cosine
        return ops.where(step < self.warmup_steps, warm, decayed)


def plateau_off_by_one(val_losses, lr, factor=0.1, patience=10, min_delta=1e-4, cooldown=0,
                       min_lr=0.0):
    return plateau_lrs(val_losses, lr, factor, patience + 1, min_delta, cooldown, min_lr)


def plateau_ignores_min_delta(val_losses, lr, factor=0.1, patience=10, min_delta=1e-4, cooldown=0,
                              min_lr=0.0):
    return plateau_lrs(val_losses, lr, factor, patience, 0.0, cooldown, min_lr)


def plateau_ignores_cooldown(val_losses, lr, factor=0.1, patience=10, min_delta=1e-4, cooldown=0,
                             min_lr=0.0):
    return plateau_lrs(val_losses, lr, factor, patience, min_delta, 0, min_lr)


def range_decreasing(lr_min, lr_max, n_steps):
    return keras.optimizers.schedules.ExponentialDecay(lr_max, n_steps, lr_min / lr_max)


def range_staircase(lr_min, lr_max, n_steps):
    return keras.optimizers.schedules.ExponentialDecay(lr_min, n_steps // 10 or 1,
                                                       (lr_max / lr_min) ** 0.1, staircase=True)


def range_plain_function(lr_min, lr_max, n_steps):
    return lambda step: lr_min * (lr_max / lr_min) ** (step / n_steps)


WRONG = {
    "q1": [(piecewise_boundary_in_next_interval, "First wrong step: 100.")],
    "q2": [(exponential_rounds, "staircase=True"),
           (exponential_per_step, "decay_steps=100")],
    "q3": [(cosine_not_clipped, "steps up to 198"),
           (cosine_alpha_absolute, "alpha=0.1")],
    "q4": [(restarts_ignore_t_mul, "t_mul=2.0, m_mul=1.0"),
           (restarts_alpha_scaled, "m_mul=0.8, alpha=0.1")],
    "q5": [(WarmupCosinePythonIf, "as a Python `bool` is not allowed"),
           (WarmupCosineNoFinal, "from_config"),
           (WarmupCosineDecayOverTotal, "WarmupCosine(2.0, 25, 60, final_lr=0.2)"),
           (lambda *args, **kwargs: None, "should be a class derived from")],
    "q6": [(plateau_off_by_one, "factor=0.5, patience=2"),
           (plateau_ignores_min_delta, "min_delta=0.05"),
           (plateau_ignores_cooldown, "cooldown=2 and min_lr=0.01")],
    "q7": [(range_decreasing, "make_range_schedule(1e-05, 1.0, 300)"),
           (range_staircase, "the rates of make_range_schedule"),
           (range_plain_function, "should return a `keras.optimizers.schedules.Learning")],
}
RIGHT = [("q1", piecewise_lr), ("q2", exponential_lr), ("q3", cosine_lr),
         ("q4", cosine_restarts_lr), ("q5", WarmupCosine), ("q6", plateau_lrs),
         ("q7", make_range_schedule), ("q7", make_own_range_schedule)]


(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(lesson11, RIGHT, WRONG)
