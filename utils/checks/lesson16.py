"""Checks of lesson 16 · Hyperparameter search with KerasTuner.

Nothing here trains a network. Search spaces are read back from ``kt.HyperParameters().space``
and compared with a reference space declared through the same KerasTuner API; models built at
chosen hyperparameter values are compared with Keras references (and their compiled metrics with
what a tuner's ``"val_accuracy"`` objective reads from the history); grid sizes are counted by
running ``kt.GridSearch`` on a tuner whose trials return at once; trial tables come from a real
``kt.RandomSearch`` whose trials return a score without training; the batch-size ``HyperModel``
is called with a stand-in model that records what ``fit`` receives; the distributed environment
is judged by KerasTuner's own distribution helpers.
"""
from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import tempfile
from unittest import mock

import keras
import numpy as np

from .core import is_subclass, judge_side, kernel_side, question


# ----------------------------------------------------------------------------- helpers
def _quiet():
    """Silence KerasTuner's trial printouts (stdout) and tracebacks of failed trials (stderr)."""
    stack = contextlib.ExitStack()
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
    return stack


def _same(a, b) -> bool:
    """Config values equal, with a tolerance for floats (1e-4 == 0.0001, 0.1 + 0.2 == 0.3)."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or a == b and type(a) is type(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)
    return a == b


# ----------------------------------------------------------------------------- q1
CNN_NAMES = ("filters", "units", "dropout", "dropout_rate", "learning_rate")
CNN_CORNERS = {
    "the smallest values (filters 8, units 32, no dropout, learning rate 1e-4)":
        {"filters": 8, "units": 32, "dropout": False, "dropout_rate": 0.1, "learning_rate": 1e-4},
    "the largest values (filters 32, units 128, dropout 0.5, learning rate 1e-2)":
        {"filters": 32, "units": 128, "dropout": True, "dropout_rate": 0.5, "learning_rate": 1e-2},
    "middle values (filters 16, units 64, dropout 0.3, learning rate 1e-3)":
        {"filters": 16, "units": 64, "dropout": True, "dropout_rate": 0.3, "learning_rate": 1e-3},
}


def _reference_space():
    """The search space of exercise 1, declared with the KerasTuner API."""
    import keras_tuner as kt

    hp = kt.HyperParameters()
    hp.Int("filters", 8, 32, step=8)
    hp.Choice("units", [32, 64, 128])
    hp.Boolean("dropout")
    hp.Float("dropout_rate", 0.1, 0.5, step=0.1, parent_name="dropout", parent_values=[True])
    hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
    return {h.name: h for h in hp.space}


def _reference_cnn(values):
    layers = [keras.Input((28, 28, 1)),
              keras.layers.Conv2D(values["filters"], 3, activation="relu"),
              keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
              keras.layers.Dense(values["units"], activation="relu")]
    if values["dropout"]:
        layers.append(keras.layers.Dropout(values["dropout_rate"]))
    layers.append(keras.layers.Dense(10, activation="softmax"))
    return keras.Sequential(layers)


def _config_problem(name, mine, ref) -> str | None:
    """How one of the student's hyperparameters differs from the reference, or None."""
    kind, rkind = type(mine).__name__, type(ref).__name__
    if kind != rkind:
        return f"hyperparameter `{name}` is a {kind}; the task asks for another type (hp.{rkind}?)."
    config, rconfig = mine.get_config(), ref.get_config()
    for key in ("min_value", "max_value", "step", "sampling", "values"):
        if key in rconfig and not _same(config.get(key), rconfig[key]):
            return (f"hyperparameter `{name}`: `{key}` = {config.get(key)!r} does not match the "
                    "task statement.")
    if config.get("conditions") != rconfig.get("conditions"):
        if rconfig.get("conditions"):
            return (f"hyperparameter `{name}` should be conditional: active only when `dropout` is "
                    "True (parent_name/parent_values or hp.conditional_scope).")
        return f"hyperparameter `{name}` should not be conditional."
    return None


def _loss_name(loss) -> str:
    if isinstance(loss, dict):
        return str(loss.get("config", {}).get("name") or loss.get("class_name", ""))
    return str(loss)


