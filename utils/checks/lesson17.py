"""Checks of lesson 17 · Transfer learning.

The student's functions run on small Keras bases built here (Conv -> BatchNorm -> ReLU blocks with
non-trivial moving statistics), so every expectation comes from the model itself: which weights
are trainable, which layers are frozen, what the optimizer's learning rate is, what a forward pass
gives, what the compiled model logs. The keras.applications checks compare with MobileNetV2 and
its own ``preprocess_input``.
"""
from __future__ import annotations

import functools

import keras
import numpy as np

from .core import question

APP_SIZE = 96  # MobileNetV2 input size used in the lesson


# ----------------------------------------------------------------------------- helpers
def tiny_base(shape=(10, 12, 1), widths=(4, 6), seed=0):
    """A small conv base like the lesson's: blocks Conv -> BatchNorm -> ReLU (-> MaxPool), BN
    moving statistics set to non-trivial values so that a change is easy to see."""
    layers = keras.layers

    rng = np.random.default_rng(seed)
    inputs = keras.Input(shape)
    x = inputs
    for block, filters in enumerate(widths, start=1):
        init = keras.initializers.GlorotUniform(seed=seed + block)
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer=init,
                          name=f"block{block}_conv")(x)
        x = layers.BatchNormalization(momentum=0.5, name=f"block{block}_bn")(x)
        x = layers.ReLU(name=f"block{block}_relu")(x)
        if block < len(widths):
            x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    base = keras.Model(inputs, x, name="tiny_base")
    for layer in base.layers:
        if isinstance(layer, layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(0.0, 0.3, n).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, n).astype("float32"))
    return base


def _bn_layers(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]


def _bn_stats(model):
    return [np.array(w) for layer in _bn_layers(model)
            for w in (layer.moving_mean.numpy(), layer.moving_variance.numpy())]


def _images(shape, n=6, seed=1):
    return np.random.default_rng(seed).uniform(0, 1, (n,) + tuple(shape)).astype("float32")


def _keras_model(t, value, call: str):
    if value is None:
        t.fail(f"`{call}` returned None: did you forget `return model`?")
    if not isinstance(value, keras.Model):
        t.fail(f"`{call}` returned a {type(value).__name__}; it should return a Keras model.")
    return value


def _model_shape(t, model, attr: str, call: str):
    try:
        return tuple(getattr(model, attr))
    except Exception:
        t.fail(f"the model from `{call}` has no single {attr.replace('_', ' ')}: "
               "build it with keras.Input(...) and keras.Model(inputs, outputs).")


def training_flag(model, layer) -> object:
    """The ``training=`` argument ``layer`` was called with inside a functional ``model``
    (read from ``model.get_config()``); ``"missing"`` if the call has none or cannot be found."""
    try:
        config = model.get_config()
    except Exception:
        return "missing"
    for entry in config.get("layers", []) if isinstance(config, dict) else []:
        if entry.get("name") == layer.name or entry.get("config", {}).get("name") == layer.name:
            for node in entry.get("inbound_nodes") or []:
                if isinstance(node, dict) and "training" in node.get("kwargs", {}):
                    return node["kwargs"]["training"]
    return "missing"


def _runs_base_in_inference(model, base, x) -> bool:
    """Unfreeze the base for a moment, run the model in training mode, see if BN statistics move."""
    was = base.trainable
    before = _bn_stats(base)
    try:
        base.trainable = True
        model(x, training=True)
        return all(np.allclose(a, b) for a, b in zip(before, _bn_stats(base)))
    finally:
        for layer, (mean, var) in zip(_bn_layers(base), zip(before[::2], before[1::2])):
            layer.moving_mean.assign(mean)
            layer.moving_variance.assign(var)
        base.trainable = was


