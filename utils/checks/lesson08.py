"""Checks of lesson 08 · Data preparation and augmentation.

Expected values come from Keras and TensorFlow where they exist: a ``Normalization`` layer
adapted on the training split only, ``tf.data`` iteration, and the image/label transforms of
``keras.layers.MixUp`` and ``keras.layers.CutMix`` fed with a known transformation (mixing
weights, partners, box masks). Splits and noise are random by design, so they are checked on
their properties: disjoint, complete, stratified, deterministic for a seed, right fractions,
independent per value. Inputs are compared with copies after every call (none may change).
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .compare import compare_arrays
from .core import is_a, question, type_name


# --------------------------------------------------------------------------------------- helpers
def _parts(t, value, n: int, name: str, what: str) -> list:
    """A tuple/list of ``n`` items returned by the student's function, or a FAIL."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)):
        t.fail(f"`{name}` should return a tuple of {n} items ({what}), "
               f"not a {type(value).__name__}.")
    if len(value) != n:
        t.fail(f"`{name}` should return {n} items ({what}), but it returned {len(value)}.")
    return list(value)


def _unchanged(t, originals, given, name: str, label: str) -> None:
    """A case that fails when the student's function changed one of its input arrays."""
    t.case(all(np.array_equal(a, b) for a, b in zip(originals, given)),
           f"`{name}` changed its input arrays in place ({label}); work on copies.")


def _float32(t, arr: np.ndarray, what: str, label: str) -> bool:
    """A case that fails unless ``arr`` is float32."""
    return t.case(arr.dtype == np.float32,
                  f"{what} are of type {arr.dtype} ({label}); they should be float32.")


def _same(actual, expected, rtol=1e-4, atol=1e-4) -> bool:
    """True when ``actual`` has the shape of ``expected`` and matches it within tolerances."""
    return compare_arrays(actual, expected, "x", rtol=rtol, atol=atol) is None


# --------------------------------------------------------------------------------------- q1
def _keras_standardize(x_fit, *xs):
    """Per-channel standardization with a Keras Normalization layer adapted on ``x_fit`` only."""
    layer = keras.layers.Normalization(axis=-1)
    layer.adapt(np.asarray(x_fit, dtype=np.float32))
    return [np.asarray(layer(np.asarray(x, dtype=np.float32))) for x in xs]


def _standardize_cases():
    rng = np.random.default_rng(8)
    gray = [rng.integers(0, 200, size=(n, 6, 6, 1)).astype(np.uint8) for n in (60, 20)]
    gray.append(rng.integers(40, 256, size=(20, 6, 6, 1)).astype(np.uint8))  # brighter test set
    scale, shift = np.array([1.0, 10.0, 100.0]), np.array([0.0, 5.0, -50.0])
    colour = [(rng.normal(size=(n, 5, 7, 3)) * scale + shift + k).astype(np.float32)
              for k, n in enumerate((40, 15, 15))]
    return [("uint8 images of shape (N, 6, 6, 1) with a brighter test set", gray),
            ("float32 images of shape (N, 5, 7, 3) with very different channel scales", colour)]