def _accuracy_problem(metrics, where) -> str | None:
    """None if the compiled metrics log a class accuracy under the name 'accuracy' (what the
    tuner's objective 'val_accuracy' reads from the history), else what is wrong."""
    named = []
    for metric in metrics if isinstance(metrics, (list, tuple)) else [metrics]:
        if isinstance(metric, str):
            if metric == "accuracy":
                return None
            named.append(metric)
        elif isinstance(metric, dict):
            kind, name = metric.get("class_name"), metric.get("config", {}).get("name")
            if name == "accuracy" and kind == "SparseCategoricalAccuracy":
                return None
            if name == "accuracy":
                return (f"the model built at {where} logs a {kind} as 'accuracy'; with class-id "
                        "labels and probabilities the class accuracy is SparseCategoricalAccuracy.")
            named.append(str(name))
    if named:
        return (f"the model built at {where} logs its metrics as {named}; the tuner's objective "
                "'val_accuracy' needs a metric named 'accuracy' in the history, and a search on "
                "it stops with an error.")
    return (f"the model built at {where} does not track 'accuracy'; the tuner's objective "
            "'val_accuracy' needs it.")


def _compile_problem(model, values, where) -> str | None:
    try:
        config = model.get_compile_config() or {}
    except Exception:
        config = {}
    if not config:
        return (f"the model built at {where} is not compiled: call `model.compile(...)` in "
                "build_cnn.")
    optimizer = config.get("optimizer")
    if not isinstance(optimizer, dict) or optimizer.get("class_name") != "Adam":
        return f"the model built at {where} should be compiled with keras.optimizers.Adam."
    lr = optimizer.get("config", {}).get("learning_rate")
    if not isinstance(lr, (int, float)) or not math.isclose(lr, values["learning_rate"],
                                                             rel_tol=1e-4):
        return (f"the optimizer of the model built at {where} has learning rate {lr!r}, not the "
                "value of hp `learning_rate`.")
    loss = _loss_name(config.get("loss")).lower()
    if loss not in ("sparse_categorical_crossentropy", "sparsecategoricalcrossentropy"):
        return (f"the model built at {where} uses loss {loss!r}; the labels are class ids, which "
                "take the sparse categorical cross-entropy.")
    return _accuracy_problem(config.get("metrics") or [], where)


@question(names=["build_cnn"], hints=[
    "Declare every hyperparameter once, at the top of build_cnn, before any `if`: hp.Int, "
    "hp.Choice, hp.Boolean, hp.Float. A hyperparameter that is only declared inside "
    "`if hp.Boolean('dropout'):` is missing from hp.space after the first build.",
    "The dropout rate is conditional: `hp.Float('dropout_rate', 0.1, 0.5, step=0.1, "
    "parent_name='dropout', parent_values=[True])` (or the same inside `with "
    "hp.conditional_scope('dropout', [True]):`) returns None while dropout is off.",
    "The learning rate spans two orders of magnitude: `sampling='log'`. Pass it to "
    "`keras.optimizers.Adam(learning_rate=...)` and compile with "
    "loss='sparse_categorical_crossentropy', metrics=['accuracy'] (the tuner's objective "
    "'val_accuracy' is the metric named 'accuracy' on the validation data)."])
def q1(t, build_cnn):
    """a CNN search space with a conditional hyperparameter"""
    import keras_tuner as kt

    if not callable(build_cnn):
        t.fail(f"`build_cnn` should be a function of `hp`, but it is a {type(build_cnn).__name__}.")
    hp = kt.HyperParameters()
    model = t.call(build_cnn, hp, where="a fresh kt.HyperParameters()")
    if not isinstance(model, keras.Model):
        t.fail(f"`build_cnn(hp)` returned a {type(model).__name__}; it should return a compiled "
               "keras.Model.")
    names = [h.name for h in hp.space]
    missing = [n for n in CNN_NAMES if n not in names]
    extra = [n for n in names if n not in CNN_NAMES]
    if missing:
        t.fail(f"after one build with the default values, hp.space has no {missing}: declare every "
               "hyperparameter before any `if` (conditional ones with parent_name/parent_values).")
    if extra:
        t.fail(f"hp.space holds hyperparameters the task does not ask for: {extra}.")
    reference = _reference_space()
    mine = {h.name: h for h in hp.space}
    for name in CNN_NAMES:
        problem = _config_problem(name, mine[name], reference[name])
        t.case(problem is None, problem or "")
    for where, values in CNN_CORNERS.items():
        hp_at = kt.HyperParameters()
        with _quiet():
            t.call(build_cnn, hp_at, where="a fresh kt.HyperParameters()")
        hp_at.values.update(values)
        model = t.call(build_cnn, hp_at, where=where)
        t.model(model, _reference_cnn(values), f"build_cnn(hp) at {where}")
        if isinstance(model, keras.Model):
            problem = _compile_problem(model, values, where)
            t.case(problem is None, problem or "")


