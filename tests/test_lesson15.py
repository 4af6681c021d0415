"""Lesson 15 (evaluation, ensembles): correct answers PASS, plausible wrong answers FAIL with a specific message."""
import os

import keras
import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

from helpers import answer_tests
from utils.checks import PASS, lesson15
from utils.checks.lesson15 import q1, q2, q3, q4, q5, q6, q7


# ----------------------------------------------------------------------------- correct answers
def _accuracy(model, x, y):
    return float(np.mean(np.argmax(model.predict(x, verbose=0), axis=1) == y))


def cross_validate(build_model, x, y, k=5, epochs=3, seed=0):
    folds, scores = [], []
    for train_idx, val_idx in StratifiedKFold(k, shuffle=True, random_state=seed).split(x, y):
        model = build_model()
        model.fit(x[train_idx], y[train_idx], epochs=epochs, verbose=0)
        folds.append((train_idx, val_idx))
        scores.append(_accuracy(model, x[val_idx], y[val_idx]))
    return {"folds": folds, "scores": scores, "mean": np.mean(scores), "std": np.std(scores)}


def early_stopping_epochs(val_losses, patience, min_delta=0.0):
    best, best_epoch, wait = None, 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        wait += 1
        if best is None or loss < best - min_delta:
            best, best_epoch, wait = loss, epoch, 0
        elif wait >= patience and epoch > 1:
            return epoch, best_epoch
    return len(val_losses), best_epoch


def fit_with_early_stopping(model, x, y, x_val, y_val, folder, max_epochs=50):
    path = os.path.join(folder, "best.keras")
    callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=3,
                                               restore_best_weights=True),
                 keras.callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=True)]
    history = model.fit(x, y, epochs=max_epochs, validation_data=(x_val, y_val),
                        callbacks=callbacks, verbose=0)
    return history, path


def confusion_matrix(y_true, y_pred, n_classes):
    cm = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(cm, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return cm


def precision_recall(cm):
    correct = np.diag(cm).astype(float)
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(correct, predicted, out=np.zeros_like(correct), where=predicted > 0)
    recall = np.divide(correct, actual, out=np.zeros_like(correct), where=actual > 0)
    return precision, recall


def bagging_fit(build_model, x, y, n_models, epochs, rng):
    models = []
    for _ in range(n_models):
        idx = rng.integers(0, len(x), size=len(x))
        model = build_model()
        model.fit(x[idx], y[idx], epochs=epochs, verbose=0)
        models.append(model)
    return models


def ensemble_proba(models, x):
    return np.mean([model.predict(x, verbose=0) for model in models], axis=0)


def samme_update(sample_weight, incorrect, n_classes):
    err = np.sum(sample_weight[incorrect]) / np.sum(sample_weight)
    alpha = np.log((1 - err) / err) + np.log(n_classes - 1)
    new = sample_weight * np.exp(alpha * incorrect)
    return new / new.sum(), alpha


def out_of_fold(fit_predict, x, y, n_classes, k=5, seed=0):
    oof = np.zeros((len(x), n_classes))
    for train_idx, val_idx in StratifiedKFold(k, shuffle=True, random_state=seed).split(x, y):
        oof[val_idx] = fit_predict(x[train_idx], y[train_idx], x[val_idx])
    return oof


CONFUSION = {"confusion_matrix": confusion_matrix, "precision_recall": precision_recall}
BAGGING = {"bagging_fit": bagging_fit, "ensemble_proba": ensemble_proba}
CORRECT = {
    q1: {"cross_validate": cross_validate},
    q2: {"early_stopping_epochs": early_stopping_epochs},
    q3: {"fit_with_early_stopping": fit_with_early_stopping},
    q4: CONFUSION,
    q5: BAGGING,
    q6: {"samme_update": samme_update},
    q7: {"out_of_fold": out_of_fold},
}


def test_sample_std_is_accepted_too():
    def with_sample_std(build_model, x, y, k=5, epochs=3, seed=0):
        out = cross_validate(build_model, x, y, k, epochs, seed)
        return dict(out, std=np.std(out["scores"], ddof=1))

    assert q1.evaluate(namespace={}, cross_validate=with_sample_std).status == PASS


# ----------------------------------------------------------------------------- wrong answers
def cv_one_model(build_model, x, y, k=5, epochs=3, seed=0):  # weights carried from fold to fold
    model, folds, scores = build_model(), [], []
    for train_idx, val_idx in StratifiedKFold(k, shuffle=True, random_state=seed).split(x, y):
        model.fit(x[train_idx], y[train_idx], epochs=epochs, verbose=0)
        folds.append((train_idx, val_idx))
        scores.append(_accuracy(model, x[val_idx], y[val_idx]))
    return {"folds": folds, "scores": scores, "mean": np.mean(scores), "std": np.std(scores)}


def cv_plain_kfold(build_model, x, y, k=5, epochs=3, seed=0):  # not stratified, not shuffled
    folds, scores = [], []
    for train_idx, val_idx in KFold(k).split(x):
        model = build_model()
        model.fit(x[train_idx], y[train_idx], epochs=epochs, verbose=0)
        folds.append((train_idx, val_idx))
        scores.append(_accuracy(model, x[val_idx], y[val_idx]))
    return {"folds": folds, "scores": scores, "mean": np.mean(scores), "std": np.std(scores)}


def cv_train_on_all(build_model, x, y, k=5, epochs=3, seed=0):  # validation data leaks into training
    folds, scores = [], []
    for train_idx, val_idx in StratifiedKFold(k, shuffle=True, random_state=seed).split(x, y):
        model = build_model()
        model.fit(x, y, epochs=epochs, verbose=0)
        folds.append((train_idx, val_idx))
        scores.append(_accuracy(model, x[val_idx], y[val_idx]))
    return {"folds": folds, "scores": scores, "mean": np.mean(scores), "std": np.std(scores)}


def cv_train_score(build_model, x, y, k=5, epochs=3, seed=0):  # scores the training part
    out = cross_validate(build_model, x, y, k, epochs, seed)
    return out | {"scores": [1.0] * k, "mean": 1.0, "std": 0.0}


def es_strict_patience(val_losses, patience, min_delta=0.0):  # stops one epoch too late
    best, best_epoch, wait = None, 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if best is None or loss < best - min_delta:
            best, best_epoch, wait = loss, epoch, 0
        else:
            wait += 1
            if wait > patience:
                return epoch, best_epoch
    return len(val_losses), best_epoch


def es_ties_improve(val_losses, patience, min_delta=0.0):  # an equal value counts as better
    best, best_epoch, wait = None, 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        wait += 1
        if best is None or loss <= best - min_delta:
            best, best_epoch, wait = loss, epoch, 0
        elif wait >= patience and epoch > 1:
            return epoch, best_epoch
    return len(val_losses), best_epoch


def es_ignores_min_delta(val_losses, patience, min_delta=0.0):
    return early_stopping_epochs(val_losses, patience, 0.0)


def es_zero_based(val_losses, patience, min_delta=0.0):
    run, best = early_stopping_epochs(val_losses, patience, min_delta)
    return run, best - 1


def fit_no_restore(model, x, y, x_val, y_val, folder, max_epochs=50):
    path = os.path.join(folder, "best.keras")
    callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=3),
                 keras.callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=True)]
    history = model.fit(x, y, epochs=max_epochs, validation_data=(x_val, y_val),
                        callbacks=callbacks, verbose=0)
    return history, path


