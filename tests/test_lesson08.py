"""Lesson 08: correct answers pass, plausible wrong answers fail with a specific message."""
import keras
import numpy as np
import tensorflow as tf

from helpers import answer_tests
from utils.checks import lesson08
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


# ------------------------------------------------------------------ correct, written differently
def standardize_keras(x_train, x_val, x_test):
    """A Keras Normalization layer adapted on the training split (tensors out)."""
    layer = keras.layers.Normalization(axis=-1)
    layer.adapt(x_train.astype("float32"))
    return [layer(x.astype("float32")) for x in (x_train, x_val, x_test)]


def standardize_float64_stats(x_train, x_val, x_test):
    """Statistics in float64, the results cast to float32 at the end."""
    mean = x_train.mean(axis=(0, 1, 2), dtype=np.float64)
    std = np.sqrt(((x_train - mean) ** 2).mean(axis=(0, 1, 2)))
    return tuple(((x - mean) / std).astype(np.float32) for x in (x_train, x_val, x_test))


def split_float_positions(y, val_frac, test_frac, seed):
    """Lists grown from an empty float array: float positions with whole values."""
    rng = np.random.default_rng(seed)
    train, val, test = np.array([]), np.array([]), np.array([])
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        n_test, n_val = int(round(test_frac * len(idx))), int(round(val_frac * len(idx)))
        test = np.concatenate([test, idx[:n_test]])
        val = np.concatenate([val, idx[n_test:n_test + n_val]])
        train = np.concatenate([train, idx[n_test + n_val:]])
    return train, val, test


def split_sklearn_two_steps(y, val_frac, test_frac, seed):
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    rest, test = train_test_split(idx, test_size=test_frac, stratify=y, random_state=seed)
    train, val = train_test_split(rest, test_size=val_frac / (1 - test_frac), stratify=y[rest],
                                  random_state=seed)
    return train, val, test


def dataset_scaled_in_numpy(x, y, batch_size, training):
    """Converted in NumPy before the pipeline; the cache holds the converted tensors."""
    images = (x[..., None] / 255.0).astype(np.float32)
    ds = tf.data.Dataset.from_tensor_slices((images, y)).cache()
    if training:
        ds = ds.shuffle(len(x), reshuffle_each_iteration=True)
    return ds.batch(batch_size, drop_remainder=False).prefetch(buffer_size=tf.data.AUTOTUNE)


def dataset_convert_image_dtype(x, y, batch_size, training):
    """tf.image.convert_image_dtype, parallel calls, a seeded shuffle that still reshuffles."""
    def convert(image, label):
        return tf.image.convert_image_dtype(tf.expand_dims(image, -1), tf.float32), label

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    ds = ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE).cache()
    ds = ds.shuffle(buffer_size=len(x), seed=1) if training else ds
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def noise_two_draws(images, amount, seed):
    """One draw decides which values change, a second one salt or pepper."""
    rng = np.random.default_rng(seed)
    replace = rng.random(images.shape) < amount
    salt = rng.random(images.shape) < 0.5
    return np.where(replace, salt, images).astype(images.dtype)


def noise_choice(images, amount, seed):
    """Three outcomes per value drawn with their probabilities."""
    rng = np.random.default_rng(seed)
    kind = rng.choice(3, size=images.shape, p=[1 - amount, amount / 2, amount / 2])
    return np.select([kind == 1, kind == 2], [0.0, 1.0], images).astype(images.dtype)


def mixup_einsum(images, labels, lam, partner):
    x = images.astype(np.float32)
    lam = lam.astype(np.float32)
    mixed = np.einsum("n,nhwc->nhwc", lam, x) + np.einsum("n,nhwc->nhwc", 1 - lam, x[partner])
    return mixed, np.einsum("n,nk->nk", lam, labels) + np.einsum("n,nk->nk", 1 - lam,
                                                                  labels[partner])


def mixup_tf(images, labels, lam, partner):
    x = tf.cast(images, tf.float32)
    w = tf.reshape(tf.constant(lam, tf.float32), (-1, 1, 1, 1))
    mixed = w * x + (1 - w) * tf.gather(x, partner)
    w = tf.reshape(w, (-1, 1))
    return mixed, w * labels + (1 - w) * tf.gather(labels, partner)