# ----------------------------------------------------------------------------- q2
def _grid_case_offbyone(hp):
    hp.Int("blocks", 1, 10, step=4)
    hp.Choice("units", [16, 32])
    hp.Fixed("kernel", 3)


def _grid_case_dropout(hp):
    hp.Boolean("dropout")
    hp.Float("dropout_rate", 0.1, 0.5, step=0.1, parent_name="dropout", parent_values=[True])
    hp.Choice("units", [32, 64, 128])


def _grid_case_models(hp):
    hp.Choice("model", ["mlp", "cnn", "resnet"])
    with hp.conditional_scope("model", ["mlp"]):
        hp.Int("layers", 1, 3)
    with hp.conditional_scope("model", ["cnn", "resnet"]):
        hp.Float("learning_rate", 1e-3, 1e-1, step=10, sampling="log")
        hp.Boolean("batchnorm")


def _grid_case_fixed(hp):
    hp.Fixed("epochs", 5)


GRID_CASES = {
    "Int(1, 10, step=4) x Choice of 2 x Fixed": _grid_case_offbyone,
    "Boolean 'dropout' with a conditional 'dropout_rate' x Choice of 3": _grid_case_dropout,
    "a model Choice with hyperparameters conditional on it (one log-stepped Float)":
        _grid_case_models,
    "a single Fixed value": _grid_case_fixed,
}


def _space(declare):
    import keras_tuner as kt

    hp = kt.HyperParameters()
    declare(hp)
    return hp


@functools.lru_cache(maxsize=None)
def _gridsearch_trials(case: str) -> int:
    """How many trials kt.GridSearch runs on this space (trials return at once, no training)."""
    import keras_tuner as kt

    class InstantGrid(kt.GridSearch):
        def run_trial(self, trial, *args, **kwargs):
            return 0.0

    with tempfile.TemporaryDirectory() as folder, _quiet():
        tuner = InstantGrid(hyperparameters=_space(GRID_CASES[case]), directory=folder,
                            project_name="grid", overwrite=True)
        tuner.search(verbose=0)
        return len(tuner.oracle.trials)


@question(names=["grid_size"], hints=[
    "A grid tries every combination of values: without conditions the answer is the product, "
    "over the hyperparameters, of how many values each can take.",
    "`h.values` gives the values of a discrete hyperparameter `h` of `hp.space` (a list for "
    "Choice, a tuple for Boolean and Fixed, a generator for Int and Float with a step: "
    "`list(h.values)` works for all). Count them rather than computing (max - min) / step "
    "yourself: Int(1, 10, step=4) takes 1, 5 and 9.",
    "With conditions, count distinct combinations of the ACTIVE values: loop over "
    "itertools.product of all value lists, set `probe = hp.copy(); probe.values = {...}`, keep "
    "`(h.name, value)` only where `probe.is_active(h)`, and count the distinct tuples."])
def q2(t, grid_size):
    """the number of trials of a grid search"""
    if not callable(grid_size):
        t.fail(f"`grid_size` should be a function, but it is a {type(grid_size).__name__}.")
    for case, declare in GRID_CASES.items():
        out = t.whole(t.call(grid_size, _space(declare), where=case), f"grid_size on {case}")
        t.case(out == _gridsearch_trials(case),
               f"for {case}, `grid_size` returned {out}, which is not the number of trials "
               "kt.GridSearch runs on that space.")


