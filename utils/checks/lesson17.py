"""Checks of lesson 17 · Transfer learning.

The student's functions run on small Keras bases built here (Conv -> BatchNorm -> ReLU blocks with
non-trivial moving statistics), so every expectation comes from the model itself: which weights
are trainable, which layers are frozen, what the optimizer's learning rate is, what a forward pass
gives, what the compiled model logs. The keras.applications checks compare with MobileNetV2 and
its own ``preprocess_input``.
"""
from __future__ import annotations

import socket

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


def _head_checks(t, model, base, num_classes, call: str, flatten: bool):
    """The cases shared by q2 and q6: frozen base inside, a new softmax head on flattened (q2) or
    globally averaged (q6) feature maps."""
    t.case(base.trainable is False, f"`{call}`: the base is still trainable: it was not frozen.")
    base_ids = {id(w) for w in base.weights}
    t.case(base_ids <= {id(w) for w in model.weights},
           f"`{call}`: the model does not use the base's own weights (was the base rebuilt or "
           "copied instead of being called on the inputs?).")
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
    "A `keras.Sequential([base, ...])` cannot pass `training=False`; use the functional API."], in_kernel=True)
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
def _head_model(base, k=3):
    layers = keras.layers

    inputs = keras.Input(base.input_shape[1:])
    x = layers.GlobalAveragePooling2D()(base(inputs, training=False))
    return keras.Model(inputs, layers.Dense(k, activation="softmax")(x))


@question(names=["compile_for_fine_tuning"], hints=[
    "Changing `trainable` flags only takes effect at the next `model.compile(...)`: compile "
    "again, with a NEW optimizer object.",
    "Fine-tuning moves pretrained weights only a little: a learning rate 10 to 100 times lower "
    "than for the head, e.g. `keras.optimizers.Adam(1e-5)`.",
    "The labels are integer class ids: `loss='sparse_categorical_crossentropy'`, "
    "`metrics=['accuracy']`."], in_kernel=True)
def q4(t, compile_for_fine_tuning):
    """recompile for fine-tuning with a low learning rate"""
    base = tiny_base(seed=4)
    base.trainable = False
    model = _head_model(base)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    old = model.optimizer
    base.trainable = True
    for layer in base.layers:
        layer.trainable = layer.name == "block2_conv"
    trainable_before = {id(w) for w in model.trainable_weights}
    t.call(compile_for_fine_tuning, model, where="a model whose top conv layer was unfrozen")
    if model.optimizer is None or model.optimizer is old:
        t.fail("`compile_for_fine_tuning` did not compile the model again with a new optimizer; "
               "changing the learning rate of the old one is not enough, because `compile` is "
               "what takes the new trainable flags into account.")
    t.case({id(w) for w in model.trainable_weights} == trainable_before,
           "`compile_for_fine_tuning` changed which weights are trainable; it should only compile.")
    try:
        lr = float(np.asarray(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))
    except Exception:
        t.fail("the optimizer's learning rate could not be read as a number.")
    t.case(0 < lr <= 1e-4, f"the learning rate is {lr:g}; for fine-tuning it must be positive "
           "and at most 1e-4.")
    x, y = _images((10, 12, 1), n=8, seed=4), np.arange(8) % 3
    try:
        result = model.evaluate(x, y, verbose=0, return_dict=True)
    except Exception as exc:
        t.fail(f"evaluating the compiled model on integer labels failed ({type(exc).__name__}): "
               "does its loss take class ids?")
    probs = keras.ops.convert_to_numpy(model(x))
    loss = float(np.mean(keras.ops.convert_to_numpy(
        keras.losses.sparse_categorical_crossentropy(y, probs))))
    t.case(np.isclose(result.get("loss", np.nan), loss, rtol=1e-3, atol=1e-4),
           "the compiled loss is not the sparse categorical cross-entropy of the probabilities.")
    accuracy = float(np.mean(np.argmax(probs, axis=1) == y))
    try:  # what this compile asked for (evaluate may still log the metrics of an older compile)
        metrics = model.get_compile_config().get("metrics") or []
    except Exception:
        metrics = []
    names = [m if isinstance(m, str) else m.get("config", {}).get("name") if isinstance(m, dict)
             else None for m in (metrics if isinstance(metrics, (list, tuple)) else [metrics])]
    if "accuracy" not in names or "accuracy" not in result:
        t.case(False, "the compiled model logs no metric named 'accuracy'; the fine-tuning cell "
               "reads 'accuracy' and 'val_accuracy' from the history.")
    else:
        t.case(np.isclose(result["accuracy"], accuracy, atol=1e-6),
               "the metric named 'accuracy' is not the class accuracy of the probabilities "
               "(a metric for other labels?).")


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
@question(names=["build_app_model"], hints=[
    "`keras.applications.MobileNetV2(input_shape=(96, 96, 3), include_top=False, "
    "weights=weights)` gives the convolutional base without ImageNet's 1000-class head.",
    "Freeze it, then a head like the one of exercise 2 but pooled: `keras.Input((96, 96, 3))`, "
    "`base(inputs, training=False)`, `GlobalAveragePooling2D()`, `Dense(num_classes, "
    "activation='softmax')`.",
    "Pass the `weights` argument through; the check calls `build_app_model(4, None)`, which "
    "needs no network."])
def q6(t, build_app_model):
    """MobileNetV2 from keras.applications as a frozen base with a new head"""
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(5)  # an answer that ignores weights=None must not hang offline
    try:
        value = t.call(build_app_model, 4, None, where="num_classes=4, weights=None")
    finally:
        socket.setdefaulttimeout(old)
    model = _keras_model(t, value, "build_app_model")
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    bases = [layer for layer in nested if layer.name.startswith("mobilenetv2")]
    if not bases:
        t.fail("`build_app_model` does not contain a keras.applications.MobileNetV2 model "
               "called as one layer; build it and call it on the inputs.")
    base = bases[0]
    if any(isinstance(layer, keras.layers.Dense) for layer in base.layers):
        t.fail("the MobileNetV2 base still has ImageNet's 1000-class classifier on top "
               "(include_top).")
    if len(base.output_shape) not in (2, 4):  # 2: pooling="avg" or "max" inside the base
        t.fail(f"the MobileNetV2 base gives outputs of shape {base.output_shape}; feature maps "
               "(N, 3, 3, 1280) were expected.")
    pooled_by = base.get_config().get("layers", [{}])[-1].get("class_name", "") \
        if len(base.output_shape) == 2 else ""
    t.case(pooled_by in ("", "GlobalAveragePooling2D"),
           "the MobileNetV2 base pools with the maximum (pooling='max'); the task averages each "
           "channel.")
    in_shape = _model_shape(t, model, "input_shape", "build_app_model")
    t.case(in_shape == (None, APP_SIZE, APP_SIZE, 3), f"the model takes inputs of shape "
           f"{in_shape}; it should take the {APP_SIZE}x{APP_SIZE}x3 images from exercise 5.")
    t.case(_model_shape(t, model, "output_shape", "build_app_model") == (None, 4),
           "the model does not output one probability per class (num_classes=4).")
    _head_checks(t, model, base, 4, "build_app_model", flatten=False)
    t.case(training_flag(model, base) is False,
           "the MobileNetV2 base is not called in inference mode (`training=False`).")
