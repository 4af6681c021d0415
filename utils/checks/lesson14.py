"""Checks of lesson 14: what a CNN learns (feature maps, translation, attribution, shortcuts).

The student's functions run on small Keras models built here with fixed random weights. Several
of them read only one region of the image (a ``Cropping2D`` followed by a ``ZeroPadding2D``), so
that every attribution method must be zero outside that region. Every expected value comes from
``tf.GradientTape`` and forward passes of the same model at check time: saliency, Grad-CAM (with
``tf.image.resize``, bilinear), occlusion drops, feature maps through a multi-output model, and a
reference gradient ascent whose gain the student's ascent must reach.
"""
from __future__ import annotations

import numpy as np

from .compare import as_array
from .core import question

BEHAVIOURS = ("equivariant", "invariant", "neither")
# The five model / shift pairs of exercise 2: (key, builder tag, dy, dx).
SHIFT_CASES = (("conv", "conv", 2, 1), ("conv_pool_even", "pool", 2, 2),
               ("conv_pool_odd", "pool", 1, 0), ("global_max", "global", 3, -2),
               ("flatten_dense", "dense", 2, 1))
ASCENT_SHARE = 0.9   # share of the reference ascent's gain the student's ascent must reach


# ----------------------------------------------------------------------------- helpers
def _chain(shape, stack):
    """A functional model applying ``stack`` in turn. (Functional rather than Sequential: a
    Sequential model loaded from a .keras file, as the grader does, has layers with several call
    nodes, and ``layer.output`` may then not lie on the path to ``model.output``.)"""
    import keras

    inputs = keras.Input(shape)
    x = inputs
    for layer in stack:
        x = layer(x)
    return keras.Model(inputs, x)


def _randomize(model, seed: int, scale: float = 0.5):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, scale, w.shape).astype(np.float32)
                       for w in model.get_weights()])
    return model


def _region_model(shape, crop, n_classes: int, seed: int):
    """A CNN whose output depends only on the pixels left by ``crop`` ((top, bottom), (left,
    right)): the rest is cut away and replaced by zeros before the first convolution."""
    from keras import layers

    model = _chain(shape, [
        layers.Cropping2D(crop, name="crop"),
        layers.ZeroPadding2D(crop, name="pad"),
        layers.Conv2D(5, 3, padding="same", use_bias=False, activation="relu", name="last_conv"),
        layers.GlobalAveragePooling2D(name="gap"),
        layers.Dense(n_classes, name="logits")])
    return _randomize(model, seed)


def _small_cnn(shape, n_classes: int, seed: int, head: str = "gap"):
    """Conv -> pool -> conv -> GAP (or Flatten) -> Dense logits, random weights."""
    from keras import layers

    model = _chain(shape, [
        layers.Conv2D(4, 3, padding="same", activation="relu", name="conv_a"),
        layers.MaxPooling2D(2, name="pool_a"),
        layers.Conv2D(6, 3, padding="same", activation="relu", name="conv_b"),
        layers.GlobalAveragePooling2D(name="gap") if head == "gap" else layers.Flatten(name="flat"),
        layers.Dense(n_classes, name="logits")])
    return _randomize(model, seed)