# ----------------------------------------------------------------------------- q3
BEST_CASES = [
    ("accuracies going up and down", [0.5, 0.7, 0.6, 0.8, 0.75], "max"),
    ("validation losses (direction 'min')", [1.2, 0.9, 1.0, 0.7, 0.8], "min"),
    ("a failed trial (NaN) in the middle", [0.6, np.nan, 0.5, 0.9], "max"),
    ("failed trials (NaN) at the start, direction 'min'", [np.nan, np.nan, 0.3, 0.2, 0.4], "min"),
    ("a single trial", [0.42], "max"),
]


def _best_cases():
    rng = np.random.default_rng(1403)
    scores = rng.uniform(0.1, 0.9, size=40)
    scores[rng.choice(40, size=6, replace=False)] = np.nan
    yield from ((name, list(s), d) for name, s, d in BEST_CASES[:2])  # plain Python lists
    yield from ((name, np.array(s, dtype=float), d) for name, s, d in BEST_CASES[2:])
    yield "40 random scores with NaNs", scores, "max"
    yield "40 random scores with NaNs, direction 'min'", scores, "min"


@question(names=["best_so_far"], hints=[
    "Entry i is the best score among trials 0..i: a running maximum (or minimum).",
    "NumPy has running versions of binary functions: `np.maximum.accumulate`. A failed trial "
    "(NaN) must not wipe out the best score found before it.",
    "`np.fmax` and `np.fmin` ignore a NaN when the other argument is a number; "
    "`np.fmax.accumulate(np.asarray(scores, dtype=float))` keeps NaN only until the first "
    "finished trial."])
def q3(t, best_so_far):
    """the best score found after each trial"""
    if not callable(best_so_far):
        t.fail(f"`best_so_far` should be a function, but it is a {type(best_so_far).__name__}.")
    for case, scores, direction in _best_cases():
        given = scores.copy()
        out = t.call(best_so_far, given, direction, where=case)
        values = np.asarray(scores, dtype=float)
        expected = (np.fmax if direction == "max" else np.fmin).accumulate(values)
        arr = t.numbers(out, f"best_so_far on {case}", finite=False)
        if arr.shape != expected.shape:
            t.case(False, f"on {case}: `best_so_far` returned shape {arr.shape}; it should have "
                          "one entry per trial, like `scores`.")
            continue
        arr = arr.astype(float)
        if np.any(np.isinf(arr)):
            first = int(np.argmax(np.isinf(arr)))
            t.case(False, f"on {case}: index {first} holds {arr[first]:g}; a failed trial (NaN) "
                          "must be skipped, not counted as an infinite score (an infinity wins or "
                          "loses every comparison that follows).")
            continue
        nan_mine, nan_ref = np.isnan(arr), np.isnan(expected)
        if np.any(nan_mine & ~nan_ref):
            first = int(np.argmax(nan_mine & ~nan_ref))
            t.case(False, f"on {case}: NaN at index {first} although a trial before it has a "
                          "score: skip failed trials (NaN) instead of letting them spread.")
            continue
        if np.any(nan_ref & ~nan_mine):
            first = int(np.argmax(nan_ref & ~nan_mine))
            t.case(False, f"on {case}: index {first} holds a number, but no trial up to there has "
                          "a score yet (keep NaN there).")
            continue
        t.array(arr[~nan_ref], expected[~nan_ref], f"best_so_far on {case}")


# ----------------------------------------------------------------------------- q4
def _instant_random_search(folder):
    """A real kt.RandomSearch whose trials return a score at once; trial 03 fails."""
    import keras_tuner as kt

    class InstantRandom(kt.RandomSearch):
        def run_trial(self, trial, *args, **kwargs):
            hp = trial.hyperparameters
            if trial.trial_id == "03":
                raise kt.errors.FailedTrialError("this trial fails on purpose")
            score = 0.9 - 0.05 * abs(math.log10(hp["learning_rate"]) + 2.5) - 0.001 * hp["units"]
            return {"val_accuracy": score - hp.values.get("dropout_rate", 0.0) / 10}

    hp = kt.HyperParameters()
    hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
    hp.Choice("units", [16, 32, 64])
    hp.Boolean("dropout")
    hp.Float("dropout_rate", 0.1, 0.5, parent_name="dropout", parent_values=[True])
    with _quiet():
        tuner = InstantRandom(hyperparameters=hp, objective="val_accuracy", max_trials=12, seed=14,
                              directory=folder, project_name="random", overwrite=True)
        tuner.search(verbose=0)
    return tuner