def called_in_inference_mode(model, base, x) -> bool:
    """True if ``model`` runs ``base`` in inference mode: a functional model that calls it with
    ``training=False``, or any other model whose forward pass in training mode leaves the base's
    BatchNorm statistics alone even when the base is trainable."""
    flag = training_flag(model, base)
    if flag is False:
        return True
    if flag == "missing" and not isinstance(model, (keras.Sequential,)) and \
            type(model).__name__ != "Functional":
        return _runs_base_in_inference(model, base, x)
    return False


def inner_base(model, base):
    """The layer of ``model`` that is ``base``: the base itself, or (in the grader, where the
    model crossed as a file) the layer of the same name holding the same weights; else None."""
    for layer in getattr(model, "layers", []):
        if layer is base:
            return layer
    for layer in getattr(model, "layers", []):
        if layer.name == base.name and len(layer.weights) == len(base.weights) and all(
                np.array_equal(a, b) for a, b in zip(layer.get_weights(), base.get_weights())):
            return layer
    return None


def _head_checks(t, model, base, num_classes, call: str, flatten: bool):
    """The cases shared by q2 and q6: frozen base inside, a new softmax head on flattened (q2) or
    globally averaged (q6) feature maps."""
    t.case(base.trainable is False, f"`{call}`: the base is still trainable: it was not frozen.")
    inner = inner_base(model, base)
    t.case(inner is not None,
           f"`{call}`: the model does not use the base's own weights (was the base rebuilt or "
           "copied instead of being called on the inputs?).")
    base_ids = {id(w) for w in (inner or base).weights}
    features = int(np.prod(base.output_shape[1:])) if flatten else base.output_shape[-1]
    trainable = [tuple(w.shape) for w in model.trainable_weights]
    if any(id(w) in base_ids for w in model.trainable_weights):
        t.case(False, f"`{call}`: some of the base's weights are trainable in the new model.")
    elif len(trainable) != 2:
        t.case(False, f"`{call}`: the model has {len(trainable)} trainable weight tensors; only "
               "the new Dense layer (its kernel and its bias) should train.")
    elif trainable[0][0] != features:
        t.case(False, f"`{call}`: the new Dense layer gets {trainable[0][0]} inputs per image; " + (
            "the whole feature map is not flattened before it." if flatten else
            "the feature maps are not averaged per channel before it (GlobalAveragePooling2D "
            "gives one number per channel)."))
    else:
        t.case(trainable == [(features, num_classes), (num_classes,)],
               f"`{call}`: the trainable weights have shapes {trainable}; expected one Dense "
               f"layer with {num_classes} units.")
    try:
        probs = np.asarray(model(np.zeros((2,) + tuple(base.input_shape[1:]), "float32")))
    except Exception as exc:
        t.fail(f"`{call}`: calling the model on a batch failed ({type(exc).__name__}: "
               f"{str(exc)[:120]}).")
    t.case(probs.shape == (2, num_classes) and np.all(probs >= 0)
           and np.allclose(probs.sum(axis=1), 1.0, atol=1e-4),
           f"`{call}`: the outputs are not class probabilities (non-negative, summing to 1 per "
           "image): is there no softmax at the end?")


# ----------------------------------------------------------------------------- q1
def _reference_split(x, y, classes):
    keep = np.isin(y, classes)
    lookup = {c: i for i, c in enumerate(classes)}
    return x[keep], np.array([lookup[int(v)] for v in y[keep]], dtype=np.int64)


@question(names=["split_classes"], hints=[
    "A boolean mask `np.isin(y, classes)` picks the examples whose label is one of `classes`.",
    "The new label of an example is the POSITION of its old label in `classes`: for "
    "classes=(7, 2) old label 7 becomes 0 and old label 2 becomes 1, whatever their order.",
    "Build a lookup table `new = np.full(max(y.max(), max(classes)) + 1, -1)` (long enough for "
    "every label and every class id), set `new[list(classes)] = np.arange(len(classes))`, then "
    "index it with the kept labels: `new[y[keep]]`."])
