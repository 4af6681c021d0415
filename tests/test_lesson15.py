"""Lesson 15 (evaluation, ensembles): correct answers PASS, plausible wrong answers FAIL with a specific message."""
import os
import statistics
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from sklearn.model_selection import KFold, StratifiedKFold

from helpers import answer_tests
from utils.checks import lesson15
from utils.checks.lesson15 import q1, q2, q3, q4, q5, q6, q7


# ----------------------------------------------------------------------------- correct answers
def _accuracy(model, x, y):
    return float(np.mean(np.argmax(model.predict(x, verbose=0), axis=1) == y))


def _fit(model, x, y, epochs, **options):
    return model.fit(x, y, epochs=epochs, batch_size=64, verbose=0, **options)


def cross_validate(build_model, x, y, k=5, epochs=3, seed=0):  # the notebook's solution
    folds, scores = [], []
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for train_idx, val_idx in splitter.split(x, y):
        model = build_model()
        model.fit(x[train_idx], y[train_idx], epochs=epochs, batch_size=64, verbose=0)
        proba = model.predict(x[val_idx], verbose=0)
        folds.append((train_idx, val_idx))
        scores.append(float(np.mean(np.argmax(proba, axis=1) == y[val_idx])))
    return {"folds": folds, "scores": scores, "mean": float(np.mean(scores)),
            "std": float(np.std(scores))}


def cross_validate_evaluate(build_model, x, y, k=5, epochs=3, seed=0):
    """evaluate()[1], folds as Python lists, the sample standard deviation."""
    out = {"folds": [], "scores": []}
    for tr, va in StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        model = build_model()
        model.fit(x=x[tr], y=y[tr], batch_size=64, epochs=epochs, verbose=0)
        out["folds"].append((tr.tolist(), va.tolist()))
        out["scores"].append(model.evaluate(x[va], y[va], batch_size=64, verbose=0)[1])
    return dict(out, mean=np.mean(out["scores"]), std=np.std(out["scores"], ddof=1))


def cross_validate_history(build_model, x, y, k=5, epochs=3, seed=0):
    """The last val_accuracy of fit(..., validation_data=...), statistics.pstdev."""
    splits = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(x, y))
    scores = []
    for train_idx, val_idx in splits:
        history = build_model().fit(x[train_idx], y[train_idx], 64, epochs, verbose=0,
                                    validation_data=(x[val_idx], y[val_idx]),
                                    callbacks=[keras.callbacks.History()])
        scores.append(history.history["val_accuracy"][-1])
    return {"folds": splits, "scores": np.array(scores), "mean": statistics.fmean(scores),
            "std": statistics.pstdev(scores)}


def cross_validate_tf(build_model, x, y, k=5, epochs=3, seed=0):
    """Accuracy from tf.argmax on a direct call, evaluate(return_dict=True) as a cross-check."""
    folds, scores = [], []
    for fold in StratifiedKFold(k, shuffle=True, random_state=seed).split(x, y):
        train_idx, val_idx = fold
        model = build_model()
        model.fit(x[train_idx], y[train_idx], epochs=epochs, batch_size=64, verbose=0,
                  callbacks=[keras.callbacks.EarlyStopping(monitor="loss", patience=50)])
        predicted = tf.argmax(model(x[val_idx], training=False), axis=1).numpy()
        assert np.isclose(model.evaluate(x[val_idx], y[val_idx], verbose=0,
                                         return_dict=True)["accuracy"],
                          np.mean(predicted == y[val_idx]))
        folds.append(fold)
        scores.append(np.mean(predicted == y[val_idx]))
    return {"folds": folds, "scores": scores, "mean": sum(scores) / k,
            "std": float(np.sqrt(np.mean((np.array(scores) - np.mean(scores)) ** 2)))}


def early_stopping_epochs(val_losses, patience, min_delta=0.0):
    best, best_epoch, wait = None, 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        wait += 1
        if best is None or loss < best - min_delta:
            best, best_epoch, wait = loss, epoch, 0
        elif wait >= patience and epoch > 1:
            return epoch, best_epoch
    return len(val_losses), best_epoch