@kernel_side
def finished_random_search():
    """:func:`_instant_random_search` in a temporary folder that lives as long as the tuner."""
    folder = tempfile.TemporaryDirectory()
    tuner = _instant_random_search(folder.name)
    tuner.course_folder = folder
    return tuner


def _expected_table(tuner, name):
    rows = [(float(trial.hyperparameters.values[name]), float(trial.score))
            for trial_id, trial in sorted(tuner.oracle.trials.items())
            if trial.status == "COMPLETED" and name in trial.hyperparameters.values]
    values = np.array([r[0] for r in rows], dtype=float)
    scores = np.array([r[1] for r in rows], dtype=float)
    return values, scores


TABLE_CASES = {
    "learning_rate": "'learning_rate' (trial 03 failed)",
    "dropout_rate": "'dropout_rate' (conditional: inactive in some trials)",
    "dropout": "'dropout' (a Boolean: True/False as 1.0/0.0)",
    "units": "'units' (a Choice of whole numbers)",
    "momentum": "'momentum' (not in the search space at all)",
}


@question(names=["trial_scores"], hints=[
    "`tuner.oracle.trials` is a dict {trial_id: Trial}; a Trial has `.status`, `.score` and "
    "`.hyperparameters.values` (a dict holding only the ACTIVE hyperparameters).",
    "Keep a trial only if `trial.status == 'COMPLETED'` (a failed trial has score None) and "
    "`name in trial.hyperparameters.values`; go through the trial ids in sorted order.",
    "Return `np.array(values, dtype=float), np.array(scores, dtype=float)`: float(True) is 1.0, "
    "and an empty list gives an empty array of shape (0,)."])
def q4(t, trial_scores):
    """hyperparameter values and scores of the finished trials"""
    if not callable(trial_scores):
        t.fail(f"`trial_scores` should be a function, but it is a {type(trial_scores).__name__}.")
    with tempfile.TemporaryDirectory() as folder:
        reference = _instant_random_search(folder)
        expected = {name: _expected_table(reference, name) for name in TABLE_CASES}
    tuner = t.make(finished_random_search)   # the same seeded search, where the student's code runs
    for name, case in TABLE_CASES.items():
        out = t.call(trial_scores, tuner, name, where=f"name={case}")
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            t.fail(f"`trial_scores(tuner, {name!r})` should return a pair (values, scores), "
                   f"but it returned a {type(out).__name__}"
                   + (f" of length {len(out)}." if isinstance(out, (tuple, list)) else "."))
        for part, mine, ref in zip(("values", "scores"), out, expected[name]):
            if t.array(mine, ref, f"{part} for {case}"):
                dtype = t.numbers(mine, part).dtype
                t.case(dtype.kind == "f", f"{part} for {case} has dtype {dtype}; the task asks "
                                          "for float arrays.")