def q1(t, split_classes):
    """keep some classes and renumber their labels 0..K-1"""
    rng = np.random.default_rng(1501)
    y = rng.integers(0, 10, 60).astype(np.uint8)
    x = rng.integers(0, 256, (60, 5, 4)).astype(np.uint8)
    cases = [((2, 4, 6), "the target classes (2, 4, 6)"),
             ((0, 1, 3, 5, 7, 8, 9), "the source classes (0, 1, 3, 5, 7, 8, 9)"),
             ((9, 2, 5), "classes (9, 2, 5), not in increasing order"),
             ((3,), "a single class (3,)")]
    for classes, where in cases:
        out = t.call(split_classes, x.copy(), y.copy(), classes, where=where)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            t.fail(f"`split_classes` should return a pair `(x_kept, y_new)`; on {where} it "
                   f"returned a {type(out).__name__}.")
        x_ref, y_ref = _reference_split(x, y, classes)
        t.array(out[0], x_ref, f"x_kept for {where}")
        labels = t.numbers(out[1], f"y_new for {where}")
        if labels.dtype.kind not in "iu":
            t.case(False, f"`y_new` for {where} has dtype {labels.dtype}; labels are integers.")
        elif (labels.shape == y_ref.shape and np.array_equal(labels, y[np.isin(y, classes)])
              and not np.array_equal(labels, y_ref)):
            t.case(False, f"`y_new` for {where} still holds the original class ids; renumber "
                   "them 0, 1, ... in the order of `classes`.")
        else:
            t.array(labels, y_ref, f"y_new for {where}")
    empty = t.call(split_classes, x.copy(), y.copy(), (10, 11), where="classes absent from y")
    ok = isinstance(empty, (tuple, list)) and len(empty) == 2
    t.case(ok and np.shape(empty[0]) == (0, 5, 4) and np.size(empty[1]) == 0,
           "`split_classes` with classes that never occur should return empty arrays "
           "(x of shape (0, H, W)), not fail or return the whole data.")


# ----------------------------------------------------------------------------- q2
@question(names=["add_new_head"], hints=[
    "Three steps: freeze (`base.trainable = False`), build a new graph on a fresh "
    "`keras.Input(shape=base.input_shape[1:])`, return `keras.Model(inputs, outputs)`.",
    "Call the base as `base(inputs, training=False)` so that it runs in inference mode, then "
    "`Flatten()`, `Dropout(0.5)` and one `Dense(num_classes, activation='softmax')`: "
    "`x = base(inputs, training=False)`, `x = layers.Flatten()(x)`, ...",
    "A `keras.Sequential([base, ...])` cannot pass `training=False`; use the functional API."])