def early_stopping_since_best(val_losses, patience, min_delta=0.0):
    """Epochs since the best one instead of a counter; whole-valued floats."""
    best_epoch = 1
    for epoch in range(2, len(val_losses) + 1):
        if val_losses[epoch - 1] < val_losses[best_epoch - 1] - min_delta:
            best_epoch = epoch
        elif epoch - best_epoch >= patience:
            return float(epoch), float(best_epoch)
    return float(len(val_losses)), float(best_epoch)


def early_stopping_keras(val_losses, patience, min_delta=0.0):
    """Keras' own callback, driven epoch by epoch; NumPy integers."""
    class Model:
        stop_training = False

        def get_weights(self):
            return []

        def set_weights(self, weights):
            pass

    model = Model()
    stop = keras.callbacks.EarlyStopping(patience=patience, min_delta=min_delta,
                                         restore_best_weights=True)
    stop.set_model(model)
    stop.on_train_begin()
    ran = 0
    for ran, loss in enumerate(val_losses, start=1):
        stop.on_epoch_end(ran - 1, {"val_loss": loss})
        if model.stop_training:
            break
    return np.int64(ran), np.int64(stop.best_epoch + 1)


def fit_with_early_stopping(model, x, y, x_val, y_val, folder, max_epochs=50):
    path = os.path.join(folder, "best.keras")
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=True)]
    history = model.fit(x, y, epochs=max_epochs, batch_size=64, validation_data=(x_val, y_val),
                        callbacks=callbacks, verbose=0)
    return history, path


def fit_with_early_stopping_pathlib(model, x, y, x_val, y_val, folder, max_epochs=50):
    """A pathlib.Path, the checkpoint first, explicit modes, keyword data."""
    path = Path(folder) / "best.keras"
    checkpoint = keras.callbacks.ModelCheckpoint(filepath=str(path), monitor="val_loss",
                                                 mode="min", save_best_only=True,
                                                 save_weights_only=False)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", mode="min", patience=3,
                                         min_delta=0, restore_best_weights=True)
    history = model.fit(x=x, y=y, batch_size=64, epochs=max_epochs, verbose=0,
                        validation_data=(x_val, y_val), callbacks=[checkpoint, stop])
    return history, path