def _image(shape, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def _scores(model, batch) -> np.ndarray:
    return np.asarray(model(np.asarray(batch, np.float32), training=False))


def _map(t, value, name: str, shape) -> np.ndarray:
    """An answer that must be a finite array of numbers of ``shape``."""
    arr, problem = as_array(value, name)
    if problem:
        t.fail(problem)
    if arr.shape != tuple(shape):
        t.fail(f"`{name}` has shape {arr.shape}; it should have shape {tuple(shape)}.")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        t.fail(f"`{name}` contains NaN or infinity.")
    return arr.astype(np.float64)


def _close(a, b, rtol=1e-4, atol=1e-5) -> bool:
    return np.allclose(a, b, rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------- q1
def _probe_model():
    from keras import layers

    model = _chain((12, 10, 2), [
        layers.Conv2D(4, 3, name="conv_a"),
        layers.ReLU(name="relu_a"),
        layers.MaxPooling2D(2, name="pool_a"),
        layers.Conv2D(6, 3, padding="same", name="conv_b"),
        layers.GlobalAveragePooling2D(name="gap"),
        layers.Dense(3, name="logits")])
    return _randomize(model, 1401)


@question(names=["feature_maps"], hints=[
    "Build one model with several outputs that shares the layers: "
    "`keras.Model(model.input, {n: model.get_layer(n).output for n in layer_names})` (a dict of outputs comes back as a dict, even for one name).",
    "Call it on a batch of one image, `probe(image[None])`: every output has shape "
    "(1, height, width, channels).",
    "Return a dict `{name: maps[0]}` (drop the batch axis), one entry per name of `layer_names`."])
def q1(t, feature_maps):
    """the feature maps of one image at several layers"""
    import keras

    model = _probe_model()
    image = _image((12, 10, 2), 1402)
    for names in (["pool_a", "conv_a", "conv_b"], ["relu_a"]):
        where = f"layer_names={names}"
        out = t.call(feature_maps, model, image.copy(), list(names), where=where)
        if not isinstance(out, dict):
            t.fail(f"`feature_maps(model, image, {names})` returned a {type(out).__name__}; it "
                   "should return a dict from each layer name to its maps.")
        if sorted(map(str, out)) != sorted(names):
            t.fail(f"with {where} the dict has the keys {sorted(map(str, out))}; it should have "
                   "exactly the names asked for.")
        for name in names:
            probe = keras.Model(model.input, model.get_layer(name).output)
            expected = np.asarray(probe(image[None]))[0]
            got, problem = as_array(out[name], f"feature_maps(...)['{name}']")
            if problem is None and got.shape == (1,) + expected.shape:
                t.fail(f"`feature_maps(...)['{name}']` still has the batch axis (shape "
                       f"{got.shape}); return the maps of the one image, (height, width, channels).")
            if problem is None and len(names) == 1 and got.shape == expected.shape[1:]:
                t.fail(f"with {where} the maps have lost their first axis: a model built with a "
                       "list of ONE output returns a tensor, not a list, so looping over it walks "
                       "the batch. Use a dict of outputs, or handle one name on its own.")
            t.array(out[name], expected, f"feature_maps(...)['{name}'] with {where}",
                    rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------- q2
def reference_shift(images, dy: int, dx: int) -> np.ndarray:
    """Move a batch (N, H, W, C) down by dy rows and right by dx columns, filling with zeros."""
    x = np.asarray(images)
    out = np.zeros_like(x)
    h, w = x.shape[1:3]
    if abs(dy) >= h or abs(dx) >= w:
        return out
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        x[:, max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def shift_model(kind: str, seed: int = 0):
    """The models of exercise 2: two bias-free 3x3 convolutions, then nothing ('conv'), a 2x2 max
    pooling ('pool'), a global max pooling ('global') or Flatten + Dense ('dense')."""
    from keras import layers

    stack = [layers.Conv2D(4, 3, padding="same", use_bias=False, activation="relu"),
             layers.Conv2D(4, 3, padding="same", use_bias=False, activation="relu")]
    stack += {"conv": [], "pool": [layers.MaxPooling2D(2)],
              "global": [layers.GlobalMaxPooling2D()],
              "dense": [layers.Flatten(), layers.Dense(3, use_bias=False)]}[kind]
    return _randomize(_chain((20, 20, 1), stack), seed)


def centred_object(seed: int = 0) -> np.ndarray:
    """A 20x20 image, zero except a random 6x6 'object' in the middle: shape (1, 20, 20, 1)."""
    x = np.zeros((1, 20, 20, 1), np.float32)
    x[0, 7:13, 7:13, 0] = np.random.default_rng(seed).random((6, 6)) + 0.2
    return x


def behaviour(kind: str, dy: int, dx: int, seed: int = 0) -> str:
    """What the model of ``kind`` does with a shift of (dy, dx), measured on a centred object."""
    model = shift_model(kind, seed)
    x = centred_object(seed)
    before, after = _scores(model, x), _scores(model, reference_shift(x, dy, dx))
    if before.ndim == 4:
        factor = x.shape[1] // before.shape[1]
        if dy % factor == 0 and dx % factor == 0 and _close(
                after, reference_shift(before, dy // factor, dx // factor)):
            return "equivariant"
    if _close(after, before):
        return "invariant"
    return "neither"


@question(names=["shift", "shift_behaviour"], hints=[
    "`shift`: start from `np.zeros_like(images)` and copy a slice: for dy >= 0 the rows "
    "`0 .. H-dy-1` of the input land on the rows `dy .. H-1` of the output (and the other way "
    "round for dy < 0); the same for the columns with dx. No `np.roll`: nothing wraps around.",
    "A convolution commutes with a shift. A 2x2 pooling keeps that only for shifts that it can "
    "express on its smaller grid (multiples of 2). A global pooling forgets where things are. "
    "Flatten + Dense gives every position its own weight.",
    "The values are the strings 'equivariant', 'invariant' or 'neither'; run the measuring cell "
    "below the exercise with your `shift` to test your predictions."])
def q2(t, shift, shift_behaviour):
    """translation: shift an image, predict equivariance or invariance"""
    rng = np.random.default_rng(1403)
    for shape, dy, dx in [((2, 6, 7, 3), 2, 1), ((1, 5, 8, 1), -1, 3), ((3, 6, 6, 2), 0, -4),
                          ((1, 4, 5, 1), 0, 0)]:
        x = rng.random(shape).astype(np.float32)
        original = x.copy()
        where = f"a batch {shape} shifted by dy={dy}, dx={dx}"
        out = t.call(shift, x, dy, dx, where=where)
        expected = reference_shift(original, dy, dx)
        arr, problem = as_array(out, f"shift(images, {dy}, {dx})")
        wrapped = problem is None and arr.shape == x.shape and \
            _close(arr, np.roll(original, (dy, dx), axis=(1, 2)), 0, 0) and (dy or dx)
        if wrapped:
            t.case(False, f"on {where} the pixels pushed out at one edge come back at the other "
                          "(np.roll); the vacated rows and columns must be zeros.")
        else:
            t.array(out, expected, f"shift(images, dy={dy}, dx={dx}) on a batch {shape}", 0, 1e-6)
        t.case(np.array_equal(x, original), f"`shift` changed its input in place on {where}.")

    if not isinstance(shift_behaviour, dict):
        t.fail("`shift_behaviour` should be a dict from each model's name to 'equivariant', "
               f"'invariant' or 'neither', not a {type(shift_behaviour).__name__}.")
    keys = [key for key, *_ in SHIFT_CASES]
    missing = [k for k in keys if k not in shift_behaviour]
    if missing:
        t.fail(f"`shift_behaviour` has no entry for {missing}; it needs one for each of {keys}.")
    for key, kind, dy, dx in SHIFT_CASES:
        answer = shift_behaviour[key]
        if not isinstance(answer, str) or answer.strip().lower() not in BEHAVIOURS:
            t.case(False, f"shift_behaviour['{key}'] should be one of {list(BEHAVIOURS)}.")
            continue
        t.case(answer.strip().lower() == behaviour(kind, dy, dx),
               f"shift_behaviour['{key}'] is not what the model does with a shift of "
               f"(dy={dy}, dx={dx}); measure it with the cell below the exercise.")


# ----------------------------------------------------------------------------- q3
def input_gradient(model, image, class_index: int, probabilities: bool = False) -> np.ndarray:
    """d score / d image for one image (H, W, C): the logit, or the softmax probability."""
    import tensorflow as tf

    x = tf.constant(np.asarray(image, np.float32)[None])
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = model(x, training=False)
        if probabilities:
            out = tf.nn.softmax(out)
        score = out[0, class_index]
    return tape.gradient(score, x).numpy()[0]


def reference_saliency(model, image, class_index: int) -> np.ndarray:
    return np.abs(input_gradient(model, image, class_index)).max(axis=-1)


@question(names=["saliency"], hints=[
    "Make the image a batch of one tensor, `x = tf.constant(image[None])`, and inside "
    "`with tf.GradientTape() as tape:` call `tape.watch(x)` and compute "
    "`score = model(x)[0, class_index]`.",
    "The models output logits: differentiate the logit itself, not a softmax of it. "
    "`tape.gradient(score, x)[0]` has the shape of the image (H, W, C).",
    "Take the absolute value, then the maximum over the channel axis (`axis=-1`): the result has "
    "shape (H, W)."])
def q3(t, saliency):
    """vanilla gradient saliency of the class logit"""
    cases = [("a model that reads only rows 2-5 and columns 5-8 of a 10x12 RGB image",
              _region_model((10, 12, 3), ((2, 4), (5, 3)), 3, 1404), _image((10, 12, 3), 1405), 2),
             ("a small CNN on a 12x9 grey image", _small_cnn((12, 9, 1), 4, 1406),
              _image((12, 9, 1), 1407), 1),
             ("a small CNN on an 8x8 image with 2 channels", _small_cnn((8, 8, 2), 3, 1408),
              _image((8, 8, 2), 1409), 0)]
    for name, model, image, c in cases:
        grad = input_gradient(model, image, c)
        expected = np.abs(grad).max(axis=-1)
        out = t.call(saliency, model, image.copy(), c, where=name)
        got = _map(t, out, f"saliency on {name}", image.shape[:2])
        ok = _close(got, expected, 1e-3, 1e-6)
        mistake = None if ok else t.mistake(got, [
            (np.abs(input_gradient(model, image, c, probabilities=True)).max(axis=-1),
             "it is the gradient of the softmax probability; use the logit the model outputs"),
            (grad.max(axis=-1), "the absolute value is missing (take |gradient| before the max)"),
            (np.abs(grad).sum(axis=-1), "it sums the channels; take the maximum over channels"),
            (np.abs(grad).mean(axis=-1), "it averages the channels; take the maximum over them")])
        t.case(ok, f"saliency on {name} is wrong" + (f": {mistake}." if mistake else "."))


# ----------------------------------------------------------------------------- q4
def cam_parts(model, image, class_index: int, layer_name: str, probabilities: bool = False):
    """(maps A of shape (h, w, K), gradient dS/dA of the same shape) for one image."""
    import keras
    import tensorflow as tf

    probe = keras.Model(model.input, [model.get_layer(layer_name).output, model.output])
    x = tf.constant(np.asarray(image, np.float32)[None])
    with tf.GradientTape() as tape:
        maps, out = probe(x, training=False)
        if probabilities:
            out = tf.nn.softmax(out)
        score = out[0, class_index]
    return maps.numpy()[0], tape.gradient(score, maps).numpy()[0]


def _upsample(cam, size, method="bilinear") -> np.ndarray:
    import tensorflow as tf

    return tf.image.resize(np.asarray(cam, np.float32)[..., None], size, method=method).numpy()[..., 0]


def reference_grad_cam(model, image, class_index: int, layer_name: str, relu: bool = True):
    maps, grads = cam_parts(model, image, class_index, layer_name)
    cam = (maps * grads.mean(axis=(0, 1))).sum(axis=-1)
    return _upsample(np.maximum(cam, 0) if relu else cam, np.shape(image)[:2])


@question(names=["grad_cam"], hints=[
    "One model with two outputs gives the maps and the logits in one pass: "
    "`keras.Model(model.input, [model.get_layer(layer_name).output, model.output])`; compute "
    "both inside the tape and take `tape.gradient(score, maps)`.",
    "The channel weights are the MEAN of the gradient over the spatial positions "
    "(`tf.reduce_mean(grads, axis=(0, 1))` for one image); the map is the weighted sum of the "
    "channels, then `tf.nn.relu` only when `relu=True`.",
    "Upsample last, exactly like this: `tf.image.resize(cam[..., None], image.shape[:2], "
    "method='bilinear')[..., 0]`; do not normalise the map."])
def q4(t, grad_cam):
    """Grad-CAM on a chosen convolution layer"""
    cases = [("a small CNN on a 12x12 RGB image, layer 'conv_b' (6x6 maps)",
              _small_cnn((12, 12, 3), 3, 1410), _image((12, 12, 3), 1411), 1, "conv_b"),
             ("a small CNN with a Flatten head on a 12x16 grey image, layer 'conv_b' (6x8 maps)",
              _small_cnn((12, 16, 1), 4, 1412, head="flatten"), _image((12, 16, 1), 1413), 3, "conv_b"),
             ("a small CNN on a 10x10 image, layer 'conv_a' (full resolution)",
              _small_cnn((10, 10, 2), 3, 1414), _image((10, 10, 2), 1415), 0, "conv_a"),
             ("a model that reads only rows 2-5 and columns 5-8 of a 10x12 image",
              _region_model((10, 12, 3), ((2, 4), (5, 3)), 3, 1416), _image((10, 12, 3), 1417),
              1, "last_conv")]
    for name, model, image, c, layer in cases:
        maps, grads = cam_parts(model, image, c, layer)
        size = image.shape[:2]
        raw = (maps * grads.mean(axis=(0, 1))).sum(axis=-1)
        wrong = [
            (_upsample(np.maximum((maps * grads.sum(axis=(0, 1))).sum(axis=-1), 0), size),
             "the channel weights are sums of the gradient, not means over the positions"),
            (_upsample(np.maximum(raw, 0), size, "nearest"),
             "it is upsampled with nearest neighbours, not bilinear"),
            (_upsample(np.abs(raw), size), "it takes the absolute value instead of the ReLU"),
            (_upsample(raw, size), "the ReLU is missing"),
            (_upsample(np.maximum((maps * grads).sum(axis=-1), 0), size),
             "it weights every position by its own gradient; the weights are one number per "
             "channel (the mean over positions)")]
        pm, pg = cam_parts(model, image, c, layer, probabilities=True)
        wrong.append((_upsample(np.maximum((pm * pg.mean(axis=(0, 1))).sum(axis=-1), 0), size),
                      "it uses the gradient of the softmax probability; use the logit"))
        expected = _upsample(np.maximum(raw, 0), size)
        if expected.max() > 0:
            wrong.append((expected / expected.max(), "it is normalised; return the map unscaled"))
        out = t.call(grad_cam, model, image.copy(), c, layer, where=name)
        got = _map(t, out, f"grad_cam on {name}", size)
        ok = _close(got, expected, 1e-3, 1e-5)
        mistake = None if ok else t.mistake(got, wrong, rtol=1e-4, atol=1e-6)
        t.case(ok, f"grad_cam on {name} is wrong" + (f": {mistake}." if mistake else "."))
    # relu=False: the signed map (what the ReLU removes)
    name, model, image, c, layer = cases[0]
    expected = reference_grad_cam(model, image, c, layer, relu=False)
    out = t.call(grad_cam, model, image.copy(), c, layer, relu=False,
                 where=f"{name} with relu=False")
    got = _map(t, out, f"grad_cam(..., relu=False) on {name}", image.shape[:2])
    keeps_relu = _close(got, reference_grad_cam(model, image, c, layer), 1e-3, 1e-5)
    t.case(not keeps_relu and _close(got, expected, 1e-3, 1e-5),
           f"grad_cam(..., relu=False) on {name} is wrong"
           + (": it still applies the ReLU; relu=False must keep the negative values."
              if keeps_relu else "."))


# ----------------------------------------------------------------------------- q5
def reference_occlusion(model, image, class_index, patch, stride, baseline):
    image = np.asarray(image, np.float32)
    h, w = image.shape[:2]
    rows, cols = range(0, h - patch + 1, stride), range(0, w - patch + 1, stride)
    batch = []
    for i in rows:
        for j in cols:
            covered = image.copy()
            covered[i:i + patch, j:j + patch, :] = baseline
            batch.append(covered)
    scores = _scores(model, np.stack(batch))[:, class_index].reshape(len(rows), len(cols))
    return scores, float(_scores(model, image[None])[0, class_index])


@question(names=["occlusion_map"], hints=[
    "Top-left corners: `range(0, H - patch + 1, stride)` for the rows and the same with W for the "
    "columns; the result has one entry per (row corner, column corner).",
    "For every corner copy the image, set `covered[i:i + patch, j:j + patch, :] = baseline`, and "
    "record `score(original) - score(covered)` for `class_index`, where score is the logit "
    "`model(x)[0, class_index]`.",
    "Stack all the covered copies into one batch and call the model once: it is much faster than "
    "one call per position."])
def q5(t, occlusion_map):
    """occlusion sensitivity with a patch, a stride and a baseline"""
    cases = [("a model that reads only rows 2-5 and columns 5-8 of a 10x12 image, patch 3, "
              "stride 1, baseline 0", _region_model((10, 12, 3), ((2, 4), (5, 3)), 3, 1418),
              _image((10, 12, 3), 1419), 0, 3, 1, 0.0),
             ("a small CNN on a 13x11 image, patch 4, stride 3, baseline 0.5",
              _small_cnn((13, 11, 1), 3, 1420), _image((13, 11, 1), 1421), 2, 4, 3, 0.5),
             ("a small CNN on a 9x12 image with 2 channels, patch 2, stride 2, baseline 0.3",
              _small_cnn((9, 12, 2), 4, 1422), _image((9, 12, 2), 1423), 1, 2, 2, 0.3)]
    for name, model, image, c, patch, stride, baseline in cases:
        covered, original = reference_occlusion(model, image, c, patch, stride, baseline)
        zero_covered, _ = reference_occlusion(model, image, c, patch, stride, 0.0)
        expected = original - covered
        out = t.call(occlusion_map, model, image.copy(), c, patch, stride, baseline, where=name)
        got = _map(t, out, f"occlusion_map on {name}", expected.shape)
        wrong = [(-expected, "the sign is flipped: record score(original) - score(covered)"),
                 (covered, "these are the scores of the covered images, not the drop")]
        if baseline != 0:
            wrong.append((original - zero_covered, "the patch is filled with 0, not with `baseline`"))
        ok = _close(got, expected, 1e-3, 1e-5)
        mistake = None if ok else t.mistake(got, wrong, rtol=1e-4, atol=1e-6)
        t.case(ok, f"occlusion_map on {name} is wrong" + (f": {mistake}." if mistake else "."))


# ----------------------------------------------------------------------------- q6
def _ascent_model():
    """A first layer with hand-made 3x3 kernels: channel 0 a vertical edge, channel 1 its
    negative, channel 2 a horizontal edge; then a second, random convolution."""
    from keras import layers

    model = _chain((12, 12, 1), [
        layers.Conv2D(3, 3, use_bias=False, activation="relu", name="edges"),
        layers.Conv2D(4, 3, activation="relu", name="deep"),
        layers.GlobalAveragePooling2D(name="gap"),
        layers.Dense(2, name="logits")])
    _randomize(model, 1424)
    vertical = np.array([[-1, 0, 1]] * 3, np.float32)
    kernel = np.stack([vertical, -vertical, vertical.T], axis=-1)[:, :, None, :]
    model.get_layer("edges").set_weights([kernel])
    return model


def channel_activation(model, layer_name, channel, image) -> float:
    import keras

    probe = keras.Model(model.input, model.get_layer(layer_name).output)
    return float(np.asarray(probe(np.asarray(image, np.float32)[None]))[0, ..., channel].mean())


def reference_ascent(model, layer_name, channel, start, steps, lr):
    import keras
    import tensorflow as tf

    probe = keras.Model(model.input, model.get_layer(layer_name).output)
    x = tf.Variable(np.asarray(start, np.float32)[None])
    for _ in range(steps):
        with tf.GradientTape() as tape:
            objective = tf.reduce_mean(probe(x)[..., channel])
        g = tape.gradient(objective, x)
        x.assign(tf.clip_by_value(x + lr * g / (tf.sqrt(tf.reduce_mean(g ** 2)) + 1e-8), 0, 1))
    return x.numpy()[0]


@question(names=["gradient_ascent"], hints=[
    "Keep the image in a `tf.Variable` with a batch axis, `x = tf.Variable(start[None])`, and "
    "build `probe = keras.Model(model.input, model.get_layer(layer_name).output)` once.",
    "In every step: inside the tape, `objective = tf.reduce_mean(probe(x)[..., channel])`; then "
    "`g = tape.gradient(objective, x)` and go UP the gradient: "
    "`x + lr * g / (tf.sqrt(tf.reduce_mean(g ** 2)) + 1e-8)`.",
    "Clip to [0, 1] after every step (`tf.clip_by_value`), `x.assign(...)` the result, and return "
    "`x.numpy()[0]` (shape of `start`); never write into `start` itself."])
def q6(t, gradient_ascent):
    """filter visualisation by gradient ascent"""
    model = _ascent_model()
    rng = np.random.default_rng(1425)
    start = (0.5 + 0.05 * rng.standard_normal((12, 12, 1))).astype(np.float32)
    steps, lr = 20, 0.05
    for layer, channel, what in [("edges", 0, "a vertical-edge channel"),
                                 ("edges", 2, "a horizontal-edge channel"),
                                 ("deep", 1, "a channel of the second convolution")]:
        where = f"layer '{layer}', channel {channel} ({what}), {steps} steps, lr={lr}"
        given = start.copy()
        out = t.call(gradient_ascent, model, layer, channel, given, steps, lr, where=where)
        image = _map(t, out, f"gradient_ascent on {where}", start.shape)
        t.case(np.array_equal(given, start), f"`gradient_ascent` changed `start` in place on {where}.")
        if not t.case(image.min() >= -1e-6 and image.max() <= 1 + 1e-6,
                      f"the image from {where} has pixels outside [0, 1]: clip after every step."):
            continue
        before = channel_activation(model, layer, channel, start)
        target = channel_activation(model, layer, channel,
                                    reference_ascent(model, layer, channel, start, steps, lr))
        got = channel_activation(model, layer, channel, image)
        t.case(got - before >= ASCENT_SHARE * (target - before),
               f"on {where} your image raises the channel's mean activation from {before:.3f} to "
               f"only {got:.3f}; {steps} steps of normalised gradient ASCENT on that channel raise "
               "it much more.")


# ----------------------------------------------------------------------------- q7
SHORTCUT_CASES = (((14, 12), (1, 9), 0, 1.0), ((12, 16), (10, 2), 1, -1.0),
                  ((10, 10), (7, 3), 0, 1.0))


def shortcut_case(shape, marker, class_index, sign, seed):
    """A two-class model that leans hard on one marker pixel (pushing ``class_index`` up when
    ``sign`` > 0, down when < 0) and a little on a bright central 'object'; and 8 images of
    that object, all carrying the marker, which is darker than the object."""
    from keras import layers

    h, w = shape
    model = _chain((h, w, 1), [layers.Flatten(name="flat"),
                              layers.Dense(8, activation="relu", name="hidden"),
                              layers.Dense(2, name="logits")])
    rng = np.random.default_rng(seed)
    kernel = rng.normal(0, 0.05, (h * w, 8)).astype(np.float32)
    obj = np.zeros((h, w), bool)
    obj[h // 2 - 2:h // 2 + 2, w // 2 - 2:w // 2 + 2] = True
    kernel[obj.ravel(), 1] = 0.5             # hidden unit 1 sees the object
    kernel[marker[0] * w + marker[1], 0] = 3.0   # hidden unit 0 sees the marker
    head = rng.normal(0, 0.3, (8, 2)).astype(np.float32)
    head[0, class_index], head[0, 1 - class_index] = 3.0 * sign, -3.0 * sign
    head[1, class_index], head[1, 1 - class_index] = 0.5, -0.5
    model.set_weights([kernel, np.full(8, 0.5, np.float32), head, np.zeros(2, np.float32)])
    images = rng.uniform(0, 0.3, (8, h, w, 1)).astype(np.float32)
    images[:, obj] = rng.uniform(0.9, 1.0, (8, int(obj.sum()), 1))
    images[:, marker[0], marker[1]] = 0.8
    return model, images


@question(names=["locate_shortcut"], hints=[
    "Compute the saliency of `class_index` for every image (your `saliency` from exercise 3 "
    "works) and average the maps over the images.",
    "The pixel is where the averaged map is largest: `np.unravel_index(np.argmax(mean_map), "
    "mean_map.shape)` turns the flat index into (row, column).",
    "Use the absolute value of the gradient: a pixel that pushes the class DOWN matters as much as "
    "one that pushes it up. Return `(int(row), int(col))`."])
def q7(t, locate_shortcut):
    """find the pixel a model relies on"""
    for k, (shape, marker, c, sign) in enumerate(SHORTCUT_CASES):
        model, images = shortcut_case(shape, marker, c, sign, 1426 + k)
        name = (f"{shape[0]}x{shape[1]} images, class {c}"
                + (" (the pixel pushes the class down)" if sign < 0 else ""))
        out = t.call(locate_shortcut, model, images.copy(), c, where=name)
        if isinstance(out, np.ndarray) and out.ndim == 1:
            out = out.tolist()
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            t.fail(f"`locate_shortcut` on {name} returned {type(out).__name__}"
                   + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
                   + "; it should return a pair (row, col).")
        row = t.whole(out[0], f"locate_shortcut(...)[0] on {name}")
        col = t.whole(out[1], f"locate_shortcut(...)[1] on {name}")
        swapped = (row, col) == (marker[1], marker[0])
        t.case((row, col) == tuple(marker),
               f"on {name} the model does not rely most on pixel ({row}, {col})"
               + ("; is the pair (column, row)? It should be (row, column)." if swapped else "."))
