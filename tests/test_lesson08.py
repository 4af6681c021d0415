"""Lesson 08: the reference answers pass, plausible wrong answers fail with a specific message."""
import numpy as np
import tensorflow as tf

from helpers import answer_tests
from utils.checks import PASS, lesson08
from utils.checks.lesson08 import q1, q2, q3, q4, q5, q6


# ------------------------------------------------------------------ reference answers
def standardize_splits(x_train, x_val, x_test):
    x_train = x_train.astype(np.float32)
    mean, std = x_train.mean(axis=(0, 1, 2)), x_train.std(axis=(0, 1, 2))
    return tuple((x.astype(np.float32) - mean) / std for x in (x_train, x_val, x_test))


def stratified_split(y, val_frac, test_frac, seed):
    rng = np.random.default_rng(seed)
    parts = ([], [], [])
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test, n_val = round(test_frac * len(idx)), round(val_frac * len(idx))
        parts[2].append(idx[:n_test])
        parts[1].append(idx[n_test:n_test + n_val])
        parts[0].append(idx[n_test + n_val:])
    return tuple(np.concatenate(p) for p in parts)


def _to_float(image, label):
    return tf.cast(image, tf.float32)[..., None] / 255.0, label


def make_dataset(x, y, batch_size, training):
    ds = tf.data.Dataset.from_tensor_slices((x, y)).map(_to_float).cache()
    if training:
        ds = ds.shuffle(len(x))
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def salt_and_pepper(images, amount, seed):
    rng = np.random.default_rng(seed)
    out = images.copy()
    u = rng.uniform(size=images.shape)
    out[u < amount / 2] = 0.0
    out[(u >= amount / 2) & (u < amount)] = 1.0
    return out


def mixup(images, labels, lam, partner):
    images = images.astype(np.float32)
    mixed = lam[:, None, None, None] * images + (1 - lam[:, None, None, None]) * images[partner]
    return mixed, lam[:, None] * labels + (1 - lam[:, None]) * labels[partner]


def _clipped_box(cy, cx, h, w, height, width):
    top, left = cy - h // 2, cx - w // 2
    return max(top, 0), min(top + h, height), max(left, 0), min(left + w, width)


def cutmix(images, labels, boxes, partner, clip_area=True, swap=False):
    out = images.astype(np.float32)
    n, height, width = images.shape[:3]
    weights = np.zeros((n, 1), dtype=np.float32)
    for i, (cy, cx, h, w) in enumerate(boxes):
        if swap:
            cy, cx, h, w = cx, cy, w, h
        r0, r1, c0, c1 = _clipped_box(cy, cx, h, w, height, width)
        out[i, r0:r1, c0:c1] = images[partner[i], r0:r1, c0:c1]
        area = (r1 - r0) * (c1 - c0) if clip_area else h * w
        weights[i] = area / (height * width)
    return out, (1 - weights) * labels + weights * labels[partner]


# ------------------------------------------------------------------ plausible mistakes
def standardize_each_split_itself(x_train, x_val, x_test):
    return tuple((x - x.mean(axis=(0, 1, 2))) / x.std(axis=(0, 1, 2))
                 for x in (x_train.astype(np.float32), x_val.astype(np.float32),
                           x_test.astype(np.float32)))


def standardize_with_all_splits(x_train, x_val, x_test):
    everything = np.concatenate([x_train, x_val, x_test]).astype(np.float32)
    mean, std = everything.mean(axis=(0, 1, 2)), everything.std(axis=(0, 1, 2))
    return tuple((x.astype(np.float32) - mean) / std for x in (x_train, x_val, x_test))


def standardize_global(x_train, x_val, x_test):
    mean, std = x_train.astype(np.float32).mean(), x_train.astype(np.float32).std()
    return tuple((x.astype(np.float32) - mean) / std for x in (x_train, x_val, x_test))


def standardize_in_place(x_train, x_val, x_test):
    mean, std = x_train.mean(axis=(0, 1, 2)), x_train.std(axis=(0, 1, 2))
    if x_train.dtype.kind == "f":
        for x in (x_val, x_test, x_train):
            x -= mean
            x /= std
        return x_train, x_val, x_test
    return standardize_splits(x_train, x_val, x_test)


def standardize_keeping_uint8(x_train, x_val, x_test):
    mean, std = x_train.mean(axis=(0, 1, 2)), x_train.std(axis=(0, 1, 2))
    return tuple(((x - mean) / std).astype(x.dtype) for x in (x_train, x_val, x_test))