def fit_without_early_stopping(model, x, y, x_val, y_val, folder, max_epochs=50):
    path = os.path.join(folder, "best.keras")
    history = model.fit(x, y, epochs=max_epochs, validation_data=(x_val, y_val), verbose=0,
                        callbacks=[keras.callbacks.ModelCheckpoint(path, save_best_only=True)])
    return history, path


def fit_checkpoint_every_epoch(model, x, y, x_val, y_val, folder, max_epochs=50):
    path = os.path.join(folder, "best.keras")
    callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=3,
                                               restore_best_weights=True),
                 keras.callbacks.ModelCheckpoint(path)]
    history = model.fit(x, y, epochs=max_epochs, validation_data=(x_val, y_val),
                        callbacks=callbacks, verbose=0)
    return history, path


def fit_h5_path(model, x, y, x_val, y_val, folder, max_epochs=50):
    history, path = fit_with_early_stopping(model, x, y, x_val, y_val, folder, max_epochs)
    return history, path.replace(".keras", ".weights.h5")


def precision_recall_swapped(cm):
    precision, recall = precision_recall(cm)
    return recall, precision


def precision_recall_nan(cm):  # 0/0 gives NaN instead of 0
    correct = np.diag(cm).astype(float)
    return correct / cm.sum(axis=0), correct / cm.sum(axis=1)


def bagging_without_replacement(build_model, x, y, n_models, epochs, rng):
    models = []
    for _ in range(n_models):
        idx = rng.permutation(len(x))
        model = build_model()
        model.fit(x[idx], y[idx], epochs=epochs, verbose=0)
        models.append(model)
    return models


def bagging_misaligned(build_model, x, y, n_models, epochs, rng):  # x and y drawn separately
    models = []
    for _ in range(n_models):
        model = build_model()
        model.fit(x[rng.integers(0, len(x), len(x))], y[rng.integers(0, len(x), len(x))],
                  epochs=epochs, verbose=0)
        models.append(model)
    return models


