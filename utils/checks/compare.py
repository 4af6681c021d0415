"""Comparisons used by checks: arrays with tolerances, Keras models by their public APIs.

Each returns ``None`` when the answer matches, otherwise one message that says what is wrong
and where, without revealing the expected values.
"""
from __future__ import annotations

import numpy as np


def _shape(x) -> str:
    return "(" + ", ".join(str(d) for d in x) + ("," if len(x) == 1 else "") + ")"


def as_array(value, name: str):
    """Convert an answer to a NumPy array, or return a message saying why it cannot be one."""
    if value is None:
        return None, f"`{name}` is None: did you forget a `return` or an assignment?"
    if hasattr(value, "numpy") and callable(value.numpy):
        try:
            value = value.numpy()
        except Exception:
            return None, f"`{name}` is a tensor that cannot be read as an array."
    if isinstance(value, (str, bytes, dict, set)) or callable(value):
        return None, f"`{name}` should be an array of numbers, but it is a {type(value).__name__}."
    try:
        arr = np.asarray(value)
    except Exception:
        return None, f"`{name}` could not be turned into an array (ragged nested lists?)."
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        return None, (f"`{name}` should hold numbers, but its elements are of type "
                      f"{arr.dtype if arr.dtype != object else 'object'}.")
    return arr, None


def compare_arrays(actual, expected, name: str, rtol: float = 1e-5, atol: float = 1e-6):
    """Compare an answer with the expected array: type, then shape, then NaN/inf, then values."""
    expected = np.asarray(expected)
    arr, problem = as_array(actual, name)
    if problem:
        return problem
    if arr.shape != expected.shape:
        return f"`{name}` has shape {_shape(arr.shape)} but should have shape {_shape(expected.shape)}."
    if expected.dtype.kind == "f" and arr.dtype.kind == "b":
        return f"`{name}` holds booleans; numbers were expected."
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))
        first = tuple(int(i) for i in bad[0])
        return (f"`{name}` contains NaN or infinity at {len(bad)} position(s), first at index {first}"
                " (an overflow, a log of 0 or a division by 0?).")
    if expected.size == 0:
        return None
    close = np.isclose(arr.astype(np.float64), expected.astype(np.float64), rtol=rtol, atol=atol)
    if close.all():
        return None
    wrong = np.argwhere(~close)
    err = np.abs(arr.astype(np.float64) - expected.astype(np.float64))
    worst = tuple(int(i) for i in np.unravel_index(np.argmax(np.where(close, 0, err)), err.shape))
    where = f" at index {worst}" if arr.ndim else ""
    return (f"`{name}` is wrong at {len(wrong)} of {arr.size} position(s); the largest error is "
            f"{err[worst]:.3g}{where}.")


# ----------------------------------------------------------------------------- Keras models
_IGNORED_KEYS = {"name", "trainable", "dtype", "seed", "activation", "build_config",
                 "compile_config", "input_shape", "batch_input_shape", "batch_shape", "sparse",
                 "ragged", "synchronized", "quantization_config", "lora_rank", "lora_alpha"}
_ACTIVATION_LAYERS = {"ReLU": "relu", "Softmax": "softmax", "ELU": "elu", "LeakyReLU": "leaky_relu"}
# TensorFlow functions that Keras saves under their Python name, and the Keras activation each is
TF_ACTIVATIONS = {"softmax_v2": "softmax", "log_softmax_v2": "log_softmax", "swish": "silu",
                  "exp": "exponential"}


def activation_name(activation) -> str:
    """The Keras name of an activation as a layer config holds it: ``tf.nn.softmax`` and
    ``keras.activations.softmax`` are both 'softmax'."""
    if isinstance(activation, dict):
        inner = activation.get("config")
        if isinstance(inner, dict) or inner is None:  # an activation layer given as activation
            kind = activation.get("class_name")
            activation = _ACTIVATION_LAYERS.get(kind, kind)
        else:
            activation = inner
    name = str(activation)
    return TF_ACTIVATIONS.get(name, name)


def layer_steps(model) -> list[tuple[str, dict, object]]:
    """The model as a list of (type, comparable config, layer), with fused activations split out.

    ``Dense(10, activation='relu')`` and ``Dense(10), Activation('relu')`` give the same steps;
    so do ``Activation('relu')`` and ``ReLU()``. Input layers are skipped.
    """
    steps = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "InputLayer":
            continue
        config = layer.get_config()
        if kind in _ACTIVATION_LAYERS and _default_activation_layer(kind, config):
            steps.append(("Activation", {"activation": _ACTIVATION_LAYERS[kind]}, layer))
            continue
        if kind == "Activation":
            steps.append(("Activation", {"activation": activation_name(config["activation"])}, layer))
            continue
        keep = {k: v for k, v in config.items()
                if k not in _IGNORED_KEYS and not k.endswith(("_initializer", "_regularizer",
                                                              "_constraint"))}
        steps.append((kind, keep, layer))
        activation = activation_name(config.get("activation", "linear"))
        if activation not in {"linear", "None"}:
            steps.append(("Activation", {"activation": activation}, layer))
    return steps