@question(names=["standardize_splits"], hints=[
    "Compute the mean and the standard deviation of every channel on `x_train` alone, then use "
    "those same numbers for all three splits.",
    "Reduce over every axis except the last: `x_train.mean(axis=(0, 1, 2))` has one value per "
    "channel, and broadcasting applies it to images of any size.",
    "Convert to float first (`x.astype(np.float32)`), never change the inputs in place, and "
    "return `((x_train - mean) / std, (x_val - mean) / std, (x_test - mean) / std)`.",
])
def q1(t, standardize_splits):
    """per-channel standardization with training statistics only"""
    for label, (x_train, x_val, x_test) in _standardize_cases():
        originals = [x.copy() for x in (x_train, x_val, x_test)]
        out = t.call(standardize_splits, x_train, x_val, x_test, where=label)
        out = _parts(t, out, 3, "standardize_splits", "the standardized train, val and test sets")
        _unchanged(t, originals, (x_train, x_val, x_test), "standardize_splits", label)
        expected = _keras_standardize(x_train, x_train, x_val, x_test)
        everything = np.concatenate([x_train, x_val, x_test]).astype(np.float64)
        for split, x, got, want in zip(("train", "val", "test"), (x_train, x_val, x_test),
                                       out, expected):
            arr = t.numbers(got, f"x_{split} (standardized)")
            if not _float32(t, arr, f"the values of the standardized {split} set", label):
                continue
            if _same(arr, want):
                t.case(True, "")
            elif split != "train" and _same(arr, _keras_standardize(x, x)[0]):
                t.case(False, f"the {split} set was standardized with its own mean and std "
                              f"({label}): that is leakage; use the statistics of x_train only.")
            elif _same(arr, _keras_standardize(everything, x)[0]):
                t.case(False, f"the {split} set was standardized with statistics of all splits "
                              f"together ({label}): val and test must not influence them.")
            elif x.shape[-1] > 1 and _same(arr, (x - x_train.mean()) / x_train.std()):
                t.case(False, f"one mean and std were used for all channels ({label}); compute "
                              "them per channel (reduce over every axis but the last).")
            else:
                t.array(arr, want, f"x_{split} standardized ({label})", rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------------------- q2
def _split_labels():
    rng = np.random.default_rng(81)
    balanced = rng.permutation(np.repeat(np.arange(10), 50))
    skewed = rng.permutation(np.repeat(np.arange(4), [400, 80, 20, 6]))
    return [("10 balanced classes of 50", balanced, 0.2, 0.2),
            ("4 classes of 400, 80, 20 and 6", skewed, 0.1, 0.25)]


def _index_parts(t, out, n: int, label: str) -> list[np.ndarray]:
    parts = _parts(t, out, 3, "stratified_split", "train, val and test indices")
    arrays = []
    for name, part in zip(("train", "val", "test"), parts):
        arr = t.numbers(part, f"{name} indices")
        if arr.ndim != 1 or arr.dtype.kind == "b":
            t.fail(f"the {name} indices should be a 1-D array of positions ({label}), but got "
                   f"{arr.ndim}-D values of type {arr.dtype}.")
        if arr.dtype.kind == "f" and not np.array_equal(arr, np.round(arr)):
            t.fail(f"the {name} indices hold numbers that are not whole ({label}): return "
                   "positions into `y`.")
        if arr.size and (arr.min() < 0 or arr.max() >= n):
            t.fail(f"the {name} indices are outside 0..{n - 1} ({label}): return positions "
                   "into `y`, not labels.")
        arrays.append(arr.astype(np.int64))
    return arrays


@question(names=["stratified_split"], hints=[
    "Work class by class: take the positions of one class with `np.flatnonzero(y == c)`, "
    "shuffle them with a generator made from the seed, cut them into three pieces.",
    "For a class with `n` examples, round `test_frac * n` and `val_frac * n` to get how many of "
    "them go to test and to validation; the rest is training.",
    "Use `rng = np.random.default_rng(seed)` once, concatenate the pieces of all classes per "
    "split, and return three integer arrays of positions.",
])
def q2(t, stratified_split):
    """stratified train/validation/test split: disjoint, complete, stratified, seeded"""
    for label, y, val_frac, test_frac in _split_labels():
        n = len(y)
        train, val, test = _index_parts(
            t, t.call(stratified_split, y, val_frac, test_frac, 0, where=label), n, label)
        joined = np.concatenate([train, val, test])
        t.case(len(np.unique(joined)) == len(joined),
               f"some index appears twice, within one split or in two splits ({label}): the "
               "splits must be disjoint.")
        t.case(np.array_equal(np.unique(joined), np.arange(n)),
               f"the three splits together do not cover every example exactly once ({label}).")
        for name, part, frac in (("val", val, val_frac), ("test", test, test_frac)):
            counts, ideal = np.bincount(y[part], minlength=y.max() + 1), frac * np.bincount(y)
            worst = int(np.argmax(np.abs(counts - ideal)))
            t.case(np.all(np.abs(counts - ideal) < 1.5),
                   f"the {name} split is not stratified ({label}): class {worst} has "
                   f"{counts[worst]} examples there, not about {name}_frac of that class.")
        again = _index_parts(t, t.call(stratified_split, y, val_frac, test_frac, 0, where=label),
                             n, label)
        t.case(all(np.array_equal(a, b) for a, b in zip((train, val, test), again)),
               f"two calls with the same seed gave different splits ({label}): draw every random "
               "number from `np.random.default_rng(seed)`.")
        other = _index_parts(t, t.call(stratified_split, y, val_frac, test_frac, 1, where=label),
                             n, label)
        t.case(not np.array_equal(np.sort(test), np.sort(other[2])),
               f"seeds 0 and 1 gave the same test set ({label}): shuffle the examples of each "
               "class before cutting, or the split just takes the first ones in file order.")


# --------------------------------------------------------------------------------------- q3
def _epoch(t, ds, label: str):
    """All (images, labels) batches of one pass, as NumPy arrays."""
    try:
        elements = [tuple(np.asarray(part) for part in element) for element in ds]
    except Exception as exc:
        t.fail(f"iterating over your dataset raised {type(exc).__name__}: {str(exc)[:150]} "
               f"({label}).")
    if not elements:
        t.fail(f"the dataset is empty ({label}).")
    if any(len(element) != 2 for element in elements):
        t.fail(f"the dataset should yield (images, labels) pairs ({label}).")
    if any(e[0].ndim != 4 or e[1].ndim < 1 or len(e[1]) != len(e[0]) for e in elements):
        t.fail(f"each element should be a batch: images of shape (B, H, W, 1) with B labels "
               f"({label}).")
    return [e[0] for e in elements], [e[1] for e in elements]


@question(names=["make_dataset"], hints=[
    "Start from `tf.data.Dataset.from_tensor_slices((x, y))` so that each image stays with its "
    "label, and convert the images with `.map(...)`: float32, divided by 255, a channel axis.",
    "Order matters: `.cache()` before `.shuffle(...)` (a cache after the shuffle would store and "
    "replay the first epoch's order), and `.shuffle(...)` before `.batch(...)` (else only whole "
    "batches are shuffled).",
    "Use a shuffle buffer as large as the dataset (`len(x)`), shuffle only when `training` is "
    "True, and finish with `.prefetch(tf.data.AUTOTUNE)`.",
])
def q3(t, make_dataset):
    """a tf.data input pipeline: map, cache, shuffle, batch, prefetch"""
    rng = np.random.default_rng(83)
    n, batch = 200, 32
    x = rng.integers(0, 256, size=(n, 6, 5)).astype(np.uint8)
    y = np.arange(n)
    for training in (False, True):
        label = f"training={training}"
        ds = t.call(make_dataset, x, y, batch, training, where=f"200 images of 6x5, {label}")
        if not is_a(ds, tf.data.Dataset):
            t.fail(f"`make_dataset` should return a tf.data.Dataset, not a {type_name(ds)}.")
        spec = ds.element_spec
        if not isinstance(spec, tuple) or len(spec) != 2 or not all(
                isinstance(part, tf.TensorSpec) for part in spec):
            t.fail(f"the dataset should yield (images, labels) pairs ({label}).")
        t.case(spec[0].dtype == tf.float32,
               f"the images come out as {spec[0].dtype.name}, not float32 ({label}).")
        t.case(spec[0].shape.as_list()[1:] == [6, 5, 1],
               f"each image should have shape (H, W, 1) with a channel axis; got "
               f"{spec[0].shape.as_list()[1:]} for 6x5 inputs ({label}).")
        t.case("Prefetch" in type_name(ds),
               f"the last step of the pipeline should be `.prefetch(...)` ({label}).")
        epochs = [_epoch(t, ds, label) for _ in range(2)]
        sizes = sorted((len(b) for b in epochs[0][1]), reverse=True)
        t.case(sizes == [batch] * (n // batch) + ([n % batch] if n % batch else []),
               f"batches have sizes {sizes[:3]}... ({label}); expected batches of batch_size, "
               "keeping the last, smaller one.")
        orders = []
        for images, labels in epochs:
            order = np.concatenate(labels).astype(np.int64).ravel()
            if sorted(order.tolist()) != list(range(n)):
                t.fail(f"one pass over the dataset does not give every example exactly once "
                       f"({label}).")
            got = np.concatenate(images)
            t.case(_same(got, x[order][..., None] / 255.0, rtol=0, atol=1e-6),
                   f"the images are not the inputs scaled to [0, 1] next to their own labels "
                   f"({label}): convert with a map on (image, label) pairs.")
            orders.append(order)
        if not training:
            t.case(np.array_equal(orders[0], y),
                   "with training=False the examples should stay in their original order "
                   "(no shuffling for validation or test data).")
            continue
        if np.array_equal(orders[0], y):
            t.fail("with training=True the examples come out in their original order: shuffle "
                   "the training data.")
        if np.array_equal(orders[0], orders[1]):
            t.fail("two epochs with training=True came out in the same order: shuffle after "
                   "`.cache()`, so that each epoch gets a new order.")
        groups = [{frozenset(b.ravel().tolist()) for b in labels} for _, labels in epochs]
        t.case(groups[0] != groups[1],
               "the same examples are batched together in both epochs: shuffle the examples "
               "before `.batch(...)`, not the batches after it.")
        # Judged only when single examples are shuffled: when whole batches are, the case
        # above already failed, and which batch comes first is a random draw.
        first = np.concatenate([labels[0].ravel() for _, labels in epochs])
        t.case(groups[0] == groups[1] or first.max() >= 0.7 * n,
               "the first batches of an epoch only hold examples from the start of the data: "
               "the shuffle buffer is too small; use one as large as the dataset.")


# --------------------------------------------------------------------------------------- q4
def _noise_cases():
    rng = np.random.default_rng(84)
    return [("64 grayscale images 28x28x1, amount 0.1",
             rng.uniform(0.05, 0.95, size=(64, 28, 28, 1)).astype(np.float32), 0.1),
            ("32 colour images 10x12x3, amount 0.3",
             rng.uniform(0.05, 0.95, size=(32, 10, 12, 3)).astype(np.float32), 0.3)]


@question(names=["salt_and_pepper"], hints=[
    "Draw one uniform random number per value with `rng = np.random.default_rng(seed)`; values "
    "whose number is below `amount` get replaced.",
    "Of the replaced values, about half become 0.0 (pepper) and half 1.0 (salt): a second "
    "random draw, or a comparison with `amount / 2`, decides which.",
    "Work on a copy (`out = images.copy()`), use boolean masks (`out[mask] = 1.0`), and return "
    "an array of the same shape and dtype as the input.",
])
def q4(t, salt_and_pepper):
    """salt-and-pepper noise: fraction, 0/1 values, untouched elsewhere, seeded"""
    for label, images, amount in _noise_cases():
        original = images.copy()
        out = t.numbers(t.call(salt_and_pepper, images, amount, 0, where=label), "noisy images")
        if out.shape != images.shape:
            t.fail(f"the noisy images have shape {out.shape}, not the input shape {images.shape} "
                   f"({label}).")
        _unchanged(t, [original], [images], "salt_and_pepper", label)
        t.case(out.dtype == images.dtype, f"the noisy images are of type {out.dtype}, not of the "
                                          f"input's type {images.dtype} ({label}).")
        changed = out != original
        fraction = changed.mean()
        t.case(abs(fraction - amount) < 0.02,
               f"{fraction:.3f} of the values were changed instead of about `amount` ({label}).")
        if images.shape[-1] > 1:
            # independent draws change all 3 channels of a pixel together with probability
            # amount ** 3 (0.027 for 0.3); one draw per pixel changes them together always
            together = changed.all(axis=-1).mean()
            t.case(together < amount ** 3 + (amount - amount ** 3) / 3,
                   f"the channels of a pixel are changed together ({label}): every value, "
                   "channel by channel, needs its own random draw.")
        t.case(np.all(np.isin(out[changed], (0.0, 1.0))),
               f"changed values must be exactly 0.0 (pepper) or 1.0 (salt) ({label}).")
        salt = (out[changed] == 1.0).mean() if changed.any() else 0.0
        t.case(0.4 < salt < 0.6,
               f"{salt:.2f} of the replaced values are salt (1.0) ({label}); about half should "
               "be salt and half pepper (0.0).")
        again = t.numbers(t.call(salt_and_pepper, images, amount, 0, where=label), "noisy images")
        other = t.numbers(t.call(salt_and_pepper, images, amount, 1, where=label), "noisy images")
        t.case(np.array_equal(out, again),
               f"two calls with the same seed gave different noise ({label}): use "
               "`np.random.default_rng(seed)`, not the global random state.")
        t.case(not np.array_equal(out, other),
               f"seeds 0 and 1 gave the same noise ({label}): the seed must be used.")
    images = _noise_cases()[0][1]
    out = t.numbers(t.call(salt_and_pepper, images, 0.0, 0, where="amount 0"), "noisy images")
    t.case(np.array_equal(out, images), "with amount 0 the images must come back unchanged.")


# --------------------------------------------------------------------------------------- q5
def _batch(seed: int, n: int, shape: tuple, classes: int, dtype):
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 255, size=(n,) + shape).astype(dtype)
    labels = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, size=n)]
    return rng, images, labels