def fit_with_early_stopping_positional(model, x, y, x_val, y_val, folder, max_epochs=50):
    """batch_size and epochs given by position, the path built with an f-string."""
    path = f"{folder}{os.sep}best.keras"
    history = model.fit(x, y, 64, max_epochs, 0, [
        keras.callbacks.EarlyStopping("val_loss", patience=3, restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(path, "val_loss", save_best_only=True, verbose=0)],
        validation_data=(x_val, y_val))
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


def confusion_matrix_bincount(y_true, y_pred, n_classes):
    codes = n_classes * np.asarray(y_true, np.int64) + np.asarray(y_pred, np.int64)
    return np.bincount(codes, minlength=n_classes ** 2).reshape(n_classes, n_classes)


def precision_recall_where(cm):
    cm = np.asarray(cm)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(cm.sum(0) > 0, np.diag(cm) / cm.sum(0), 0.0)
        recall = np.where(cm.sum(1) > 0, np.diag(cm) / cm.sum(1), 0.0)
    return precision, recall


def confusion_matrix_loop(y_true, y_pred, n_classes):
    cm = np.zeros((n_classes, n_classes), dtype=np.int32)
    for truth, guess in zip(y_true, y_pred):
        cm[int(truth), int(guess)] += 1
    return cm


def precision_recall_loop(cm):
    n = len(cm)
    precision = [cm[c][c] / sum(cm[r][c] for r in range(n)) if sum(cm[r][c] for r in range(n))
                 else 0.0 for c in range(n)]
    recall = [cm[c][c] / sum(cm[c]) if sum(cm[c]) else 0.0 for c in range(n)]
    return np.array(precision, dtype=float), np.array(recall, dtype=float)


def bagging_fit(build_model, x, y, n_models, epochs, rng):
    models = []
    for _ in range(n_models):
        idx = rng.integers(0, len(x), size=len(x))
        model = build_model()
        model.fit(x[idx], y[idx], epochs=epochs, batch_size=64, verbose=0)
        models.append(model)
    return models


def ensemble_proba(models, x):
    return np.mean([model.predict(x, verbose=0) for model in models], axis=0)


def bagging_fit_all_at_once(build_model, x, y, n_models, epochs, rng):
    """Every bootstrap sample drawn in one call."""
    samples = rng.integers(0, len(x), size=(n_models, len(x)))
    return [_fit_and_return(build_model(), x[idx], y[idx], epochs) for idx in samples]


def _fit_and_return(model, x, y, epochs):
    _fit(model, x, y, epochs)
    return model


def ensemble_proba_stack(models, x):
    return np.stack([np.asarray(m(x, training=False)) for m in models]).mean(axis=0)


def bagging_fit_choice(build_model, x, y, n_models, epochs, rng):
    """rng.choice with replacement."""
    models = []
    while len(models) < n_models:
        idx = rng.choice(len(x), size=len(x), replace=True)
        models.append(build_model())
        _fit(models[-1], x[idx], y[idx], epochs)
    return models


def ensemble_proba_sum(models, x):
    return sum(model.predict(x, batch_size=64, verbose=0) for model in models) / len(models)


def samme_update(sample_weight, incorrect, n_classes):
    err = np.sum(sample_weight[incorrect]) / np.sum(sample_weight)
    alpha = np.log((1 - err) / err) + np.log(n_classes - 1)
    new = sample_weight * np.exp(alpha * incorrect)
    return new / new.sum(), alpha


def samme_update_where(sample_weight, incorrect, n_classes):
    err = np.average(incorrect, weights=sample_weight)
    alpha = np.array(np.log((1 - err) / err) + np.log(n_classes - 1))   # a 0-d array
    new = np.where(incorrect, sample_weight * np.exp(alpha), sample_weight)
    return new / np.sum(new), alpha


def samme_update_math(sample_weight, incorrect, n_classes):
    import math

    err = float(sample_weight @ incorrect.astype(float)) / float(sample_weight.sum())
    alpha = math.log((1 - err) / err * (n_classes - 1))
    new = sample_weight.copy()
    new[incorrect] *= math.exp(alpha)
    return list(new / new.sum()), alpha


def out_of_fold(fit_predict, x, y, n_classes, k=5, seed=0):
    oof = np.zeros((len(x), n_classes))
    for train_idx, val_idx in StratifiedKFold(k, shuffle=True, random_state=seed).split(x, y):
        oof[val_idx] = fit_predict(x[train_idx], y[train_idx], x[val_idx])
    return oof


def out_of_fold_scatter(fit_predict, x, y, n_classes, k=5, seed=0):
    """Predictions collected in fold order, then put back in place with the indices."""
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    parts, order = [], []
    for train_idx, val_idx in splitter.split(np.zeros(len(y)), y):
        parts.append(fit_predict(x[train_idx], y[train_idx], x[val_idx]))
        order.append(val_idx)
    oof = np.empty((len(x), n_classes), dtype=np.float32)
    oof[np.concatenate(order)] = np.concatenate(parts)
    return oof


def out_of_fold_rows(fit_predict, x, y, n_classes, k=5, seed=0):
    """Row by row from a dict."""
    rows = {}
    for train_idx, val_idx in StratifiedKFold(k, shuffle=True, random_state=seed).split(x, y):
        for i, p in zip(val_idx, fit_predict(x[train_idx], y[train_idx], x[val_idx])):
            rows[int(i)] = p
    return np.array([rows[i] for i in range(len(x))])


CONFUSION = {"confusion_matrix": confusion_matrix, "precision_recall": precision_recall}
BAGGING = {"bagging_fit": bagging_fit, "ensemble_proba": ensemble_proba}
CORRECT = [
    (q1, {"cross_validate": cross_validate}),
    (q1, {"cross_validate": cross_validate_evaluate}),
    (q1, {"cross_validate": cross_validate_history}),
    (q1, {"cross_validate": cross_validate_tf}),
    (q2, {"early_stopping_epochs": early_stopping_epochs}),
    (q2, {"early_stopping_epochs": early_stopping_since_best}),
    (q2, {"early_stopping_epochs": early_stopping_keras}),
    (q3, {"fit_with_early_stopping": fit_with_early_stopping}),
    (q3, {"fit_with_early_stopping": fit_with_early_stopping_pathlib}),
    (q3, {"fit_with_early_stopping": fit_with_early_stopping_positional}),
    (q4, CONFUSION),
    (q4, {"confusion_matrix": confusion_matrix_bincount, "precision_recall": precision_recall_where}),
    (q4, {"confusion_matrix": confusion_matrix_loop, "precision_recall": precision_recall_loop}),
    (q5, BAGGING),
    (q5, {"bagging_fit": bagging_fit_all_at_once, "ensemble_proba": ensemble_proba_stack}),
    (q5, {"bagging_fit": bagging_fit_choice, "ensemble_proba": ensemble_proba_sum}),
    (q6, {"samme_update": samme_update}),
    (q6, {"samme_update": samme_update_where}),
    (q6, {"samme_update": samme_update_math}),
    (q7, {"out_of_fold": out_of_fold}),
    (q7, {"out_of_fold": out_of_fold_scatter}),
    (q7, {"out_of_fold": out_of_fold_rows}),
]


# ----------------------------------------------------------------------------- wrong answers
def _cv(splits, fit=lambda model, x, y, tr, epochs: _fit(model, x[tr], y[tr], epochs),
        score=lambda model, x, y, tr, va: _accuracy(model, x[va], y[va])):
    """A cross_validate built from a way to split, to fit and to score, as a student might."""
    def cross(build_model, x, y, k=5, epochs=3, seed=0):
        folds, scores = [], []
        for train_idx, val_idx in splits(x, y, k, seed):
            model = build_model()
            fit(model, x, y, train_idx, epochs)
            folds.append((train_idx, val_idx))
            scores.append(score(model, x, y, train_idx, val_idx))
        return {"folds": folds, "scores": scores, "mean": np.mean(scores), "std": np.std(scores)}
    return cross


def _stratified(x, y, k, seed):
    return StratifiedKFold(k, shuffle=True, random_state=seed).split(x, y)


def cv_one_model(build_model, x, y, k=5, epochs=3, seed=0):  # weights carried from fold to fold
    model = build_model()
    return _cv(_stratified)(lambda: model, x, y, k, epochs, seed)


cv_plain_kfold = _cv(lambda x, y, k, seed: KFold(k).split(x))                 # not stratified
cv_unshuffled = _cv(lambda x, y, k, seed: StratifiedKFold(k).split(x, y))     # sorted data!
cv_fixed_seed = _cv(lambda x, y, k, seed: StratifiedKFold(k, shuffle=True, random_state=0).split(x, y))
cv_train_on_all = _cv(_stratified, fit=lambda model, x, y, tr, epochs: _fit(model, x, y, epochs))
cv_train_score = _cv(_stratified, score=lambda model, x, y, tr, va: _accuracy(model, x[tr], y[tr]))
cv_default_batch = _cv(_stratified, fit=lambda model, x, y, tr, epochs: model.fit(
    x[tr], y[tr], epochs=epochs, verbose=0))
cv_one_epoch = _cv(_stratified, fit=lambda model, x, y, tr, epochs: _fit(model, x[tr], y[tr], 1))


def cv_no_std(build_model, x, y, k=5, epochs=3, seed=0):
    return {k_: v for k_, v in cross_validate(build_model, x, y, k, epochs, seed).items()
            if k_ != "std"}


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


def es_mean_epoch(val_losses, patience, min_delta=0.0):  # a non-whole "epoch"
    run, best = early_stopping_epochs(val_losses, patience, min_delta)
    return run, (best + run) / 2


def _fit_es(callbacks=None, path_name="best.keras", **options):
    """A fit_with_early_stopping with other callbacks or fit options."""
    def fit(model, x, y, x_val, y_val, folder, max_epochs=50):
        path = os.path.join(folder, path_name)
        made = callbacks(path) if callbacks else [
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True),
            keras.callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=True)]
        kwargs = dict(epochs=max_epochs, batch_size=64, validation_data=(x_val, y_val),
                      callbacks=made, verbose=0) | options
        return model.fit(x, y, **kwargs), path
    return fit