def random_split(y, val_frac, test_frac, seed):
    idx = np.random.default_rng(seed).permutation(len(y))
    n_test, n_val = round(test_frac * len(y)), round(val_frac * len(y))
    return idx[n_test + n_val:], idx[n_test:n_test + n_val], idx[:n_test]


def split_without_shuffling(y, val_frac, test_frac, seed):
    parts = ([], [], [])
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        n_test, n_val = round(test_frac * len(idx)), round(val_frac * len(idx))
        parts[2].append(idx[:n_test])
        parts[1].append(idx[n_test:n_test + n_val])
        parts[0].append(idx[n_test:])  # overlaps with val
    return tuple(np.concatenate(p) for p in parts)


def split_with_global_rng(y, val_frac, test_frac, seed):
    return stratified_split(y, val_frac, test_frac, np.random.randint(1 << 30))


def split_returning_labels(y, val_frac, test_frac, seed):
    return tuple(y[p] + len(y) for p in stratified_split(y, val_frac, test_frac, seed))


def dataset_shuffle_before_cache(x, y, batch_size, training):
    ds = tf.data.Dataset.from_tensor_slices((x, y)).map(_to_float)
    if training:
        ds = ds.shuffle(len(x))
    return ds.cache().batch(batch_size).prefetch(tf.data.AUTOTUNE)


def dataset_shuffle_batches(x, y, batch_size, training):
    ds = tf.data.Dataset.from_tensor_slices((x, y)).map(_to_float).cache().batch(batch_size)
    return (ds.shuffle(len(x)) if training else ds).prefetch(tf.data.AUTOTUNE)


def dataset_small_buffer(x, y, batch_size, training):
    ds = tf.data.Dataset.from_tensor_slices((x, y)).map(_to_float).cache()
    if training:
        ds = ds.shuffle(batch_size)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def dataset_shuffle_always(x, y, batch_size, training):
    return make_dataset(x, y, batch_size, True)


def dataset_without_prefetch(x, y, batch_size, training):
    ds = tf.data.Dataset.from_tensor_slices((x, y)).map(_to_float).cache()
    return (ds.shuffle(len(x)) if training else ds).batch(batch_size)


def dataset_separate_shuffles(x, y, batch_size, training):
    images = tf.data.Dataset.from_tensor_slices(x).map(lambda i: _to_float(i, 0)[0])
    labels = tf.data.Dataset.from_tensor_slices(y)
    if training:
        images, labels = images.shuffle(len(x)), labels.shuffle(len(x))
    return tf.data.Dataset.zip((images, labels)).batch(batch_size).prefetch(1)


def dataset_unscaled(x, y, batch_size, training):
    ds = tf.data.Dataset.from_tensor_slices((x, y)).map(
        lambda i, l: (tf.cast(i, tf.float32)[..., None], l)).cache()
    return (ds.shuffle(len(x)) if training else ds).batch(batch_size).prefetch(1)


def dataset_dropping_remainder(x, y, batch_size, training):
    ds = tf.data.Dataset.from_tensor_slices((x, y)).map(_to_float).cache()
    ds = ds.shuffle(len(x)) if training else ds
    return ds.batch(batch_size, drop_remainder=True).prefetch(1)


def noise_uniform_values(images, amount, seed):
    rng = np.random.default_rng(seed)
    out = images.copy()
    mask = rng.uniform(size=images.shape) < amount
    out[mask] = rng.uniform(size=mask.sum())
    return out


def noise_salt_only(images, amount, seed):
    rng = np.random.default_rng(seed)
    out = images.copy()
    out[rng.uniform(size=images.shape) < amount] = 1.0
    return out


def noise_global_rng(images, amount, seed):
    return salt_and_pepper(images, amount, np.random.randint(1 << 30))


def noise_in_place(images, amount, seed):
    rng = np.random.default_rng(seed)
    u = rng.uniform(size=images.shape)
    images[u < amount / 2] = 0.0
    images[(u >= amount / 2) & (u < amount)] = 1.0
    return images


def noise_half_amount(images, amount, seed):
    rng = np.random.default_rng(seed)
    out = images.copy()
    u = rng.uniform(size=images.shape)
    out[u < amount / 4] = 0.0
    out[(u >= amount / 4) & (u < amount / 2)] = 1.0
    return out


