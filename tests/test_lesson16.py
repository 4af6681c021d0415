"""Lesson 16 (KerasTuner): correct answers PASS, plausible mistakes FAIL with a message."""
import itertools

import keras
import keras_tuner as kt
import numpy as np

from helpers import answer_tests
from utils.checks import lesson16
from utils.checks.lesson16 import q1, q2, q3, q4, q5, q6


# ----------------------------------------------------------------------------- correct answers
def build_cnn(hp):
    filters = hp.Int("filters", 8, 32, step=8)
    units = hp.Choice("units", [32, 64, 128])
    dropout = hp.Boolean("dropout")
    rate = hp.Float("dropout_rate", 0.1, 0.5, step=0.1, parent_name="dropout", parent_values=[True])
    learning_rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
    model = keras.Sequential([keras.Input((28, 28, 1)),
                              keras.layers.Conv2D(filters, 3, activation="relu"),
                              keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                              keras.layers.Dense(units, activation="relu")])
    if dropout:
        model.add(keras.layers.Dropout(rate))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def build_cnn_scope(hp):
    """The same space written with hp.conditional_scope and a loss object: must pass too."""
    filters = hp.Int("filters", 8, 32, step=8)
    units = hp.Choice("units", [32, 64, 128])
    dropout = hp.Boolean("dropout")
    with hp.conditional_scope("dropout", [True]):
        rate = hp.Float("dropout_rate", 0.1, 0.5, step=0.1)
    learning_rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
    layers = [keras.Input((28, 28, 1)), keras.layers.Conv2D(filters, (3, 3)),
              keras.layers.ReLU(), keras.layers.MaxPooling2D(), keras.layers.Flatten(),
              keras.layers.Dense(units), keras.layers.Activation("relu")]
    if dropout:
        layers.append(keras.layers.Dropout(rate))
    model = keras.Sequential(layers + [keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    return model


def build_cnn_functional(hp):
    """The functional API, keyword declarations, a metric object named 'accuracy'."""
    filters = hp.Int(name="filters", min_value=8, max_value=32, step=8)
    units = hp.Choice(name="units", values=[32, 64, 128])
    hp.Boolean(name="dropout")
    rate = hp.Float(name="dropout_rate", min_value=0.1, max_value=0.5, step=0.1,
                    parent_name="dropout", parent_values=[True])
    learning_rate = hp.Float(name="learning_rate", min_value=1e-4, max_value=1e-2, sampling="log")
    inputs = keras.Input(shape=(28, 28, 1))
    h = keras.layers.Conv2D(filters, kernel_size=3, activation="relu")(inputs)
    h = keras.layers.Flatten()(keras.layers.MaxPooling2D(pool_size=2)(h))
    h = keras.layers.Dense(units, activation="relu")(h)
    if hp.get("dropout"):
        h = keras.layers.Dropout(rate=rate)(h)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(h))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return model


def grid_size(hp):
    space = hp.space
    seen = set()
    for combo in itertools.product(*[list(h.values) for h in space]):
        probe = hp.copy()
        probe.values = {h.name: v for h, v in zip(space, combo)}
        seen.add(tuple((h.name, v) for h, v in zip(space, combo) if probe.is_active(h)))
    return len(seen)


def grid_size_generators(hp):
    """h.values used as it comes (generators for Int and Float) and a float count."""
    space, seen = hp.space, set()
    for combo in itertools.product(*(h.values for h in space)):
        probe = hp.copy()
        probe.values = dict(zip((h.name for h in space), combo))
        seen.add(frozenset((h.name, v) for h, v in zip(space, combo) if probe.is_active(h)))
    return float(len(seen))


def grid_size_recursive(hp):
    """Walk the space in declaration order; an inactive hyperparameter counts once."""
    space = hp.space

    def count(i, values):
        if i == len(space):
            return 1
        probe = hp.copy()
        probe.values = dict(values)
        if not probe.is_active(space[i]):
            return count(i + 1, values)
        return sum(count(i + 1, {**values, space[i].name: v}) for v in space[i].values)

    return np.int64(count(0, {}))


def best_so_far(scores, direction="max"):
    scores = np.asarray(scores, dtype=float)
    return (np.fmax if direction == "max" else np.fmin).accumulate(scores)


def best_so_far_loop(scores, direction="max"):
    best, out = float("nan"), []
    for score in scores:
        better = score > best if direction == "max" else score < best
        if not np.isnan(score) and (np.isnan(best) or better):
            best = float(score)
        out.append(best)
    return np.array(out)


def best_so_far_masked(scores, direction="max"):
    """NaN replaced by the worst value, the running best, then NaN put back where none exists."""
    sign = 1.0 if direction == "max" else -1.0
    values = sign * np.asarray(scores, dtype=np.float64)
    running = np.maximum.accumulate(np.where(np.isnan(values), -np.inf, values))
    return sign * np.where(np.isneginf(running), np.nan, running)


def trial_scores(tuner, name):
    values, scores = [], []
    for trial_id, trial in sorted(tuner.oracle.trials.items()):
        if trial.status == "COMPLETED" and name in trial.hyperparameters.values:
            values.append(trial.hyperparameters.values[name])
            scores.append(trial.score)
    return np.array(values, dtype=float), np.array(scores, dtype=float)


def trial_scores_ids(tuner, name):
    """Trial ids sorted first; the status compared with KerasTuner's own constant."""
    completed = kt.engine.trial.TrialStatus.COMPLETED
    trials = [tuner.oracle.trials[i] for i in sorted(tuner.oracle.trials)]
    kept = [t for t in trials if t.status == completed and name in t.hyperparameters.values]
    return (np.fromiter((float(t.hyperparameters.values[name]) for t in kept), dtype=np.float64),
            np.asarray([t.score for t in kept], dtype=np.float32))


def trial_scores_pairs(tuner, name):
    pairs = [(trial.hyperparameters.values[name], trial.score)
             for _, trial in sorted(tuner.oracle.trials.items())
             if trial.status == "COMPLETED" and trial.hyperparameters.is_active(name)
             and name in trial.hyperparameters.values]
    values, scores = zip(*pairs) if pairs else ((), ())
    return np.array(values, dtype=float), np.array(scores, dtype=float)


def build_demo(hp):
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(hp.Choice("units", [16, 32]), activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class BatchSizeHyperModel(kt.HyperModel):
    def build(self, hp):
        return build_demo(hp)

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(*args, batch_size=hp.Choice("batch_size", [32, 64, 128]), **kwargs)


class BatchSizeInKwargs(kt.HyperModel):
    """The batch size put into kwargs."""

    def build(self, hp):
        return build_demo(hp)

    def fit(self, hp, model, *args, **kwargs):
        kwargs["batch_size"] = hp.Choice("batch_size", values=[32, 64, 128])
        history = model.fit(*args, **kwargs)
        return history


class BatchSizeSuper(kt.HyperModel):
    """KerasTuner's own fit, which calls model.fit(*args, **kwargs)."""

    def build(self, hp):
        return build_demo(hp)

    def fit(self, hp, model, *args, **kwargs):
        return super().fit(hp, model, *args, batch_size=hp.Choice("batch_size", [32, 64, 128]),
                           **kwargs)


# q6 takes predictions as plain data: one role per environment of lesson16.ENVIRONMENTS
ROLES = ["chief", "worker", "chief", "alone", "error", "worker", "error"]
ROLES_TUPLE = (tuple(ROLES), (5, 1))
ROLES_SHOUTED = ([r.upper() + " " for r in ROLES], np.array([1.0, 5.0]))


CORRECT = [
    ("q1", {"build_cnn": build_cnn}), ("q1", {"build_cnn": build_cnn_scope}),
    ("q1", {"build_cnn": build_cnn_functional}),
    ("q2", {"grid_size": grid_size}), ("q2", {"grid_size": grid_size_generators}),
    ("q2", {"grid_size": grid_size_recursive}),
    ("q3", {"best_so_far": best_so_far}), ("q3", {"best_so_far": best_so_far_loop}),
    ("q3", {"best_so_far": best_so_far_masked}),
    ("q4", {"trial_scores": trial_scores}), ("q4", {"trial_scores": trial_scores_ids}),
    ("q4", {"trial_scores": trial_scores_pairs}),
    ("q5", {"BatchSizeHyperModel": BatchSizeHyperModel}),
    ("q5", {"BatchSizeHyperModel": BatchSizeInKwargs}),
    ("q5", {"BatchSizeHyperModel": BatchSizeSuper}),
    ("q6", {"roles": ROLES, "same_trial": [1, 5]}),
    ("q6", {"roles": ROLES_TUPLE[0], "same_trial": ROLES_TUPLE[1]}),
    ("q6", {"roles": ROLES_SHOUTED[0], "same_trial": ROLES_SHOUTED[1]}),
]


# ----------------------------------------------------------------------------- q1: wrong answers
def cnn_with(**changes):
    """A build_cnn with one declaration or layer changed, as a student might write it."""
    def build(hp):
        filters = changes.get("filters", lambda hp: hp.Int("filters", 8, 32, step=8))(hp)
        units = hp.Choice("units", [32, 64, 128])
        if changes.get("rate_inside_if"):
            rate = None
            if hp.Boolean("dropout"):
                rate = hp.Float("dropout_rate", 0.1, 0.5, step=0.1, parent_name="dropout",
                                parent_values=[True])
            dropout = rate is not None
        else:
            dropout = hp.Boolean("dropout")
            rate = changes.get("rate", lambda hp: hp.Float(
                "dropout_rate", 0.1, 0.5, step=0.1, parent_name="dropout",
                parent_values=[True]))(hp)
        lr = changes.get("lr", lambda hp: hp.Float("learning_rate", 1e-4, 1e-2, sampling="log"))(hp)
        model = keras.Sequential([keras.Input((28, 28, 1)),
                                  keras.layers.Conv2D(filters, 3, activation="relu"),
                                  keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                                  keras.layers.Dense(units, activation="relu")])
        if dropout and not changes.get("forget_dropout_layer"):
            model.add(keras.layers.Dropout(rate))
        model.add(keras.layers.Dense(10, activation="softmax"))
        if not changes.get("no_compile"):
            model.compile(optimizer=keras.optimizers.Adam(changes.get("fixed_lr", lr)),
                          loss=changes.get("loss", "sparse_categorical_crossentropy"),
                          metrics=changes.get("metrics", ["accuracy"]))
        return model
    return build


def trial_scores_unsorted_best(tuner, name):
    """Ordered by score (get_best_trials), not by trial id."""
    trials = [t for t in tuner.oracle.get_best_trials(len(tuner.oracle.trials))
              if name in t.hyperparameters.values]
    return (np.array([t.hyperparameters.values[name] for t in trials], dtype=float),
            np.array([t.score for t in trials], dtype=float))


def batch_model(fit):
    return type("WrongBatchSizeHyperModel", (BatchSizeHyperModel,), {"fit": fit})


WRONG = {
    "q1": [
        ({"build_cnn": cnn_with(lr=lambda hp: hp.Float("learning_rate", 1e-4, 1e-2))},
         "`learning_rate`: `sampling` = 'linear'"),
        ({"build_cnn": cnn_with(rate_inside_if=True)}, "hp.space has no ['dropout_rate']"),
        ({"build_cnn": cnn_with(rate=lambda hp: hp.Float("dropout_rate", 0.1, 0.5, step=0.1))},
         "`dropout_rate` should be conditional"),
        ({"build_cnn": cnn_with(filters=lambda hp: hp.Choice("filters", [8, 16, 24, 32]))},
         "`filters` is a Choice"),
        ({"build_cnn": cnn_with(forget_dropout_layer=True)},
         "is missing a Dropout after layer 4 (Dense)"),
        ({"build_cnn": cnn_with(fixed_lr=1e-3)}, "not the value of hp `learning_rate`"),
        ({"build_cnn": cnn_with(loss="categorical_crossentropy")},
         "take the sparse categorical cross-entropy"),
        ({"build_cnn": cnn_with(no_compile=True)}, "is not compiled"),
        ({"build_cnn": cnn_with(metrics=["acc"])}, "needs a metric named 'accuracy'"),
        ({"build_cnn": cnn_with(metrics=["sparse_categorical_accuracy"])},
         "needs a metric named 'accuracy'"),
        ({"build_cnn": cnn_with(metrics=[keras.metrics.Accuracy()])},
         "logs a Accuracy as 'accuracy'"),
        ({"build_cnn": cnn_with(metrics=[])}, "does not track 'accuracy'"),
    ],
    "q2": [
        ({"grid_size": lambda hp: int(np.prod([(h.max_value - h.min_value) // h.step
                                               if hasattr(h, "step") and h.step else len(h.values)
                                               for h in hp.space]))},
         "Int(1, 10, step=4) x Choice of 2 x Fixed"),
        ({"grid_size": lambda hp: int(np.prod([len(list(h.values)) for h in hp.space]))},
         "Boolean 'dropout' with a conditional 'dropout_rate'"),
        ({"grid_size": lambda hp: float(np.prod([(h.max_value - h.min_value) / h.step + 1
                                                 if getattr(h, "step", None) else len(h.values)
                                                 for h in hp.space]))},
         "not a whole number"),
    ],
    "q3": [
        ({"best_so_far": lambda s, d="max": np.maximum.accumulate(np.asarray(s, float))},
         "skip failed trials (NaN)"),
        ({"best_so_far": lambda s, d="max": np.fmax.accumulate(np.asarray(s, float))},
         "validation losses (direction 'min')"),
        ({"best_so_far": lambda s, d="max": np.nan_to_num(best_so_far(s, d))},
         "keep NaN there"),
        ({"best_so_far": lambda s, d="max": np.array([np.nanmax(s)])}, "one entry per trial"),
        ({"best_so_far": lambda s, d="max": (np.maximum if d == "max" else np.minimum).accumulate(
            np.nan_to_num(np.asarray(s, float), nan=-np.inf))}, "not counted as an infinite score"),
    ],
    "q4": [
        ({"trial_scores": lambda tuner, name: trial_scores_unsorted_best(tuner, name)},
         "values for 'learning_rate'"),
        ({"trial_scores": lambda tuner, name: (
            np.array([t.hyperparameters.values.get(name, np.nan)
                      for t in tuner.oracle.trials.values() if t.status == "COMPLETED"],
                     dtype=float),
            np.array([t.score for t in tuner.oracle.trials.values() if t.status == "COMPLETED"],
                     dtype=float))},
         "for 'dropout_rate' (conditional"),
        ({"trial_scores": lambda tuner, name: (
            np.array([t.hyperparameters.values[name] for _, t in sorted(tuner.oracle.trials.items())
                      if name in t.hyperparameters.values], dtype=float),
            np.array([t.score for _, t in sorted(tuner.oracle.trials.items())
                      if name in t.hyperparameters.values], dtype=float))},
         "scores for 'learning_rate' (trial 03 failed)"),
        ({"trial_scores": lambda tuner, name: {"values": [], "scores": []}},
         "pair (values, scores)"),
        ({"trial_scores": lambda tuner, name: tuple(np.array(a) for a in zip(*[
            (t.hyperparameters.values[name], t.score) for _, t in sorted(tuner.oracle.trials.items())
            if t.status == "COMPLETED" and name in t.hyperparameters.values]))},
         "the task asks for float arrays"),
    ],
    "q5": [
        ({"BatchSizeHyperModel": batch_model(lambda self, hp, model, *a, **k:
                                             model.fit(*a, batch_size=64, **k))},
         "hp.space has no hyperparameter named 'batch_size'"),
        ({"BatchSizeHyperModel": batch_model(lambda self, hp, model, *a, **k: (
            model.fit(*a, batch_size=hp.Choice("batch_size", [32, 64, 128]), **k), None)[1])},
         "should return what `model.fit` returns"),
        ({"BatchSizeHyperModel": batch_model(lambda self, hp, model, *a, **k:
                                             model.fit(*a, batch_size=hp.Int("batch_size", 32, 128,
                                                                             step=32), **k))},
         "the task asks for hp.Choice of 32, 64 and 128"),
        ({"BatchSizeHyperModel": batch_model(lambda self, hp, model, *a, **k:
                                             model.fit(*a, batch_size=hp.Choice("batch_size",
                                                                                [32, 64, 128])))},
         "did not receive the tuner's keyword arguments"),
        ({"BatchSizeHyperModel": batch_model(lambda self, hp, model, *a, **k: model.fit(
            *a, batch_size=hp.Choice("batch_size", [32, 64, 128]) and 32, **k))},
         "not the value of the hyperparameter"),
        ({"BatchSizeHyperModel": BatchSizeHyperModel()}, "should be a class that subclasses"),
    ],
    "q6": [
        ({"roles": ROLES[:2] + ["worker"] + ROLES[3:], "same_trial": [1, 5]},
         "environment 2 is not a 'worker': look at how KerasTuner decides"),
        ({"roles": ROLES[:3] + ["worker"] + ROLES[4:], "same_trial": [1, 5]},
         "environment 3 is not a 'worker': which variable"),
        ({"roles": ROLES[:3] + ["error"] + ROLES[4:], "same_trial": [1, 5]},
         "environment 3 is not an 'error'"),
        ({"roles": ROLES[:4] + ["alone"] + ROLES[5:], "same_trial": [1, 5]},
         "environment 4 is not an 'alone': what does KerasTuner do"),
        ({"roles": ROLES[:6] + ["worker"], "same_trial": [1, 5]}, "environment 6 is not a 'worker'"),
        ({"roles": ["chief"] + ["worker"] * 6, "same_trial": [1, 5]}, "environment 3 is not a"),
        ({"roles": ROLES[:-1], "same_trial": [1, 5]}, "`roles` holds 6 entries"),
        ({"roles": ROLES[:-1] + ["single"], "same_trial": [1, 5]}, "`roles` holds 'single'"),
        ({"roles": "chief worker", "same_trial": [1, 5]}, "should be a list of 7 strings"),
        ({"roles": ROLES, "same_trial": [0, 2]}, "environment 0 does not run trials as a worker"),
        ({"roles": ROLES, "same_trial": [1, 3]}, "environment 3 does not run trials as a worker"),
        ({"roles": ROLES, "same_trial": (5, 5)}, "two different positions"),
        ({"roles": ROLES, "same_trial": [1, 7]}, "two different positions"),
        ({"roles": ROLES, "same_trial": 15}, "a pair of positions"),
        ({"roles": ROLES, "same_trial": [1.5, 5]}, "not a whole number"),
    ],
}


(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(lesson16, CORRECT, WRONG)


def test_questions_are_the_ones_imported():
    assert [q.key for q in (q1, q2, q3, q4, q5, q6)] == sorted({k for k, _ in CORRECT})