fit_no_restore = _fit_es(lambda path: [
    keras.callbacks.EarlyStopping(monitor="val_loss", patience=3),
    keras.callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=True)])
fit_without_early_stopping = _fit_es(lambda path: [
    keras.callbacks.ModelCheckpoint(path, save_best_only=True)])
fit_checkpoint_every_epoch = _fit_es(lambda path: [
    keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True),
    keras.callbacks.ModelCheckpoint(path)])
fit_patience_five = _fit_es(lambda path: [
    keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True),
    keras.callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=True)])
fit_other_name = _fit_es(path_name="model.keras")
fit_default_batch = _fit_es(batch_size=None)


def fit_h5_path(model, x, y, x_val, y_val, folder, max_epochs=50):
    history, path = fit_with_early_stopping(model, x, y, x_val, y_val, folder, max_epochs)
    return history, path.replace(".keras", ".weights.h5")


def fit_returns_model(model, x, y, x_val, y_val, folder, max_epochs=50):
    _, path = fit_with_early_stopping(model, x, y, x_val, y_val, folder, max_epochs)
    return model, path


def confusion_matrix_float(y_true, y_pred, n_classes):
    return confusion_matrix(y_true, y_pred, n_classes).astype(float)


def precision_recall_swapped(cm):
    precision, recall = precision_recall(cm)
    return recall, precision


