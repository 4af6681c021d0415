"""Lesson 11: the reference answers pass, plausible wrong answers fail with a specific message."""
import math

import keras
import numpy as np
import tensorflow as tf
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


# ------------------------------------------------------------- correct answers, written differently
def piecewise_lr_comparisons(step, boundaries, values):
    interval = sum((np.asarray(step) > b).astype(int) for b in boundaries)  # boundaries passed
    return np.take(np.asarray(values, dtype=np.float64), interval)


def piecewise_lr_select(step, boundaries, values):
    step = np.asarray(step)
    edges = [-np.inf] + [float(b) for b in boundaries] + [np.inf]
    conditions = [(step > lo) & (step <= hi) for lo, hi in zip(edges[:-1], edges[1:])]
    return np.select(conditions, [float(v) for v in values])


def exponential_lr_tf(step, initial_lr, decay_steps, decay_rate, staircase=False):
    p = tf.cast(step, tf.float64) / decay_steps
    if staircase:
        p = tf.floor(p)
    return initial_lr * tf.pow(tf.constant(decay_rate, tf.float64), p)


def exponential_lr_exp_log(step, initial_lr, decay_steps, decay_rate, staircase=False):
    p = np.asarray(step) / decay_steps
    p = np.floor(p) if staircase else p
    return initial_lr * np.exp(p * np.log(decay_rate))


def cosine_lr_clip(step, initial_lr, decay_steps, alpha=0.0):
    done = np.clip(step, 0, decay_steps) / decay_steps
    return alpha * initial_lr + (initial_lr - alpha * initial_lr) * (1 + np.cos(np.pi * done)) / 2


def cosine_lr_ops(step, initial_lr, decay_steps, alpha=0.0):
    fraction = ops.minimum(ops.cast(step, "float64"), decay_steps) / decay_steps
    cosine = 0.5 * (1.0 + ops.cos(math.pi * fraction))
    return ops.convert_to_numpy(initial_lr * ((1 - alpha) * cosine + alpha))


def cosine_restarts_closed_form(step, initial_lr, first_decay_steps, t_mul=2.0, m_mul=1.0,
                                alpha=0.0):
    done = np.asarray(step, dtype=np.float64) / first_decay_steps
    if t_mul == 1.0:
        cycle = np.floor(done)
        fraction = done - cycle
    else:
        cycle = np.floor(np.log(1 - done * (1 - t_mul)) / np.log(t_mul))
        start = (1 - t_mul ** cycle) / (1 - t_mul)
        fraction = (done - start) / t_mul ** cycle
    cosine = 0.5 * (1 + np.cos(np.pi * fraction))
    return initial_lr * ((1 - alpha) * m_mul ** cycle * cosine + alpha)


def cosine_restarts_cycle_table(step, initial_lr, first_decay_steps, t_mul=2.0, m_mul=1.0,
                                alpha=0.0):
    step = np.asarray(step, dtype=np.float64)
    starts, length = [0.0], float(first_decay_steps)
    while starts[-1] <= step.max():
        starts.append(starts[-1] + length)
        length *= t_mul
    starts = np.array(starts)
    cycle = np.searchsorted(starts, step, side="right") - 1
    lengths = first_decay_steps * t_mul ** cycle
    cosine = 0.5 * (1 + np.cos(np.pi * (step - starts[cycle]) / lengths))
    return initial_lr * ((1 - alpha) * m_mul ** cycle * cosine + alpha)


class _ScheduleArguments(Schedule):
    def __init__(self, peak_lr, warmup_steps, total_steps, final_lr=0.0):
        self.peak_lr, self.warmup_steps = peak_lr, warmup_steps
        self.total_steps, self.final_lr = total_steps, final_lr

    def get_config(self):
        return dict(peak_lr=self.peak_lr, warmup_steps=self.warmup_steps,
                    total_steps=self.total_steps, final_lr=self.final_lr)


class WarmupCosineTF(_ScheduleArguments):
    """tf instead of keras.ops, written with tf.where and Python float constants."""

    def __call__(self, step):
        s = tf.cast(step, tf.float32)
        warm = self.peak_lr * s / tf.maximum(float(self.warmup_steps), 1.0)
        length = float(self.total_steps - self.warmup_steps)
        cosine = 0.5 * (1.0 + tf.cos(np.pi * tf.minimum(s - self.warmup_steps, length) / length))
        return tf.where(s < self.warmup_steps, warm,
                        self.final_lr + (self.peak_lr - self.final_lr) * cosine)


class WarmupCosineFloat64Alpha(_ScheduleArguments):
    """float64 math, the floor written as alpha = final / peak as in CosineDecay, ops.clip."""

    def __call__(self, step):
        s = ops.cast(step, "float64")
        W, T = float(self.warmup_steps), float(self.total_steps)
        alpha = self.final_lr / self.peak_lr
        fraction = ops.clip((s - W) / (T - W), 0.0, 1.0)
        decayed = self.peak_lr * ((1 - alpha) * 0.5 * (1 + ops.cos(np.pi * fraction)) + alpha)
        return ops.where(s < W, self.peak_lr * s / max(W, 1.0), decayed)


class WarmupCosineCond(_ScheduleArguments):
    """tf.cond with one function per branch (only the chosen branch runs)."""

    def __call__(self, step):
        s = tf.cast(step, tf.float32)
        W, T = self.warmup_steps, self.total_steps

        def decay():
            fraction = tf.minimum(s - W, T - W) / (T - W)
            return self.final_lr + (self.peak_lr - self.final_lr) * 0.5 * (
                1 + tf.cos(math.pi * fraction))

        return tf.cond(s < W, lambda: self.peak_lr * s / W, decay)