def bagging_one_model(build_model, x, y, n_models, epochs, rng):
    model = build_model()
    models = []
    for _ in range(n_models):
        idx = rng.integers(0, len(x), size=len(x))
        model.fit(x[idx], y[idx], epochs=epochs, verbose=0)
        models.append(model)
    return models


def samme_no_k_term(sample_weight, incorrect, n_classes):  # binary AdaBoost formula for K classes
    return samme_update(sample_weight, incorrect, 2)


def samme_not_normalized(sample_weight, incorrect, n_classes):
    new, alpha = samme_update(sample_weight, incorrect, n_classes)
    return new * 7.0, alpha


def samme_boosts_correct(sample_weight, incorrect, n_classes):
    new, alpha = samme_update(sample_weight, ~incorrect, n_classes)
    _, alpha = samme_update(sample_weight, incorrect, n_classes)
    return new, alpha


def oof_leaky(fit_predict, x, y, n_classes, k=5, seed=0):  # predicts with a model trained on all rows
    oof = np.zeros((len(x), n_classes))
    for _, val_idx in StratifiedKFold(k, shuffle=True, random_state=seed).split(x, y):
        oof[val_idx] = fit_predict(x, y, x[val_idx])
    return oof


def oof_concatenated(fit_predict, x, y, n_classes, k=5, seed=0):  # rows in fold order, not in place
    parts = [fit_predict(x[tr], y[tr], x[va])
             for tr, va in StratifiedKFold(k, shuffle=True, random_state=seed).split(x, y)]
    return np.concatenate(parts)


def oof_kfold(fit_predict, x, y, n_classes, k=5, seed=0):
    oof = np.zeros((len(x), n_classes))
    for train_idx, val_idx in KFold(k).split(x):
        oof[val_idx] = fit_predict(x[train_idx], y[train_idx], x[val_idx])
    return oof


WRONG = [
    (q1, {"cross_validate": cv_one_model}, "was called 1 time(s) for 4 folds"),
    (q1, {"cross_validate": cv_plain_kfold}, "class counts"),
    (q1, {"cross_validate": cv_train_on_all}, "exactly that fold's training examples"),
    (q1, {"cross_validate": cv_train_score}, "are not the validation accuracies"),
    (q2, {"early_stopping_epochs": es_strict_patience}, "the number of epochs run is wrong"),
    (q2, {"early_stopping_epochs": es_ties_improve}, "a plateau of equal values"),
    (q2, {"early_stopping_epochs": es_ignores_min_delta}, "tiny improvements below min_delta"),
    (q2, {"early_stopping_epochs": es_zero_based}, "the best epoch (counted from 1) is wrong"),
    (q3, {"fit_with_early_stopping": fit_no_restore}, "use restore_best_weights=True"),
    (q3, {"fit_with_early_stopping": fit_without_early_stopping}, "add an EarlyStopping callback"),
    (q3, {"fit_with_early_stopping": fit_checkpoint_every_epoch}, "use save_best_only=True"),
    (q3, {"fit_with_early_stopping": fit_h5_path}, "ending in '.keras'"),
    (q4, dict(CONFUSION, confusion_matrix=lambda t, p, n: confusion_matrix(p, t, n)),
     "confusion_matrix on 10 classes"),
    (q4, dict(CONFUSION, confusion_matrix=lambda t, p, n: confusion_matrix(t, p, max(t.max(), p.max()) + 1)),
     "should have shape (4, 4)"),
    (q4, dict(CONFUSION, precision_recall=precision_recall_swapped), "precision on 10 classes"),
    (q4, dict(CONFUSION, precision_recall=precision_recall_nan), "NaN"),
    (q5, dict(BAGGING, bagging_fit=bagging_without_replacement), "WITH replacement"),
    (q5, dict(BAGGING, bagging_fit=bagging_misaligned), "index x and y with the same idx"),
    (q5, dict(BAGGING, bagging_fit=bagging_one_model), "once per member"),
    (q5, dict(BAGGING, ensemble_proba=lambda models, x: models[0].predict(x, verbose=0)),
     "ensemble_proba(models, x)"),
    (q6, {"samme_update": samme_no_k_term}, "with K=3 classes alpha differs from scikit-learn"),
    (q6, {"samme_update": samme_not_normalized}, "do not sum to 1"),
    (q6, {"samme_update": samme_boosts_correct}, "should gain the factor exp(alpha)"),
    (q7, {"out_of_fold": oof_leaky}, "leakage"),
    (q7, {"out_of_fold": oof_concatenated}, "row i must hold the prediction for example i"),
    (q7, {"out_of_fold": oof_kfold}, "class counts"),
]


(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(lesson15, CORRECT, WRONG)