# ----------------------------------------------------------------------------- q5
class _RecordingModel:
    """Stands in for a Keras model: records the arguments of ``fit`` and returns a marker."""

    def __init__(self):
        self.calls = []
        self.history = object()

    def fit(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return self.history


def _same_data(given, original) -> bool:
    """The array the check passed, handed on unchanged (in the grader it crosses as a copy)."""
    return isinstance(given, np.ndarray) and given.shape == original.shape and \
        np.array_equal(given, original)


def _fit_call(t, hypermodel, hp, where):
    """Call the student's ``fit`` with a recording model; the (args, kwargs, returned) it passed."""
    x, y, val = np.zeros((4, 28, 28, 1)), np.zeros(4), (np.zeros((2, 28, 28, 1)), np.zeros(2))
    model = judge_side(_RecordingModel(), methods=("fit",))
    returned = t.call(hypermodel.fit, hp, model, x, y, epochs=3, validation_data=val, where=where)
    if len(model.calls) != 1:
        t.fail(f"`fit(hp, model, ...)` called `model.fit` {len(model.calls)} times for {where}; "
               "it should call it exactly once.")
    args, kwargs = model.calls[0]
    if len(args) < 2 or not _same_data(args[0], x) or not _same_data(args[1], y):
        t.fail(f"`model.fit` did not receive the training data for {where} (the positional "
               "arguments of `fit` were not passed on).")
    given = kwargs.get("validation_data")
    if kwargs.get("epochs") != 3 or not (isinstance(given, (tuple, list)) and len(given) == 2
                                         and all(map(_same_data, given, val))):
        t.fail(f"`model.fit` did not receive the tuner's keyword arguments (epochs, "
               f"validation_data) for {where}.")
    return kwargs, returned is model.history


@question(names=["BatchSizeHyperModel"], hints=[
    "Subclass `kt.HyperModel`; `build(self, hp)` returns `build_demo(hp)`; the new part is "
    "`fit(self, hp, model, *args, **kwargs)`, which the tuner calls instead of `model.fit`.",
    "Inside fit, declare the hyperparameter with `hp.Choice('batch_size', [32, 64, 128])` and "
    "pass its value to `model.fit(*args, batch_size=..., **kwargs)`.",
    "Return what `model.fit` returns (the History): the tuner reads the validation metrics "
    "from it."])
def q5(t, BatchSizeHyperModel):
    """tune the batch size by overriding HyperModel.fit"""
    import keras_tuner as kt

    if not is_subclass(BatchSizeHyperModel, kt.HyperModel):
        t.fail("`BatchSizeHyperModel` should be a class that subclasses kt.HyperModel "
               f"(it is a {type(BatchSizeHyperModel).__name__}).")
    hypermodel = t.call(BatchSizeHyperModel, where="BatchSizeHyperModel()")
    hp = kt.HyperParameters()
    with _quiet():
        model = t.call(hypermodel.build, hp, where="build(a fresh kt.HyperParameters())")
    t.case(isinstance(model, keras.Model),
           "`build(hp)` should return a Keras model (build_demo(hp)).")
    hp = kt.HyperParameters()
    kwargs, returned = _fit_call(t, hypermodel, hp, "a fresh kt.HyperParameters()")
    space = {h.name: h for h in hp.space}
    if "batch_size" not in space:
        t.fail("after `fit`, hp.space has no hyperparameter named 'batch_size': `fit` does not "
               "declare it.")
    declared = space["batch_size"]
    t.case(type(declared).__name__ == "Choice"
           and sorted(getattr(declared, "values", [])) == [32, 64, 128],
           f"'batch_size' is a {type(declared).__name__} with values "
           f"{list(getattr(declared, 'values', []))}; the task asks for hp.Choice of 32, 64 "
           "and 128.")
    t.case(returned, "`fit` should return what `model.fit` returns (the History): the tuner reads "
                     "the objective from it.")
    for size in (128, 64):
        hp.values["batch_size"] = size
        kwargs, _ = _fit_call(t, hypermodel, hp, f"hp.values['batch_size'] = {size}")
        t.case(kwargs.get("batch_size") == size,
               f"with hp.values['batch_size'] = {size}, `model.fit` got batch_size="
               f"{kwargs.get('batch_size')!r}, not the value of the hyperparameter.")


# ----------------------------------------------------------------------------- q6
ENV_NAMES = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")
ROLES = ("chief", "worker", "alone", "error")
_CHIEF = {"KERASTUNER_ORACLE_IP": "10.0.0.5", "KERASTUNER_ORACLE_PORT": "8000"}
ENVIRONMENTS = (  # the processes of exercise 6, as their environments
    {"KERASTUNER_TUNER_ID": "chief", **_CHIEF},
    {"KERASTUNER_TUNER_ID": "tuner0", **_CHIEF},
    {"KERASTUNER_TUNER_ID": "chief-standby", **_CHIEF},
    {"KERASTUNER_TUNER_ID": "tuner1", "KERASTUNER_ORACLE_PORT": "8000"},
    {"KERASTUNER_TUNER_ID": "tuner2", "KERASTUNER_ORACLE_IP": "10.0.0.5"},
    {"KERASTUNER_TUNER_ID": "tuner0", **_CHIEF},
    dict(_CHIEF),
)
_ROLE_HELP = {
    "chief": "look at how KerasTuner decides from KERASTUNER_TUNER_ID who is the chief",
    "worker": "check which of the three variables it sets and what its id contains",
    "alone": "which variable does KerasTuner look for first, and is it there?",
    "error": "what does KerasTuner do when KERASTUNER_ORACLE_IP is set but another variable is "
             "missing?",
}


def kerastuner_role(env) -> str:
    """What KerasTuner makes of a process with this environment: 'chief', 'worker', 'alone' (an
    ordinary search with its own oracle) or 'error' (the tuner stops with an error)."""
    from keras_tuner.src.distribute import utils as dist_utils

    clean = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_")}
    with mock.patch.dict(os.environ, clean, clear=True):
        os.environ.update(env)
        try:
            if not dist_utils.has_chief_oracle():
                return "alone"
            return "chief" if dist_utils.is_chief_oracle() else "worker"
        except RuntimeError:
            return "error"


def _same_trial_pairs(envs, roles) -> set:
    """Pairs of workers that ask the same chief for a trial under the same id."""
    workers = [i for i, role in enumerate(roles) if role == "worker"]
    return {frozenset((a, b)) for a in workers for b in workers if a < b
            and envs[a] == envs[b]}


@question(names=["roles", "same_trial"], hints=[
    "Read KerasTuner's own rule: `import inspect; from keras_tuner.src.distribute import utils; "
    "print(inspect.getsource(utils))`. Without KERASTUNER_ORACLE_IP a process runs an ordinary "
    "search with its own oracle: 'alone'.",
    "With KERASTUNER_ORACLE_IP set, a missing KERASTUNER_ORACLE_PORT or KERASTUNER_TUNER_ID is an "
    "'error'. Otherwise the process is the chief when the string 'chief' occurs ANYWHERE in its "
    "id (`'chief' in tuner_id`), else a worker.",
    "The oracle hands out one trial per tuner id: two workers whose ids are equal get the same "
    "trial. `same_trial` holds the positions of those two environments in ENVIRONMENTS."])
def q6(t, roles, same_trial):
    """predict the role KerasTuner gives each process, and which two get the same trial"""
    truth = [kerastuner_role(env) for env in ENVIRONMENTS]
    n = len(ENVIRONMENTS)
    if not isinstance(roles, (list, tuple)) or not all(isinstance(r, str) for r in roles):
        t.fail(f"`roles` should be a list of {n} strings, one per environment, not "
               + ("a list with other things in it." if isinstance(roles, (list, tuple)) else
                  f"a {type(roles).__name__}."))
    if len(roles) != n:
        t.fail(f"`roles` holds {len(roles)} entries; ENVIRONMENTS holds {n}.")
    said = [r.strip().lower() for r in roles]
    unknown = [r for r in said if r not in ROLES]
    if unknown:
        t.fail(f"`roles` holds {unknown[0]!r}; each entry is one of "
               + ", ".join(repr(r) for r in ROLES) + ".")
    for i, (mine, right) in enumerate(zip(said, truth)):
        t.case(mine == right, f"environment {i} is not a{'n' if mine[0] in 'ae' else ''} "
               f"{mine!r}: {_ROLE_HELP[right]}")
    if isinstance(same_trial, (str, bytes, dict)) or not hasattr(same_trial, "__len__"):
        t.fail("`same_trial` should be a pair of positions in ENVIRONMENTS, such as [2, 4], not a "
               f"{type(same_trial).__name__}.")
    pair = [t.whole(v, f"same_trial[{k}]") for k, v in enumerate(list(same_trial))]
    if len(pair) != 2 or pair[0] == pair[1] or not all(0 <= p < n for p in pair):
        t.fail(f"`same_trial` should hold two different positions from 0 to {n - 1}.")
    expected = _same_trial_pairs(ENVIRONMENTS, truth)
    a, b = sorted(pair)
    not_workers = [p for p in (a, b) if truth[p] != "worker"]
    t.case(frozenset((a, b)) in expected,
           f"`same_trial`: environment {not_workers[0]} does not run trials as a worker."
           if not_workers else
           f"`same_trial`: environments {a} and {b} are workers with different ids; the oracle "
           "gives each id its own trial.")