def _mix_cases():
    rng, gray, gray_labels = _batch(85, 8, (28, 28, 1), 10, np.uint8)
    gray_lam = rng.uniform(0, 1, size=8).astype(np.float32)
    _, colour, colour_labels = _batch(86, 5, (6, 9, 3), 4, np.float32)
    colour_lam = np.array([0.0, 1.0, 0.3, 0.75, 0.5], dtype=np.float32)
    return [("8 uint8 images 28x28x1, 10 classes", gray, gray_labels, gray_lam,
             rng.permutation(8)),
            ("5 float32 images 6x9x3, lam 0 and 1 included", colour, colour_labels, colour_lam,
             np.array([1, 0, 2, 4, 3]))]


def _keras_mix(layer, images, labels, transformation):
    return (np.asarray(layer.transform_images(images, transformation)),
            np.asarray(layer.transform_labels(labels, transformation)))


@question(names=["mixup"], hints=[
    "Example i is blended with example `partner[i]`: `lam[i]` of its own pixels plus "
    "`1 - lam[i]` of the partner's pixels.",
    "`lam` has one value per example; reshape it to `(N, 1, 1, 1)` for the images and `(N, 1)` "
    "for the labels so that broadcasting works. `images[partner]` reorders a whole batch.",
    "Convert the images to float32 first (uint8 arithmetic wraps around), and mix the labels "
    "with exactly the same weights as the pixels.",
])
def q5(t, mixup):
    """MixUp: pixels and labels blended with the same weight"""
    layer = keras.layers.MixUp()
    for label, images, labels, lam, partner in _mix_cases():
        originals = [images.copy(), labels.copy()]
        out = t.call(mixup, images, labels, lam, partner, where=label)
        got_images, got_labels = _parts(t, out, 2, "mixup", "mixed images and mixed labels")
        _unchanged(t, originals, (images, labels), "mixup", label)
        want_images, want_labels = _keras_mix(
            layer, images, labels, {"mix_weight": lam, "permutation_order": partner})
        got_images = t.numbers(got_images, "mixed images")
        if got_images.dtype == np.uint8:
            t.case(False, f"the mixed images are uint8 ({label}): convert to float32 before "
                          "blending.")
        elif _float32(t, got_images, "the mixed images", label):
            t.array(got_images, want_images, f"mixed images ({label})", rtol=1e-4, atol=1e-3)
        swapped = lam[:, None] * labels[partner] + (1 - lam[:, None]) * labels
        if _same(got_labels, swapped) and not _same(got_labels, want_labels):
            t.case(False, f"the labels are mixed with swapped weights ({label}): example i keeps "
                          "`lam[i]` of its own label, as it keeps `lam[i]` of its own pixels.")
        elif _same(got_labels, labels) and not _same(got_labels, want_labels):
            t.case(False, f"the labels were not mixed ({label}): a blended image needs a blended "
                          "label with the same weights.")
        else:
            t.array(got_labels, want_labels, f"mixed labels ({label})", rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------------------- q6
def _box_mask(boxes, height: int, width: int, channels: int) -> np.ndarray:
    rows, cols = np.arange(height)[:, None], np.arange(width)[None, :]
    masks = []
    for cy, cx, h, w in boxes:
        top, left = cy - h // 2, cx - w // 2
        inside = (rows >= top) & (rows < top + h) & (cols >= left) & (cols < left + w)
        masks.append(np.repeat(inside[:, :, None], channels, axis=2))
    return np.stack(masks)


def _cut_cases():
    _, gray, gray_labels = _batch(87, 4, (28, 28, 1), 10, np.uint8)
    _, colour, colour_labels = _batch(88, 5, (10, 16, 3), 3, np.float32)
    return [("4 uint8 images 28x28x1, boxes inside the image", gray, gray_labels,
             np.array([[14, 14, 10, 10], [8, 20, 6, 12], [10, 5, 9, 3], [20, 20, 1, 1]]),
             np.array([1, 2, 3, 0])),
            ("5 float32 images 10x16x3 (non-square), boxes crossing the border or empty",
             colour, colour_labels,
             np.array([[0, 0, 6, 8], [9, 15, 4, 4], [5, 8, 3, 14], [5, 8, 0, 5], [2, 14, 12, 6]]),
             np.array([4, 0, 3, 1, 2]))]


@question(names=["cutmix"], hints=[
    "Row range of the box: from `cy - h // 2` to `cy - h // 2 + h` (end excluded), then clip "
    "both ends into 0..H; columns likewise with `cx`, `w` and W.",
    "Inside the clipped box, the pixels come from `images[partner[i]]`; outside they stay. The "
    "label weight of the partner is the box's share of the image: clipped area / (H * W).",
    "Compute the area after clipping: a box that hangs over the border pastes fewer pixels, "
    "so the partner's label gets a smaller weight. Convert images to float32.",
])
def q6(t, cutmix):
    """CutMix: a box pasted from a partner, labels mixed by the pasted area"""
    layer = keras.layers.CutMix()
    for label, images, labels, boxes, partner in _cut_cases():
        originals = [images.copy(), labels.copy()]
        out = t.call(cutmix, images, labels, boxes, partner, where=label)
        got_images, got_labels = _parts(t, out, 2, "cutmix", "mixed images and mixed labels")
        _unchanged(t, originals, (images, labels), "cutmix", label)
        n, height, width, channels = images.shape
        masks = _box_mask(boxes, height, width, channels)
        area = masks[..., 0].mean(axis=(1, 2)).astype(np.float32)
        want_images, want_labels = _keras_mix(
            layer, images, labels,
            {"permutation_order": partner, "batch_masks": masks, "mix_weight": 1.0 - area})
        got_images = t.numbers(got_images, "mixed images")
        swapped = _box_mask(boxes[:, [1, 0, 3, 2]], height, width, channels)
        if not _float32(t, got_images, "the mixed images", label):
            pass
        elif height != width and _same(got_images, np.where(swapped, images[partner], images)):
            t.case(False, f"rows and columns are swapped ({label}): `cy` and `h` go along the "
                          "height (axis 1), `cx` and `w` along the width (axis 2).")
        else:
            t.array(got_images, want_images, f"mixed images ({label})", rtol=1e-4, atol=1e-3)
        raw = (boxes[:, 2] * boxes[:, 3] / (height * width)).astype(np.float32)[:, None]
        unclipped = (1 - raw) * labels + raw * labels[partner]
        if _same(got_labels, unclipped) and not _same(got_labels, want_labels):
            t.case(False, f"the label weights use the box area before clipping ({label}): only "
                          "the pixels inside the image are pasted, so count those.")
        else:
            t.array(got_labels, want_labels, f"mixed labels ({label})", rtol=1e-4, atol=1e-5)