def precision_recall_nan(cm):  # 0/0 gives NaN instead of 0
    correct = np.diag(cm).astype(float)
    return correct / cm.sum(axis=0), correct / cm.sum(axis=1)


def _bagging(draw, fit=lambda model, x, y, idx, rng, epochs: _fit(model, x[idx], y[idx], epochs)):
    """A bagging_fit with another way to draw the sample or to fit, as a student might."""
    def bag(build_model, x, y, n_models, epochs, rng):
        models = []
        for _ in range(n_models):
            model = build_model()
            fit(model, x, y, draw(rng, len(x)), rng, epochs)
            models.append(model)
        return models
    return bag


bagging_without_replacement = _bagging(lambda rng, n: rng.permutation(n))
bagging_last_left_out = _bagging(lambda rng, n: rng.integers(0, n - 1, size=n))
bagging_own_generator = _bagging(lambda rng, n: np.random.default_rng(0).integers(0, n, n))
bagging_misaligned = _bagging(  # x and y drawn separately
    lambda rng, n: None, fit=lambda model, x, y, idx, rng, epochs: _fit(
        model, x[rng.integers(0, len(x), len(x))], y[rng.integers(0, len(x), len(x))], epochs))
bagging_default_batch = _bagging(lambda rng, n: rng.integers(0, n, n),
                                 fit=lambda model, x, y, idx, rng, epochs: model.fit(
                                     x[idx], y[idx], epochs=epochs, verbose=0))


def bagging_one_model(build_model, x, y, n_models, epochs, rng):
    model = build_model()
    return bagging_fit(lambda: model, x, y, n_models, epochs, rng)


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


def _oof(splits):
    def oof_of(fit_predict, x, y, n_classes, k=5, seed=0):
        oof = np.zeros((len(x), n_classes))
        for train_idx, val_idx in splits(x, y, k, seed):
            oof[val_idx] = fit_predict(x[train_idx], y[train_idx], x[val_idx])
        return oof
    return oof_of


oof_kfold = _oof(lambda x, y, k, seed: KFold(k).split(x))
oof_unshuffled = _oof(lambda x, y, k, seed: StratifiedKFold(k).split(x, y))
oof_seed_zero = _oof(lambda x, y, k, seed: StratifiedKFold(k, shuffle=True, random_state=0).split(x, y))