def _default_activation_layer(kind: str, config: dict) -> bool:
    if kind == "ReLU":
        return not config.get("max_value") and not config.get("negative_slope") and not config.get("threshold")
    if kind == "Softmax":
        return config.get("axis", -1) in (-1, [-1])
    return False


def _a(kind: str) -> str:
    return ("an " if kind[:1] in "AEIOU" else "a ") + kind


def _describe(model, step) -> str:
    """Where a step sits, as the student numbers their layers: 'layer 2 (Conv2D)', or 'the
    activation of layer 2 (Dense)' for an activation fused into a layer."""
    kind, _, layer = step
    layers = [x for x in model.layers if type(x).__name__ != "InputLayer"]
    number = next(i for i, x in enumerate(layers, 1) if x is layer)
    if kind == "Activation" and type(layer).__name__ not in ("Activation", *_ACTIVATION_LAYERS):
        return f"the activation of layer {number} ({type(layer).__name__})"
    return f"layer {number} ({type(layer).__name__})"


def _structure(actual, mine, ref, name: str) -> str | None:
    """The first layer the student left out, added or changed the type of, found by matching
    whole layers (type and config), and named by its place in the student's model; None when
    the first difference is a changed option of a layer (the pairwise comparison names it)."""
    from difflib import SequenceMatcher

    keys = [[(kind, repr(_normal(config))) for kind, config, _ in steps] for steps in (mine, ref)]
    for op, i1, i2, j1, j2 in SequenceMatcher(None, *keys, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        if op == "insert":
            where = (f"after {_describe(actual, mine[i1 - 1]).removeprefix('the activation of ')}"
                     if i1 else "at the start")
            return f"`{name}` is missing {_a(ref[j1][0])} {where}."
        if op == "delete":
            return (f"{_describe(actual, mine[i1])} of `{name}` is not in the required "
                    f"architecture ({_a(mine[i1][0])} too many).")
        kinds, rkinds = [k for k, _, _ in mine[i1:i2]], [k for k, _, _ in ref[j1:j2]]
        if kinds == rkinds:         # same layers with other options
            return None
        for (kind, _, _), step, (rkind, _, _) in zip(mine[i1:i2], mine[i1:i2], ref[j1:j2]):
            if kind != rkind:
                return (f"{_describe(actual, step)} of `{name}` is {_a(kind)}; the required "
                        f"architecture has {_a(rkind)} there.")
        return None
    return None


def compare_models(actual, reference, name: str = "your model", check_params: bool = True,
                   check_trainable: bool = True, check_compiled: bool = False):
    """Compare a student's Keras model with a reference: layers, configs, shapes, parameters."""
    import keras

    if actual is None:
        return f"`{name}` is None: did you forget to `return model`?"
    if not isinstance(actual, keras.Model):
        return f"`{name}` should be a Keras model, but it is a {type(actual).__name__}."
    if not actual.built:
        try:
            actual.build(reference.input_shape)
        except Exception as exc:
            return f"`{name}` could not be built for inputs of shape {reference.input_shape}: {exc}"
    mine, ref = layer_steps(actual), layer_steps(reference)
    if len(mine) != len(ref) and (problem := _structure(actual, mine, ref, name)):
        return problem
    for step, (rkind, rconfig, _) in zip(mine, ref):
        kind, config, _ = step
        if kind != rkind:
            break
        if kind == "Activation" and config != rconfig:
            where = _describe(actual, step).removeprefix("the activation of ")
            return (f"{where} of `{name}` uses activation '{config['activation']}', not the "
                    "required one.")
        for key in sorted(set(config) & set(rconfig)):
            if _normal(config[key]) != _normal(rconfig[key]):
                return (f"{_describe(actual, step)} of `{name}`: `{key}` = {config[key]!r} does "
                        "not match the required architecture.")
    if [k for k, _, _ in mine] != [k for k, _, _ in ref]:
        return _structure(actual, mine, ref, name) or f"`{name}` does not have the required layers."
    try:
        out, rout = tuple(actual.output_shape), tuple(reference.output_shape)
    except Exception:
        out, rout = None, None
    if out != rout:
        return f"`{name}` outputs shape {out}, but the required output shape is {rout}."
    if check_params and actual.count_params() != reference.count_params():
        return (f"`{name}` has {actual.count_params():,} parameters; the required architecture has a "
                "different count (check input shape, biases and layer sizes).")
    if check_trainable:
        for step, (_, _, rlayer) in zip(mine, ref):
            if step[2].trainable != rlayer.trainable:
                state = "trainable" if step[2].trainable else "frozen"
                return f"{_describe(actual, step)} of `{name}` is {state}, which is not what was asked."
    if check_compiled and getattr(actual, "optimizer", None) is None:
        return f"`{name}` is not compiled: call `{name}.compile(...)`."
    return None


def _normal(value):
    """Make configs comparable: lists and tuples alike, ints and 1-tuples alike."""
    if isinstance(value, (list, tuple)):
        return tuple(_normal(v) for v in value)
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    return value