def plateau_lrs_counters(val_losses, lr, factor=0.1, patience=10, min_delta=1e-4, cooldown=0,
                         min_lr=0.0):
    """The same rule written with the epoch of the last cut instead of a cooldown counter."""
    rates, best, since_best, last_cut = [], np.inf, 0, -np.inf
    for epoch, loss in enumerate(val_losses):
        if epoch <= last_cut + cooldown:        # an epoch of the cooldown (or the one ending it)
            since_best = 0
        if loss < best - min_delta:
            best, since_best = loss, 0
        elif epoch >= last_cut + cooldown:      # the cooldown is over
            since_best += 1
            if since_best >= patience and lr > min_lr:
                lr = max(lr * factor, min_lr)
                last_cut, since_best = epoch, 0
        rates.append(lr)
    return np.array(rates)


class _PlateauState:
    def __init__(self, lr, factor, patience, min_delta, cooldown, min_lr):
        self.lr, self.factor, self.patience = lr, factor, patience
        self.min_delta, self.cooldown, self.min_lr = min_delta, cooldown, min_lr
        self.best, self.wait, self.cooldown_counter = None, 0, 0

    def epoch_end(self, loss):
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.best is None or loss < self.best - self.min_delta:
            self.best, self.wait = loss, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience and self.lr > self.min_lr:
                self.lr = max(self.lr * self.factor, self.min_lr)
                self.cooldown_counter, self.wait = self.cooldown, 0
        return self.lr


def plateau_lrs_object(val_losses, lr, factor=0.1, patience=10, min_delta=1e-4, cooldown=0,
                       min_lr=0.0):
    tracker = _PlateauState(lr, factor, patience, min_delta, cooldown, min_lr)
    return np.array([tracker.epoch_end(loss) for loss in val_losses], dtype=np.float64)


def make_range_schedule_per_step(lr_min, lr_max, n_steps):
    factor = (lr_max / lr_min) ** (1 / n_steps)   # the factor of one step
    return keras.optimizers.schedules.ExponentialDecay(lr_min, decay_steps=1, decay_rate=factor)


# ----------------------------------------------------------------------------- wrong answers
def piecewise_boundary_in_next_interval(step, boundaries, values):
    return np.asarray(values, dtype=float)[np.searchsorted(boundaries, step, side="right")]


def piecewise_digitize(step, boundaries, values):   # np.digitize puts a boundary step after it
    return np.asarray(values, dtype=float)[np.digitize(step, boundaries)]


def piecewise_python_if(step, boundaries, values):
    for boundary, value in zip(boundaries, values):
        if step <= boundary:
            return value
    return values[-1]


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


def plateau_counts_cooldown(val_losses, lr, factor=0.1, patience=10, min_delta=1e-4, cooldown=0,
                            min_lr=0.0):
    """wait keeps growing during the cooldown; only the cut waits for it to end."""
    best, wait, cooldown_left, out = None, 0, 0, []
    for loss in val_losses:
        if best is None or loss < best - min_delta:
            best, wait = loss, 0
        else:
            wait += 1
            if cooldown_left == 0 and wait >= patience and lr > min_lr:
                lr = max(lr * factor, min_lr)
                cooldown_left, wait = cooldown, 0
            elif cooldown_left > 0:
                cooldown_left -= 1
        out.append(lr)
    return np.array(out, dtype=float)


def range_decreasing(lr_min, lr_max, n_steps):
    return keras.optimizers.schedules.ExponentialDecay(lr_max, n_steps, lr_min / lr_max)


def range_staircase(lr_min, lr_max, n_steps):
    return keras.optimizers.schedules.ExponentialDecay(lr_min, n_steps // 10 or 1,
                                                       (lr_max / lr_min) ** 0.1, staircase=True)


def range_plain_function(lr_min, lr_max, n_steps):
    return lambda step: lr_min * (lr_max / lr_min) ** (step / n_steps)


WRONG = {
    "q1": [(piecewise_boundary_in_next_interval, "First wrong step: 100."),
           (piecewise_digitize, "First wrong step: 100."),
           (piecewise_python_if, "raised ValueError")],
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
           (plateau_ignores_cooldown, "cooldown=2 and min_lr=0.01"),
           (plateau_counts_cooldown, "The epochs of the cooldown count towards your patience")],
    "q7": [(range_decreasing, "make_range_schedule(1e-05, 1.0, 300)"),
           (range_staircase, "the rates of make_range_schedule"),
           (range_plain_function, "should return a `keras.optimizers.schedules.Learning")],
}
CORRECT = [
    ("q1", piecewise_lr), ("q1", piecewise_lr_comparisons), ("q1", piecewise_lr_select),
    ("q2", exponential_lr), ("q2", exponential_lr_tf), ("q2", exponential_lr_exp_log),
    ("q3", cosine_lr), ("q3", cosine_lr_clip), ("q3", cosine_lr_ops),
    ("q4", cosine_restarts_lr), ("q4", cosine_restarts_closed_form),
    ("q4", cosine_restarts_cycle_table),
    ("q5", WarmupCosine), ("q5", WarmupCosineTF), ("q5", WarmupCosineFloat64Alpha),
    ("q5", WarmupCosineCond),
    ("q6", plateau_lrs), ("q6", plateau_lrs_counters), ("q6", plateau_lrs_object),
    ("q7", make_range_schedule), ("q7", make_own_range_schedule),
    ("q7", make_range_schedule_per_step),
]

(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(lesson11, CORRECT, WRONG)