def mixup_swapped_labels(images, labels, lam, partner):
    mixed, _ = mixup(images, labels, lam, partner)
    return mixed, (1 - lam[:, None]) * labels + lam[:, None] * labels[partner]


def mixup_labels_unmixed(images, labels, lam, partner):
    return mixup(images, labels, lam, partner)[0], labels


def mixup_uint8(images, labels, lam, partner):
    mixed, mixed_labels = mixup(images, labels, lam, partner)
    return mixed.astype(images.dtype), mixed_labels


def mixup_first_lam_only(images, labels, lam, partner):
    return mixup(images, labels, np.full_like(lam, lam[0]), partner)


def cutmix_unclipped_area(images, labels, boxes, partner):
    return cutmix(images, labels, boxes, partner, clip_area=False)


def cutmix_swapped_axes(images, labels, boxes, partner):
    return cutmix(images, labels, boxes, partner, swap=True)


def cutmix_weights_reversed(images, labels, boxes, partner):
    mixed, mixed_labels = cutmix(images, labels, boxes, partner)
    return mixed, labels + labels[partner] - mixed_labels  # the box's share goes to the image itself


# ------------------------------------------------------------------ tests
CORRECT = {q1: {"standardize_splits": standardize_splits},
           q2: {"stratified_split": stratified_split},
           q3: {"make_dataset": make_dataset},
           q4: {"salt_and_pepper": salt_and_pepper},
           q5: {"mixup": mixup},
           q6: {"cutmix": cutmix}}

WRONG = {
    "q1": [({"standardize_splits": standardize_each_split_itself}, "its own mean and std"),
           ({"standardize_splits": standardize_with_all_splits}, "statistics of all splits"),
           ({"standardize_splits": standardize_global}, "per channel"),
           ({"standardize_splits": standardize_in_place}, "in place"),
           ({"standardize_splits": standardize_keeping_uint8}, "floating-point")],
    "q2": [({"stratified_split": random_split}, "not stratified"),
           ({"stratified_split": split_without_shuffling}, "appears twice"),
           ({"stratified_split": split_with_global_rng}, "same seed"),
           ({"stratified_split": split_returning_labels}, "outside")],
    "q3": [({"make_dataset": dataset_shuffle_before_cache}, "same order"),
           ({"make_dataset": dataset_shuffle_batches}, "before `.batch"),
           ({"make_dataset": dataset_small_buffer}, "buffer is too small"),
           ({"make_dataset": dataset_shuffle_always}, "original order"),
           ({"make_dataset": dataset_without_prefetch}, "prefetch"),
           ({"make_dataset": dataset_separate_shuffles}, "next to their own labels"),
           ({"make_dataset": dataset_unscaled}, "scaled to [0, 1]"),
           ({"make_dataset": dataset_dropping_remainder}, "every example exactly once")],
    "q4": [({"salt_and_pepper": noise_uniform_values}, "exactly 0.0"),
           ({"salt_and_pepper": noise_salt_only}, "half should be salt"),
           ({"salt_and_pepper": noise_global_rng}, "same seed"),
           ({"salt_and_pepper": noise_in_place}, "in place"),
           ({"salt_and_pepper": noise_half_amount}, "instead of about `amount`")],
    "q5": [({"mixup": mixup_swapped_labels}, "swapped weights"),
           ({"mixup": mixup_labels_unmixed}, "were not mixed"),
           ({"mixup": mixup_uint8}, "uint8"),
           ({"mixup": mixup_first_lam_only}, "mixed images")],
    "q6": [({"cutmix": cutmix_unclipped_area}, "before clipping"),
           ({"cutmix": cutmix_swapped_axes}, "swapped"),
           ({"cutmix": cutmix_weights_reversed}, "mixed labels")],
}


(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(lesson08, CORRECT, WRONG)


def test_sklearn_two_step_split_passes():
    from sklearn.model_selection import train_test_split

    def two_step(y, val_frac, test_frac, seed):
        idx = np.arange(len(y))
        rest, test = train_test_split(idx, test_size=test_frac, stratify=y, random_state=seed)
        train, val = train_test_split(rest, test_size=val_frac / (1 - test_frac),
                                      stratify=y[rest], random_state=seed)
        return train, val, test

    result = q2.evaluate(namespace={}, stratified_split=two_step)
    assert result.status == PASS, result.messages