def cutmix_masks(images, labels, boxes, partner):
    """Vectorised: one boolean mask per image from the clipped row and column ranges."""
    n, height, width = images.shape[:3]
    cy, cx, h, w = (boxes[:, k, None] for k in range(4))
    rows, cols = np.arange(height)[None, :], np.arange(width)[None, :]
    in_rows = (rows >= cy - h // 2) & (rows < cy - h // 2 + h)
    in_cols = (cols >= cx - w // 2) & (cols < cx - w // 2 + w)
    mask = in_rows[:, :, None] & in_cols[:, None, :]
    x = images.astype(np.float32)
    mixed = np.where(mask[..., None], x[partner], x)
    share = mask.mean(axis=(1, 2))[:, None].astype(np.float32)
    return mixed, (1 - share) * labels + share * labels[partner]


def cutmix_clip(images, labels, boxes, partner):
    """np.clip for the ranges; an empty box pastes nothing."""
    out = np.copy(images).astype("float32")
    height, width = images.shape[1:3]
    new_labels = labels.astype(np.float32).copy()
    for i, (cy, cx, h, w) in enumerate(boxes):
        r0, r1 = np.clip([cy - h // 2, cy - h // 2 + h], 0, height)
        c0, c1 = np.clip([cx - w // 2, cx - w // 2 + w], 0, width)
        out[i, r0:r1, c0:c1, :] = images[partner[i], r0:r1, c0:c1, :]
        a = max(r1 - r0, 0) * max(c1 - c0, 0) / (height * width)
        new_labels[i] = (1 - a) * labels[i] + a * labels[partner[i]]
    return out, new_labels


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


def standardize_float64(x_train, x_val, x_test):
    x_train = x_train.astype(float)
    mean, std = x_train.mean(axis=(0, 1, 2)), x_train.std(axis=(0, 1, 2))
    return tuple((x.astype(float) - mean) / std for x in (x_train, x_val, x_test))


def noise_float64(images, amount, seed):
    return salt_and_pepper(images.astype(np.float64), amount, seed)


def noise_one_draw_per_pixel(images, amount, seed):
    """One random number per pixel, shared by its channels."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(size=images.shape[:-1] + (1,))
    out = images.copy()
    out[np.broadcast_to(u < amount / 2, images.shape)] = 0.0
    out[np.broadcast_to((u >= amount / 2) & (u < amount), images.shape)] = 1.0
    return out


def mixup_float64(images, labels, lam, partner):
    images = images.astype(np.float64)
    w = lam[:, None, None, None]
    return w * images + (1 - w) * images[partner], lam[:, None] * labels + (1 - lam[:, None]) * labels[partner]


def mixup_in_place(images, labels, lam, partner):
    x = np.asarray(images, dtype=np.float32)       # the input itself when it is float32
    other = x[partner]
    x *= lam[:, None, None, None]
    x += (1 - lam[:, None, None, None]) * other
    return x, lam[:, None] * labels + (1 - lam[:, None]) * labels[partner]


def cutmix_in_place(images, labels, boxes, partner):
    """Pastes into the input itself (np.asarray does not copy a float32 array)."""
    out = np.asarray(images, dtype=np.float32)
    source = images.astype(np.float32)                 # the partners are read from a copy
    n, height, width = images.shape[:3]
    weights = np.zeros((n, 1), dtype=np.float32)
    for i, (cy, cx, h, w) in enumerate(boxes):
        r0, r1, c0, c1 = _clipped_box(cy, cx, h, w, height, width)
        if r1 > r0 and c1 > c0:
            out[i, r0:r1, c0:c1] = source[partner[i], r0:r1, c0:c1]
            weights[i] = (r1 - r0) * (c1 - c0) / (height * width)
    return out, (1 - weights) * labels + weights * labels[partner]


def cutmix_float64(images, labels, boxes, partner):
    mixed, mixed_labels = cutmix(images, labels, boxes, partner)
    return mixed.astype(np.float64), mixed_labels


def cutmix_keeping_uint8(images, labels, boxes, partner):
    mixed, mixed_labels = cutmix(images, labels, boxes, partner)
    return mixed.astype(images.dtype), mixed_labels


# ------------------------------------------------------------------ tests
CORRECT = [(q1, standardize_splits), (q1, standardize_keras), (q1, standardize_float64_stats),
           (q2, stratified_split), (q2, split_float_positions), (q2, split_sklearn_two_steps),
           (q3, make_dataset), (q3, dataset_scaled_in_numpy), (q3, dataset_convert_image_dtype),
           (q4, salt_and_pepper), (q4, noise_two_draws), (q4, noise_choice),
           (q5, mixup), (q5, mixup_einsum), (q5, mixup_tf),
           (q6, cutmix), (q6, cutmix_masks), (q6, cutmix_clip)]

WRONG = {
    "q1": [({"standardize_splits": standardize_each_split_itself}, "its own mean and std"),
           ({"standardize_splits": standardize_with_all_splits}, "statistics of all splits"),
           ({"standardize_splits": standardize_global}, "per channel"),
           ({"standardize_splits": standardize_in_place}, "in place"),
           ({"standardize_splits": standardize_keeping_uint8}, "they should be float32"),
           ({"standardize_splits": standardize_float64}, "of type float64")],
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
           ({"salt_and_pepper": noise_half_amount}, "instead of about `amount`"),
           ({"salt_and_pepper": noise_float64}, "not of the input's type float32"),
           ({"salt_and_pepper": noise_one_draw_per_pixel}, "changed together")],
    "q5": [({"mixup": mixup_swapped_labels}, "swapped weights"),
           ({"mixup": mixup_labels_unmixed}, "were not mixed"),
           ({"mixup": mixup_uint8}, "uint8"),
           ({"mixup": mixup_first_lam_only}, "mixed images"),
           ({"mixup": mixup_float64}, "of type float64"),
           ({"mixup": mixup_in_place}, "changed its input arrays in place")],
    "q6": [({"cutmix": cutmix_unclipped_area}, "before clipping"),
           ({"cutmix": cutmix_swapped_axes}, "swapped"),
           ({"cutmix": cutmix_weights_reversed}, "mixed labels"),
           ({"cutmix": cutmix_in_place}, "changed its input arrays in place"),
           ({"cutmix": cutmix_float64}, "of type float64"),
           ({"cutmix": cutmix_keeping_uint8}, "of type uint8")],
}


(test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer,
 test_judge_gives_the_same_verdict) = \
    answer_tests(lesson08, CORRECT, WRONG)