WRONG = [
    (q1, {"cross_validate": cv_one_model}, "was called 1 time(s) for 4 folds"),
    (q1, {"cross_validate": cv_plain_kfold}, "class counts"),
    (q1, {"cross_validate": cv_unshuffled}, "stratified but not shuffled"),
    (q1, {"cross_validate": cv_fixed_seed}, "is the seed passed on?"),
    (q1, {"cross_validate": cv_train_on_all}, "exactly that fold's training examples"),
    (q1, {"cross_validate": cv_train_score}, "are not the validation accuracies"),
    (q1, {"cross_validate": cv_default_batch}, "batches of 64"),
    (q1, {"cross_validate": cv_one_epoch}, "was not fitted for `epochs` epochs"),
    (q1, {"cross_validate": cv_no_std}, "a dict with keys 'folds', 'scores', 'mean', 'std'"),
    (q2, {"early_stopping_epochs": es_strict_patience}, "the number of epochs run is wrong"),
    (q2, {"early_stopping_epochs": es_ties_improve}, "a plateau of equal values"),
    (q2, {"early_stopping_epochs": es_ignores_min_delta}, "tiny improvements below min_delta"),
    (q2, {"early_stopping_epochs": es_zero_based}, "the best epoch (counted from 1) is wrong"),
    (q2, {"early_stopping_epochs": es_mean_epoch}, "not a whole number"),
    (q3, {"fit_with_early_stopping": fit_no_restore}, "does not hold the weights of its best epoch"),
    (q3, {"fit_with_early_stopping": fit_without_early_stopping}, "no early stopping happened"),
    (q3, {"fit_with_early_stopping": fit_checkpoint_every_epoch}, "overwritten by a later"),
    (q3, {"fit_with_early_stopping": fit_patience_five}, "with patience=3 it should stop 3"),
    (q3, {"fit_with_early_stopping": fit_h5_path}, "ending in '.keras'"),
    (q3, {"fit_with_early_stopping": fit_other_name}, "under the name 'best.keras'"),
    (q3, {"fit_with_early_stopping": fit_default_batch}, "batches of 64"),
    (q3, {"fit_with_early_stopping": fit_returns_model}, "the History that `fit` gave back"),
    (q4, dict(CONFUSION, confusion_matrix=lambda t, p, n: confusion_matrix(p, t, n)),
     "confusion_matrix on 10 classes"),
    (q4, dict(CONFUSION, confusion_matrix=lambda t, p, n: confusion_matrix(t, p, max(t.max(), p.max()) + 1)),
     "should have shape (4, 4)"),
    (q4, dict(CONFUSION, confusion_matrix=confusion_matrix_float), "not an integer array"),
    (q4, dict(CONFUSION, precision_recall=precision_recall_swapped), "precision on 10 classes"),
    (q4, dict(CONFUSION, precision_recall=precision_recall_nan), "NaN"),
    (q5, dict(BAGGING, bagging_fit=bagging_without_replacement), "WITH replacement"),
    (q5, dict(BAGGING, bagging_fit=bagging_last_left_out), "(index 5) is never drawn"),
    (q5, dict(BAGGING, bagging_fit=bagging_own_generator), "different seeds gave the same samples"),
    (q5, dict(BAGGING, bagging_fit=bagging_misaligned), "do not belong to the images"),
    (q5, dict(BAGGING, bagging_fit=bagging_one_model), "once per member"),
    (q5, dict(BAGGING, bagging_fit=bagging_default_batch), "batches of 64"),
    (q5, dict(BAGGING, ensemble_proba=lambda models, x: models[0].predict(x, verbose=0)),
     "ensemble_proba(models, x)"),
    (q6, {"samme_update": samme_no_k_term}, "with K=3 classes alpha differs from scikit-learn"),
    (q6, {"samme_update": samme_not_normalized}, "do not sum to 1"),
    (q6, {"samme_update": samme_boosts_correct}, "should gain the factor exp(alpha)"),
    (q7, {"out_of_fold": oof_leaky}, "leakage"),
    (q7, {"out_of_fold": oof_concatenated}, "row i must hold the prediction for example i"),
    (q7, {"out_of_fold": oof_kfold}, "class counts"),
    (q7, {"out_of_fold": oof_unshuffled}, "stratified but not shuffled"),
    (q7, {"out_of_fold": oof_seed_zero}, "is the seed passed on?"),
]


(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(lesson15, CORRECT, WRONG)
