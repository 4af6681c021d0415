"""Lesson 16 (KerasTuner): the reference answers PASS, plausible mistakes FAIL with a message."""
import itertools

import keras
import keras_tuner as kt
import numpy as np

from helpers import answer_tests
from utils.checks import PASS, lesson16
from utils.checks.lesson16 import q1, q2, q3, q4, q5, q6


# ----------------------------------------------------------------------------- reference answers
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


def grid_size(hp):
    space = hp.space
    seen = set()
    for combo in itertools.product(*[list(h.values) for h in space]):
        probe = hp.copy()
        probe.values = {h.name: v for h, v in zip(space, combo)}
        seen.add(tuple((h.name, v) for h, v in zip(space, combo) if probe.is_active(h)))
    return len(seen)


def best_so_far(scores, direction="max"):
    scores = np.asarray(scores, dtype=float)
    return (np.fmax if direction == "max" else np.fmin).accumulate(scores)


def trial_scores(tuner, name):
    values, scores = [], []
    for trial_id, trial in sorted(tuner.oracle.trials.items()):
        if trial.status == "COMPLETED" and name in trial.hyperparameters.values:
            values.append(trial.hyperparameters.values[name])
            scores.append(trial.score)
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


def distributed_env(n_workers, port):
    ids = ["chief"] + [f"tuner{i}" for i in range(n_workers)]
    return [{"KERASTUNER_TUNER_ID": i, "KERASTUNER_ORACLE_IP": "127.0.0.1",
             "KERASTUNER_ORACLE_PORT": str(port)} for i in ids]


REFERENCE = {
    "q1": {"build_cnn": build_cnn}, "q2": {"grid_size": grid_size},
    "q3": {"best_so_far": best_so_far}, "q4": {"trial_scores": trial_scores},
    "q5": {"BatchSizeHyperModel": BatchSizeHyperModel},
    "q6": {"distributed_env": distributed_env},
}


def test_conditional_scope_and_split_activations_pass_too():
    result = q1.evaluate(namespace={}, build_cnn=build_cnn_scope)
    assert result.status == PASS, result.messages


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
                          metrics=["accuracy"])
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
         "'sparse_categorical_crossentropy'"),
        ({"build_cnn": cnn_with(no_compile=True)}, "is not compiled"),
    ],
    "q2": [
        ({"grid_size": lambda hp: int(np.prod([(h.max_value - h.min_value) // h.step
                                               if hasattr(h, "step") and h.step else len(h.values)
                                               for h in hp.space]))},
         "Int(1, 10, step=4) x Choice of 2 x Fixed"),
        ({"grid_size": lambda hp: int(np.prod([len(list(h.values)) for h in hp.space]))},
         "Boolean 'dropout' with a conditional 'dropout_rate'"),
        ({"grid_size": lambda hp: float(np.prod([len(list(h.values)) for h in hp.space]))},
         "it should return an int"),
    ],
    "q3": [
        ({"best_so_far": lambda s, d="max": np.maximum.accumulate(np.asarray(s, float))},
         "skip failed trials (NaN)"),
        ({"best_so_far": lambda s, d="max": np.fmax.accumulate(np.asarray(s, float))},
         "validation losses (direction 'min')"),
        ({"best_so_far": lambda s, d="max": np.nan_to_num(best_so_far(s, d))},
         "keep NaN there"),
        ({"best_so_far": lambda s, d="max": np.array([np.nanmax(s)])}, "one entry per trial"),
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
         "pass `**kwargs` on"),
        ({"BatchSizeHyperModel": batch_model(lambda self, hp, model, *a, **k: model.fit(
            *a, batch_size=hp.Choice("batch_size", [32, 64, 128]) and 32, **k))},
         "pass the value of the hyperparameter"),
        ({"BatchSizeHyperModel": BatchSizeHyperModel()}, "should be a class that subclasses"),
    ],
    "q6": [
        ({"distributed_env": lambda n, port: [dict(e, KERASTUNER_ORACLE_PORT=port)
                                              for e in distributed_env(n, port)]},
         "environment variables must be strings"),
        ({"distributed_env": lambda n, port: [
            dict(e, KERASTUNER_TUNER_ID="chief" if i == 0 else "worker")
            for i, e in enumerate(distributed_env(n, port))]},
         "repeat"),
        ({"distributed_env": lambda n, port: [dict(e, KERASTUNER_TUNER_ID=f"tuner{i}")
                                              for i, e in enumerate(distributed_env(n, port))]},
         "the chief's KERASTUNER_TUNER_ID is 'chief'"),
        ({"distributed_env": lambda n, port: distributed_env(n, port)[1:]}, "one chief plus"),
        ({"distributed_env": lambda n, port: [dict(e, KERASTUNER_ORACLE_IP="localhost")
                                              for e in distributed_env(n, port)]},
         "does not point at the oracle on 127.0.0.1"),
    ],
}


(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(lesson16, REFERENCE, WRONG)


def test_questions_are_the_ones_imported():
    assert [q.key for q in (q1, q2, q3, q4, q5, q6)] == sorted(REFERENCE)