def q2(t, add_new_head):
    """freeze a pretrained base and put a new classifier head on it"""
    for shape, widths, k in (((10, 12, 1), (4, 6), 3), ((9, 9, 2), (3, 5), 7)):
        base = tiny_base(shape, widths, seed=k)
        before = _bn_stats(base)
        where = f"a base with input {shape} and {k} classes"
        model = _keras_model(t, t.call(add_new_head, base, k, where=where), "add_new_head")
        in_shape = _model_shape(t, model, "input_shape", "add_new_head")
        out_shape = _model_shape(t, model, "output_shape", "add_new_head")
        t.case(in_shape == (None,) + shape,
               f"on {where}: the model takes inputs of shape {in_shape}; it should take the "
               "base's input shape.")
        t.case(out_shape == (None, k), f"on {where}: the model outputs shape {out_shape}; it "
               "should give one probability per class.")
        _head_checks(t, model, base, k, "add_new_head", flatten=True)
        rates = [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
        t.case(len(rates) == 1 and np.isclose(rates[0], 0.5),
               f"on {where}: the head should hold one Dropout layer with rate 0.5, not "
               + (f"rates {rates}." if rates else "none."))
        x = _images(shape)
        base = inner_base(model, base) or base   # the model's own copy, in the grader
        t.case(called_in_inference_mode(model, base, x),
               f"on {where}: the base is not called in inference mode (`training=False`) inside "
               "the model, so its BatchNorm layers may use the statistics of each batch.")
        try:
            model(x, training=True)
        except Exception:
            pass
        t.case(all(np.allclose(a, b) for a, b in zip(before, _bn_stats(base))),
               f"on {where}: a forward pass in training mode changed the base's BatchNorm "
               "moving statistics; the frozen base must not change at all.")


# ----------------------------------------------------------------------------- q3
def _expected_trainable(base, n):
    top = base.layers[len(base.layers) - n:] if n > 0 else []
    return [layer for layer in top if not isinstance(layer, keras.layers.BatchNormalization)]


@question(names=["unfreeze_top"], hints=[
    "A frozen model hides all its weights: set `base.trainable = True` first, then choose the "
    "flag of every layer in `base.layers`.",
    "`base.layers[-n:]` are the top n layers, but careful: `[-0:]` is the whole list.",
    "Leave every BatchNormalization layer frozen (`layer.trainable = False`), even in the top n: "
    "a frozen BatchNorm runs in inference mode and keeps its moving statistics."])
def q3(t, unfreeze_top):
    """unfreeze only the top N layers of the base, BatchNorm layers excepted"""
    for n in (3, 0, 1, 6, 100):
        base = tiny_base(seed=n)
        base.trainable = False
        where = f"n={n}"
        t.call(unfreeze_top, base, n, where=where)
        want = _expected_trainable(base, n)
        want_ids = {id(w) for layer in want for w in layer.weights}
        got_ids = {id(w) for w in base.trainable_weights}
        bn_open = [layer.name for layer in _bn_layers(base) if layer.trainable]
        extra = [layer.name for layer in base.layers
                 if layer.weights and layer not in want and layer.trainable and base.trainable
                 and not isinstance(layer, keras.layers.BatchNormalization)]
        missing = [layer.name for layer in want if layer.weights
                   and not all(id(w) in got_ids for w in layer.weights)]
        if want_ids and not base.trainable:
            t.case(False, f"with {where}: `base.trainable` is still False, so no weight inside it "
                   "can train.")
        elif bn_open:
            t.case(False, f"with {where}: BatchNormalization layer(s) {bn_open} are trainable; "
                   "BatchNorm layers must stay frozen.")
        elif extra:
            t.case(False, f"with {where}: layer(s) {extra} are trainable but are not among the "
                   f"top {n} layers.")
        elif missing:
            t.case(False, f"with {where}: layer(s) {missing} are among the top {n} layers but "
                   "are still frozen.")
        else:
            t.case(got_ids == want_ids, f"with {where}: the set of trainable weights is wrong.")


# ----------------------------------------------------------------------------- q4
FINE_TUNING_RATES = (1e-2, 1e-3, 1e-5)   # the three fine-tuning runs the lesson measures
DIAGNOSES = ("overfitting", "batchnorm", "too small", "too large")


@functools.lru_cache(maxsize=1)
def _fine_tuning_counts() -> dict:
    """Trainable parameters of the lesson's model (the shipped base, Flatten -> Dropout ->
    Dense(3)) after the top 4 layers of the base are unfrozen, BatchNorm kept frozen; and the
    parts a student might count instead."""
    from ..config import DATA_DIR

    layers = keras.layers
    base = keras.models.load_model(DATA_DIR / "fashion_base.keras")
    base.trainable = True
    top = base.layers[-4:]
    for layer in base.layers:
        layer.trainable = layer in top and not isinstance(layer, layers.BatchNormalization)
    inputs = keras.Input(base.input_shape[1:])
    x = layers.Dropout(0.5)(layers.Flatten()(base(inputs, training=False)))
    model = keras.Model(inputs, layers.Dense(3, activation="softmax")(x))

    def count(weights):
        return int(sum(np.prod(w.shape) for w in weights))

    head = count(model.layers[-1].weights)
    opened = count(base.trainable_weights)
    top_bn = [layer for layer in top if isinstance(layer, layers.BatchNormalization)]
    bn_scale = count([w for layer in top_bn for w in (layer.gamma, layer.beta)])
    bn_all = count([w for layer in top_bn for w in layer.weights])
    moving = count([w for layer in base.layers if isinstance(layer, layers.BatchNormalization)
                    for w in (layer.moving_mean, layer.moving_variance)])
    conv_bias = sum(layer.filters for layer in top if isinstance(layer, layers.Conv2D))
    return {"answer": count(model.trainable_weights), "head": head, "opened": opened,
            "bn_scale": bn_scale, "bn_all": bn_all, "conv_bias": conv_bias,
            "whole_base": count(base.weights) - moving}


def _measured_rate(t, value, name):
    rate = t.number(value, name)
    if not any(np.isclose(rate, r, rtol=1e-6, atol=0) for r in FINE_TUNING_RATES):
        t.fail(f"`{name}` is {rate:g}, not one of the three measured rates 1e-2, 1e-3 and 1e-5.")
    return min(FINE_TUNING_RATES, key=lambda r: abs(np.log10(rate) - np.log10(r)))


@question(names=["lr_that_destroys", "lr_that_barely_moves", "diagnosis", "trainable_after"],
          hints=[
    "Read the left panel right after the dashed line: chance for three classes is 1/3. The "
    "printed relative change of block3_conv's kernel says how far each rate moved the weights.",
    "Compare each run's training loss in its first fine-tuning epoch (right panel) with where "
    "feature extraction ended: a loss many times higher means the first steps threw away what "
    "the kernels knew. BatchNorm stayed frozen in all three runs.",
    "Count what trains after `unfreeze_top(feature_base, 4)`: the head (a Dense layer on "
    "3x3x128 = 1,152 inputs, 3 classes) plus block3_conv (3x3 kernels, 64 -> 128 channels, no "
    "bias; the summary of section 2 lists it). block3_bn stays frozen, block3_relu and "
    "block3_pool have no weights."])
def q4(t, lr_that_destroys, lr_that_barely_moves, diagnosis, trainable_after):
    """read three fine-tuning runs: which rate destroys, which barely moves, why; what trains"""
    destroys = _measured_rate(t, lr_that_destroys, "lr_that_destroys")
    t.case(destroys == 1e-2, {
        1e-3: "`lr_that_destroys`: the 1e-3 run lost a few points and climbed back; one run fell "
              "to about chance level right after unfreezing.",
        1e-5: "`lr_that_destroys`: the 1e-5 run has the flattest curve of the three; it "
              "destroyed nothing."}.get(destroys, ""))
    moves = _measured_rate(t, lr_that_barely_moves, "lr_that_barely_moves")
    t.case(moves == 1e-5, {
        1e-2: "`lr_that_barely_moves`: that run's kernels changed the most of the three (see the "
              "printed relative change) and its loss jumped.",
        1e-3: "`lr_that_barely_moves`: the 1e-3 run's kernels moved more than those of one other "
              "run (see the printed relative change)."}.get(moves, ""))
    if not isinstance(diagnosis, str):
        t.fail("`diagnosis` should be one of the strings " + ", ".join(repr(d) for d in DIAGNOSES)
               + f", not a {'number' if isinstance(diagnosis, (int, float)) else type(diagnosis).__name__}.")
    said = " ".join(diagnosis.lower().replace("_", " ").replace("-", " ").split())
    if said not in DIAGNOSES:
        t.fail(f"`diagnosis` is {diagnosis!r}; it should be one of "
               + ", ".join(repr(d) for d in DIAGNOSES) + ".")
    t.case(said == "too large", {
        "overfitting": "`diagnosis`: overfitting is slow (training accuracy climbs while the "
                       "validation accuracy drifts down over many epochs); the damage here shows "
                       "in the very first epoch.",
        "batchnorm": "`diagnosis`: BatchNorm stayed frozen in all three runs (`unfreeze_top` "
                     "keeps it so), so its statistics could not move.",
        "too small": "`diagnosis`: a step that is too small leaves the curve flat; this run "
                     "jumped away from where feature extraction ended."}.get(said, ""))
    count = t.whole(trainable_after, "trainable_after")
    c = _fine_tuning_counts()
    known = t.mistake(count, [
        (c["head"], "`trainable_after` counts only the head: after unfreezing, the top "
                    "convolution trains too."),
        (c["opened"], "`trainable_after` counts only the unfrozen convolution: the new head "
                      "keeps training."),
        (c["answer"] + c["bn_scale"], "`trainable_after` counts BatchNorm's gamma and beta: "
                                      "`unfreeze_top` keeps every BatchNorm layer frozen."),
        (c["answer"] + c["bn_all"], "`trainable_after` counts BatchNorm's weights and moving "
                                    "statistics: BatchNorm stays frozen, and moving statistics "
                                    "never train."),
        (c["answer"] + c["conv_bias"], "`trainable_after` counts a bias per filter in "
                                       "block3_conv, which has none (use_bias=False: BatchNorm's "
                                       "beta follows it)."),
        (c["whole_base"] + c["head"], "`trainable_after` counts every weight of the base: only "
                                      "its top 4 layers were unfrozen.")])
    t.case(count == c["answer"], known or (
        f"`trainable_after` = {count:,} is not the number of trainable parameters after "
        "`unfreeze_top(feature_base, 4)`: add up the weights of every layer that trains."))


# ----------------------------------------------------------------------------- q5
def reference_app_inputs(images) -> np.ndarray:
    """What MobileNetV2 expects from grey 28x28 uint8 images: 96x96x3, its own preprocessing."""
    x = np.asarray(images, dtype="float32")[..., None]
    x = keras.ops.convert_to_numpy(keras.ops.image.resize(x, (APP_SIZE, APP_SIZE)))
    x = np.repeat(x, 3, axis=-1)
    return keras.applications.mobilenet_v2.preprocess_input(x)


@question(names=["to_app_inputs"], hints=[
    "Four steps: float32 with a channel axis, resize to 96x96 (bilinear, "
    "`keras.ops.image.resize`), 3 identical channels (`np.repeat`), then "
    "`keras.applications.mobilenet_v2.preprocess_input`.",
    "`preprocess_input` expects pixel values 0..255, exactly what the uint8 images hold: do "
    "not divide by 255 yourself.",
    "Convert tensors back with `keras.ops.convert_to_numpy` and return a float32 NumPy array."])
def q5(t, to_app_inputs):
    """grey 28x28 images -> MobileNetV2 inputs"""
    rng = np.random.default_rng(1505)
    images = rng.integers(0, 256, (4, 28, 28)).astype(np.uint8)
    images[0, :4] = 0
    images[0, 4:8] = 255
    for batch, where in ((images, "4 random images"), (images[:1], "a batch of one"),
                         (np.full((2, 28, 28), 255, np.uint8), "white images")):
        given = batch.copy()
        out = t.call(to_app_inputs, given, where=where)
        t.case(np.array_equal(given, batch), f"`to_app_inputs` changed its input ({where}); "
               "work on a float copy.")
        arr = t.numbers(out, "to_app_inputs(images)", finite=False)
        n = len(batch)
        if arr.shape != (n, APP_SIZE, APP_SIZE, 3):
            if arr.ndim == 4 and arr.shape[-1] == 1:
                t.fail(f"on {where}: the output has one channel; MobileNetV2 needs 3.")
            t.fail(f"on {where}: the output has shape {arr.shape}; it should be "
                   f"(N, {APP_SIZE}, {APP_SIZE}, 3).")
        t.case(arr.dtype == np.float32, f"on {where}: the output has dtype {arr.dtype}; "
               "MobileNetV2 takes float32.")
        if np.all(np.isfinite(arr)) and arr.max() > 2:
            t.case(False, f"on {where}: values go up to {arr.max():.0f}: the pixels are not "
                   "rescaled the way MobileNetV2 expects (its preprocess_input).")
        elif np.all(np.isfinite(arr)) and arr.min() >= 0 and n > 0 and where != "white images":
            t.case(False, f"on {where}: no value is negative; MobileNetV2's preprocess_input "
                   "expects pixels 0..255 (do not divide by 255 first).")
        else:
            t.array(arr, reference_app_inputs(batch), f"to_app_inputs on {where}", rtol=1e-4,
                    atol=1e-3)


# ----------------------------------------------------------------------------- q6
@functools.lru_cache(maxsize=4)
def _mobilenet_features(size: int) -> tuple:
    base = keras.applications.MobileNetV2(input_shape=(size, size, 3), include_top=False,
                                          weights=None)
    return tuple(base.output_shape[1:])


def _dense_count(inputs: int, units: int = 3) -> int:
    dense = keras.layers.Dense(units)
    dense.build((None, inputs))
    return int(dense.count_params())


@question(names=["features_160", "head_pooled", "head_flat"], hints=[
    "At 96x96 the base gives 3x3 maps: every side is divided by the same factor (96 / 3) at any "
    "input size, and the number of channels does not depend on the input size.",
    "A Dense layer with n inputs and k units holds n * k kernel weights and k biases. "
    "GlobalAveragePooling2D leaves one number per channel; Flatten keeps every position of "
    "every channel.",
    "features_160 = (160 // 32, 160 // 32, 1280); head_pooled = 1280 * 3 + 3; "
    "head_flat = 3 * 3 * 1280 * 3 + 3."])
def q6(t, features_160, head_pooled, head_flat):
    """predict MobileNetV2's feature maps at 160x160 and the size of two heads"""
    small = _mobilenet_features(APP_SIZE)
    big = _mobilenet_features(160)
    if isinstance(features_160, (tuple, list)) and len(features_160) == 4 and \
            features_160[0] is None:
        t.fail("`features_160` holds the batch axis (None); give the shape of one image's "
               "feature maps, (height, width, channels).")
    shape = t.shape(features_160, "features_160")
    if len(shape) != 3:
        t.case(False, f"`features_160` has {len(shape)} entries; the feature maps of one image "
               "have three: (height, width, channels).")
    elif shape == small:
        t.case(False, "`features_160` is the shape at 96x96; a larger input gives larger maps.")
    elif shape[2] != big[2]:
        t.case(False, f"`features_160` has {shape[2]} channels; the base ends with the same "
               "number of channels at every input size (section 9 gives it).")
    else:
        t.case(shape == big, f"`features_160`: the maps at 160x160 are not {shape[0]}x{shape[1]}; "
               "the base divides each side by the same factor at every input size.")
    pooled, flat = _dense_count(small[2]), _dense_count(int(np.prod(small)))
    count = t.whole(head_pooled, "head_pooled")
    t.case(count == pooled, t.mistake(count, [
        (pooled - 3, "`head_pooled` leaves out the biases: one per class."),
        (flat, "`head_pooled` is the size of the head on flattened maps; GlobalAveragePooling2D "
               "leaves one number per channel.")]) or
        f"`head_pooled` = {count:,} is not the number of weights of a Dense(3) layer on the "
        "pooled features.")
    count = t.whole(head_flat, "head_flat")
    t.case(count == flat, t.mistake(count, [
        (flat - 3, "`head_flat` leaves out the biases: one per class."),
        (pooled, "`head_flat` is the size of the pooled head; Flatten keeps all 3x3 positions "
                 "of every channel."),
        (_dense_count(int(np.prod(big))), "`head_flat` is for 160x160 inputs; the question is "
                                          "about the 96x96 model of this section.")]) or
        f"`head_flat` = {count:,} is not the number of weights of a Dense(3) layer on the "
        "flattened 96x96 feature maps.")
