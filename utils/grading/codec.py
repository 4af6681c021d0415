"""Plain data across the sandbox wall: how values travel between the judge and the kernel's agent.

Everything crosses as JSON text. Containers and non-JSON values are tagged objects
(``{"$": "array", "npy": ...}``); a bare JSON object never appears, so a tag cannot be forged by
a student's dict. Arrays travel as ``.npy`` bytes and are read with ``allow_pickle=False``;
Keras models as ``.keras`` files, loaded with ``safe_mode=True`` after their ``config.json`` is
vetted. Nothing is ever unpickled. Objects that are not data (a student's function, a dataset)
stay on their side and travel as a numbered *handle*; judge functions given to student code
travel as *callbacks*.

Decoding never trusts its input: sizes, nesting and names are limited, and every problem raises
:class:`Undecodable` with a reason a student can act on.
"""
from __future__ import annotations

import base64
import io
import json
import math
import tempfile
import zipfile
from pathlib import Path, PurePath

from ..checks.core import WRITABLE, judge_side_spec

MAX_BLOB = 256 * 2**20        # bytes of one array or model
MAX_DEPTH = 40                # nesting of containers
MAX_ITEMS = 200_000           # elements of one list, tuple or dict
MAX_CONFIG = 16 * 2**20       # bytes of a model's config.json
_KERAS_PACKAGES = ("keras", "keras_hub", "keras_cv", "keras_nlp")
# Built-in Keras callbacks that cross as their constructor arguments (a student's own callback
# class stays in the kernel).
_CALLBACK_ARGS = {
    "EarlyStopping": ("monitor", "min_delta", "patience", "verbose", "mode", "baseline",
                      "restore_best_weights", "start_from_epoch"),
    "ModelCheckpoint": ("filepath", "monitor", "verbose", "save_best_only", "save_weights_only",
                        "mode", "save_freq"),
}
# Exceptions of the course that a judge function may raise into the student's code as themselves
COURSE_EXCEPTIONS = {"utils.data.DatasetUnavailable"}


class Undecodable(Exception):
    """A value that cannot cross the sandbox wall (too big, malformed, or not plain data)."""


# --------------------------------------------------------------------------- bytes

def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text) -> bytes:
    if not isinstance(text, str) or len(text) > MAX_BLOB * 4 // 3 + 4:
        raise Undecodable("a binary value is missing or too large")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise Undecodable("a binary value is not valid base64") from None


def array_bytes(arr) -> str:
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(arr), allow_pickle=False)
    return _b64(buffer.getvalue())


def read_array(text):
    import numpy as np

    try:
        arr = np.load(io.BytesIO(_unb64(text)), allow_pickle=False)
    except Undecodable:
        raise
    except Exception as exc:  # a broken or pickled .npy
        raise Undecodable(f"an array could not be read ({type(exc).__name__})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.hasobject:
        raise Undecodable("an array holds Python objects, which cannot be graded")
    return arr


# --------------------------------------------------------------------------- Keras

def vet_keras_config(config) -> None:
    """Refuse a model config that names code outside Keras, or a ``Lambda`` layer."""
    stack = [(config, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > 200:
            raise Undecodable("the model's configuration is nested too deeply")
        if isinstance(node, dict):
            module = node.get("module")
            if isinstance(module, str) and module.split(".")[0] not in _KERAS_PACKAGES:
                name = node.get("class_name", "?")
                raise Undecodable(f"the model uses `{name}` from `{module}`, which is not part of "
                                  "Keras; only built-in Keras layers can be graded")
            if node.get("class_name") in ("Lambda", "TFOpLambda"):
                raise Undecodable("the model holds a Lambda layer, which cannot be graded "
                                  "safely; use built-in layers instead")
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


def _keras_loss_functions() -> set[str]:
    """Names of Keras' loss and metric functions (``keras.losses.sparse_categorical_crossentropy``
    given to ``compile`` is saved as a plain Python function of that name)."""
    import inspect

    import keras

    return {name for module in (keras.losses, keras.metrics) for name in dir(module)
            if not name.startswith("_") and inspect.isfunction(getattr(module, name))}


def _keras_activations(node, losses: set[str] | None = None):
    """The config with functions saved as plain Python functions replaced by their Keras names:
    TensorFlow activations (``tf.nn.softmax`` is saved as ``softmax_v2``) and Keras loss and
    metric functions; other nodes unchanged."""
    from ..checks.compare import TF_ACTIVATIONS

    losses = _keras_loss_functions() if losses is None else losses
    if isinstance(node, dict):
        inner = node.get("config")
        if (node.get("module") == "builtins" and node.get("class_name") == "function"
                and isinstance(inner, str)):
            if inner in TF_ACTIVATIONS:
                return TF_ACTIVATIONS[inner]
            if inner in losses:
                return inner
        return {k: _keras_activations(v, losses) for k, v in node.items()}
    if isinstance(node, list):
        return [_keras_activations(v, losses) for v in node]
    return node


def model_bytes(model) -> str:
    """The model saved as a ``.keras`` archive (weights, config and compile state)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        return _b64(path.read_bytes())


def load_keras_file(path: Path, compile: bool = True):
    """Load a ``.keras`` file that came from an untrusted side: vetted, then ``safe_mode=True``.

    With ``compile=True`` a model whose compile state cannot be rebuilt (a custom schedule class,
    say) is loaded uncompiled rather than refused."""
    import keras

    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > 50 or sum(i.file_size for i in infos) > 4 * MAX_BLOB:
                raise Undecodable("the model file is too large")
            config_info = archive.getinfo("config.json")
            if config_info.file_size > MAX_CONFIG:
                raise Undecodable("the model's configuration is too large")
            config = json.loads(archive.read(config_info))
    except Undecodable:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise Undecodable("the file is not a valid .keras model archive") from None
    if not isinstance(config, dict):
        raise Undecodable("the file is not a valid .keras model archive")
    keras_config = _keras_activations(config)
    vet_keras_config({k: v for k, v in keras_config.items() if k != "compile_config"})
    if compile:  # a compile state naming the student's own classes: load the model uncompiled
        try:
            vet_keras_config(keras_config.get("compile_config"))
        except Undecodable:
            compile = False
    with tempfile.TemporaryDirectory() as folder:
        if keras_config != config:   # load a copy of the archive with the Keras names
            copy = Path(folder) / "model.keras"
            with zipfile.ZipFile(path) as archive, zipfile.ZipFile(copy, "w") as out:
                for info in archive.infolist():
                    data = (json.dumps(keras_config).encode() if info.filename == "config.json"
                            else archive.read(info))
                    out.writestr(info, data)
            path = copy
        errors = []
        for attempt in ((True, False) if compile else (False,)):
            try:
                return keras.saving.load_model(path, compile=attempt, safe_mode=True)
            except Exception as exc:  # Keras raises many kinds on configs it cannot rebuild
                first = (str(exc).splitlines() or [""])[0][:160]
                errors.append(f"{type(exc).__name__}: {first}")
    raise Undecodable("the model could not be rebuilt from its saved form ("
                      + errors[-1] + ")")


def read_model(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        path.write_bytes(_unb64(text))
        return load_keras_file(path)


def layer_data(layer, encode) -> dict:
    from keras import saving

    data = {"$": "layer", "config": saving.serialize_keras_object(layer)}
    if layer.built:
        data["build"] = layer.get_build_config()
        data["weights"] = [encode(w) for w in layer.get_weights()]
    return data


def read_layer(data, decode):
    from keras import saving

    config = data.get("config")
    vet_keras_config(config)
    try:
        layer = saving.deserialize_keras_object(config, safe_mode=True)
        if data.get("build") is not None:
            if not layer.built:
                layer.build_from_config(data["build"])
            layer.set_weights([decode(w) for w in data.get("weights", [])])
    except Undecodable:
        raise
    except Exception as exc:
        raise Undecodable(f"a layer could not be rebuilt ({type(exc).__name__})") from None
    return layer


# --------------------------------------------------------------------------- tf.data

MAX_DATASET_ELEMENTS = 512   # per pass


def dataset_data(ds, encode) -> dict:
    """A dataset as what it gives: its element spec and two passes over it (each capped)."""
    import itertools

    passes, error = [], None
    for _ in range(2):
        try:
            elements = list(itertools.islice(iter(ds), MAX_DATASET_ELEMENTS + 1))
        except Exception as exc:  # the student's pipeline fails when iterated
            error = f"{type(exc).__name__}: {str(exc)[:150]}"
            break
        passes.append([encode(e) for e in elements[:MAX_DATASET_ELEMENTS]])
    return {"$": "dataset", "types": describe(ds)["mro"], "spec": encode(ds.element_spec),
            "passes": passes, "error": error}


class DatasetRecord:
    """A student's ``tf.data.Dataset`` as the judge sees it: its element spec, and the passes
    it gave in the kernel (the first iteration replays the first pass, the next the second)."""

    def __init__(self, types, spec, passes, error):
        self._types, self.element_spec, self._passes, self._error = types, spec, passes, error
        self._used = 0

    def remote_types(self) -> list[str]:
        return list(self._types)

    def __iter__(self):
        if self._used >= len(self._passes):
            raise RuntimeError(self._error or "the dataset could not be read a third time")
        self._used += 1
        return iter(self._passes[self._used - 1])


# --------------------------------------------------------------------------- values

def _is_model(value) -> bool:
    cls = type(value)
    return any(c.__module__.startswith("keras") and c.__name__ in ("Model", "Functional",
                                                                   "Sequential")
               for c in cls.__mro__)


def _is_layer(value) -> bool:
    return any(c.__module__.startswith("keras") and c.__name__ == "Layer"
               for c in type(value).__mro__)


_SERIALIZABLE = ("LearningRateSchedule", "Optimizer", "Loss", "Regularizer", "Initializer",
                 "Constraint")


def _is_builtin_keras_object(value) -> bool:
    """A built-in Keras schedule, optimizer, loss, ... (rebuilt from its config on the other
    side); a student's own subclass stays where it is."""
    cls = type(value)
    return cls.__module__.startswith("keras.") and any(
        c.__module__.startswith("keras.") and c.__name__ in _SERIALIZABLE for c in cls.__mro__)


def describe(value) -> dict:
    """What the other side may know of an object that stays where it is."""
    cls = value if isinstance(value, type) else type(value)
    mro = [f"{c.__module__}.{c.__qualname__}" for c in getattr(cls, "__mro__", (cls,))]
    code = getattr(value, "__code__", None)
    return {"type": f"{type(value).__module__}.{type(value).__qualname__}",
            "name": str(getattr(value, "__name__", type(value).__name__))[:100],
            "callable": callable(value), "class": isinstance(value, type), "mro": mro[:30],
            "unfinished": "NotImplementedError" in getattr(code, "co_names", ())}


class Encoder:
    """Turns a value into plain data. ``keep(value)`` is asked for objects that are not data: it
    returns the id of a handle (the agent's side) or of a callback (the judge's side)."""

    def __init__(self, keep, kind: str, identities=(), theirs=None):
        self.keep, self.kind, self.theirs = keep, kind, theirs
        self.identities = list(identities)   # objects sent back as {"$": "arg", "i": n}

    def __call__(self, value, depth: int = 0):
        import numpy as np

        if depth > MAX_DEPTH:
            raise Undecodable("the value is nested too deeply")
        number = self.theirs(value) if self.theirs else None
        if number is not None:  # a stand-in for an object of the other side: send its number
            return {"$": "callback" if self.kind == "handle" else "handle", "id": number,
                    "info": {}}
        for i, known in enumerate(self.identities):
            if value is known and not isinstance(value, (bool, int, float, str, type(None))):
                return {"$": "arg", "i": i}
        if self.kind == "callback" and judge_side_spec(value) is not None:
            return self._kept(value)
        if isinstance(value, np.generic) and not isinstance(value, np.object_):
            return {"$": "scalar", "npy": array_bytes(np.asarray(value))}
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return value if abs(value) < 2**63 else {"$": "bigint", "v": str(value)}
        if isinstance(value, float):
            return value if math.isfinite(value) else {"$": "float", "v": repr(value)}
        if value is Ellipsis:
            return {"$": "ellipsis"}
        if isinstance(value, (list, tuple)):
            if len(value) > MAX_ITEMS:
                raise Undecodable("a list is too long")
            tag = "tuple" if isinstance(value, tuple) else "list"
            return {"$": tag, "v": [self(v, depth + 1) for v in value]}
        if isinstance(value, dict):
            if len(value) > MAX_ITEMS:
                raise Undecodable("a dict is too long")
            return {"$": "dict", "v": [[self(k, depth + 1), self(v, depth + 1)]
                                       for k, v in value.items()]}
        if isinstance(value, (set, frozenset)):
            return {"$": "set", "v": [self(v, depth + 1) for v in value]}
        if isinstance(value, PurePath):
            return {"$": "path", "v": str(value)}
        if isinstance(value, complex):
            return {"$": "complex", "v": [value.real, value.imag]}
        if isinstance(value, np.ndarray) and not value.dtype.hasobject:
            return {"$": "array", "npy": array_bytes(value)}
        if isinstance(value, np.random.Generator):
            return {"$": "generator", "state": self(value.bit_generator.state, depth + 1)}
        module = type(value).__module__
        if module.startswith(("tensorflow", "tf_keras")) and hasattr(value, "numpy") and hasattr(
                value, "dtype") and type(value).__name__ in ("EagerTensor", "ResourceVariable",
                                                             "Tensor", "UninitializedVariable"):
            try:
                arr = np.asarray(value.numpy())
            except Exception:
                return self._kept(value)
            return {"$": "tensor", "npy": array_bytes(arr),
                    "variable": "Variable" in type(value).__name__}
        if module.startswith("keras") and type(value).__name__ == "Variable" and hasattr(
                value, "numpy"):
            return {"$": "tensor", "npy": array_bytes(np.asarray(value.numpy())), "variable": True}
        if type(value).__name__ == "TensorShape" and module.startswith("tensorflow"):
            return {"$": "shape", "v": None if value.rank is None else value.as_list()}
        if type(value).__name__ == "TensorSpec" and module.startswith("tensorflow"):
            return {"$": "spec", "dtype": value.dtype.name,
                    "shape": None if value.shape.rank is None else value.shape.as_list()}
        if module.startswith("tensorflow") and any(c.__name__ == "DatasetV2"
                                                   for c in type(value).__mro__):
            return dataset_data(value, lambda v: self(v, depth + 1))
        if module.startswith("keras_tuner") and type(value).__name__ == "HyperParameters":
            config = value.get_config()
            json.dumps(config)
            return {"$": "hyperparameters", "config": config}
        if type(value).__name__ in _CALLBACK_ARGS and type(value).__module__.startswith(
                "keras.src.callbacks"):
            args = {name: getattr(value, name, None) for name in _CALLBACK_ARGS[
                type(value).__name__]}
            json.dumps(args)
            return {"$": "kcallback", "class": type(value).__name__, "args": args}
        if _is_builtin_keras_object(value):
            try:
                from keras import saving

                config = saving.serialize_keras_object(value)
                json.dumps(config)
                return {"$": "keras", "config": config}
            except Exception:
                return self._kept(value)
        if _is_model(value):
            try:
                return {"$": "model", "keras": model_bytes(value)}
            except Exception:
                return self._kept(value)
        if _is_layer(value):
            try:
                return layer_data(value, lambda v: self(v, depth + 1))
            except Exception:
                return self._kept(value)
        return self._kept(value)

    def _kept(self, value):
        number = self.keep(value)
        if number is None:
            raise Undecodable(f"a {type(value).__name__} cannot be sent across the sandbox wall")
        tag = "handle" if self.kind == "handle" else "callback"
        info = describe(value)
        spec = judge_side_spec(value) if self.kind == "callback" else None
        if spec is not None:
            info["proxy"] = {"methods": list(spec[0]), "attributes": list(spec[1])}
        return {"$": tag, "id": number, "info": info}


class Decoder:
    """Turns plain data back into values. ``handle(id, info)`` and ``callback(id, info)`` build
    the stand-ins for objects that stayed on the other side (``None``: refused)."""

    def __init__(self, handle=None, callback=None, identities=()):
        self.handle, self.callback = handle, callback
        self.identities = list(identities)

    def __call__(self, data, depth: int = 0):
        import numpy as np

        if depth > MAX_DEPTH:
            raise Undecodable("the value is nested too deeply")
        if data is None or isinstance(data, (bool, str, int, float)):
            return data
        if isinstance(data, list):
            raise Undecodable("an untagged list")
        if not isinstance(data, dict) or not isinstance(data.get("$"), str):
            raise Undecodable("an untagged value")
        tag, v = data["$"], data.get("v")
        if tag in ("list", "tuple", "set"):
            if not isinstance(v, list) or len(v) > MAX_ITEMS:
                raise Undecodable(f"a malformed {tag}")
            items = [self(x, depth + 1) for x in v]
            return {"list": list, "tuple": tuple, "set": set}[tag](items)
        if tag == "dict":
            if not isinstance(v, list) or len(v) > MAX_ITEMS:
                raise Undecodable("a malformed dict")
            out = {}
            for pair in v:
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise Undecodable("a malformed dict")
                key = self(pair[0], depth + 1)
                try:
                    out[key] = self(pair[1], depth + 1)
                except TypeError:
                    raise Undecodable("a dict key that cannot be hashed") from None
            return out
        if tag == "ellipsis":
            return Ellipsis
        if tag == "bigint" and isinstance(v, str) and len(v) < 5000:
            try:
                return int(v)
            except ValueError:
                pass
        if tag == "float" and v in ("nan", "inf", "-inf"):
            return float(v)
        if tag == "complex" and isinstance(v, list) and len(v) == 2:
            return complex(float(v[0]), float(v[1]))
        if tag == "array":
            return read_array(data.get("npy"))
        if tag == "scalar":
            arr = read_array(data.get("npy"))
            if arr.shape != ():
                raise Undecodable("a malformed scalar")
            return arr[()]
        if tag == "generator":
            state = self(data.get("state"), depth + 1)
            try:
                bits = getattr(np.random, state["bit_generator"])
                if not (isinstance(bits, type) and issubclass(bits, np.random.BitGenerator)):
                    raise TypeError
                generator = np.random.Generator(bits())
                generator.bit_generator.state = state
            except Exception:
                raise Undecodable("a malformed random generator") from None
            return generator
        if tag == "tensor":
            import tensorflow as tf

            arr = read_array(data.get("npy"))
            return tf.Variable(arr) if data.get("variable") else tf.constant(arr)
        if tag == "model":
            return read_model(data.get("keras"))
        if tag == "spec":
            import tensorflow as tf

            shape, dtype = data.get("shape"), data.get("dtype")
            try:
                return tf.TensorSpec(None if shape is None else [
                    None if d is None else int(d) for d in shape], tf.as_dtype(str(dtype)))
            except (TypeError, ValueError):
                raise Undecodable("a malformed tensor spec") from None
        if tag == "shape":
            import tensorflow as tf

            dims = data.get("v")
            if dims is not None and (not isinstance(dims, list) or len(dims) > 64 or any(
                    d is not None and (not isinstance(d, int) or isinstance(d, bool) or d < 0)
                    for d in dims)):
                raise Undecodable("a malformed tensor shape")
            return tf.TensorShape(dims)
        if tag == "dataset":
            passes = data.get("passes")
            if not isinstance(passes, list) or len(passes) > 2 or any(
                    not isinstance(p, list) or len(p) > MAX_DATASET_ELEMENTS for p in passes):
                raise Undecodable("a malformed dataset")
            types = _clean_info({"mro": data.get("types")})["mro"]
            error = data.get("error")
            return DatasetRecord(types, self(data.get("spec"), depth + 1),
                                 [[self(e, depth + 1) for e in p] for p in passes],
                                 str(error)[:200] if error else None)
        if tag == "hyperparameters":
            import keras_tuner as kt

            try:
                return kt.HyperParameters.from_config(data.get("config"))
            except Exception as exc:
                raise Undecodable(f"malformed hyperparameters ({type(exc).__name__})") from None
        if tag == "keras":
            from keras import saving

            vet_keras_config(data.get("config"))
            try:
                return saving.deserialize_keras_object(data.get("config"), safe_mode=True)
            except Exception as exc:
                raise Undecodable(f"a Keras object could not be rebuilt ({type(exc).__name__})"
                                  ) from None
        if tag == "layer":
            return read_layer(data, lambda x: self(x, depth + 1))
        if tag == "path" and isinstance(data.get("v"), str) and len(data["v"]) < 4096:
            return Path(data["v"])
        if tag == "kcallback":
            return read_callback(data)
        if tag == "arg":
            i = data.get("i")
            if isinstance(i, int) and 0 <= i < len(self.identities):
                return self.identities[i]
            raise Undecodable("a reference to an unknown argument")
        if tag in ("handle", "callback"):
            make = self.handle if tag == "handle" else self.callback
            number, info = data.get("id"), data.get("info")
            if make is None or not isinstance(number, int) or not isinstance(info, dict):
                raise Undecodable(f"an unexpected {tag}")
            return make(number, _clean_info(info))
        raise Undecodable(f"an unknown kind of value ({tag[:40]!r})")


def _clean_info(info: dict) -> dict:
    def text(x, limit=200):
        return str(x)[:limit] if isinstance(x, str) else "?"
    def names(x):
        return [text(n, 60) for n in x[:40]] if isinstance(x, list) else []
    mro = info.get("mro") if isinstance(info.get("mro"), list) else []
    clean = {"type": text(info.get("type")), "name": text(info.get("name"), 100),
             "callable": info.get("callable") is True, "class": info.get("class") is True,
             "mro": [text(m) for m in mro[:30]], "unfinished": info.get("unfinished") is True}
    if isinstance(info.get("proxy"), dict):
        clean["proxy"] = {"methods": names(info["proxy"].get("methods")),
                          "attributes": names(info["proxy"].get("attributes"))}
    return clean


def read_callback(data) -> object:
    """A built-in Keras callback rebuilt from its constructor arguments (``kcallback``)."""
    import keras

    name, args = data.get("class"), data.get("args")
    if name not in _CALLBACK_ARGS or not isinstance(args, dict) or set(args) - set(
            _CALLBACK_ARGS[name]) or not all(v is None or isinstance(v, (bool, int, float, str))
                                             for v in args.values()):
        raise Undecodable("a malformed Keras callback")
    args = {k: v for k, v in args.items() if v is not None}
    if name == "ModelCheckpoint":
        root, path = WRITABLE.get(), args.get("filepath")
        if root is None or not isinstance(path, str) or not Path(path).resolve().is_relative_to(
                Path(root).resolve()):
            raise Undecodable("a ModelCheckpoint writing outside the folder it was given")
    try:
        return getattr(keras.callbacks, name)(**args)
    except Exception as exc:
        raise Undecodable(f"a Keras callback could not be rebuilt ({type(exc).__name__})"
                          ) from None


def exception_data(exc: BaseException) -> dict:
    """An exception as data: its name, message, and the built-in or course class it is."""
    builtin = next((c.__name__ for c in type(exc).__mro__
                    if c.__module__ == "builtins" and issubclass(c, Exception)), "Exception")
    course = next((f"{c.__module__}.{c.__qualname__}" for c in type(exc).__mro__
                   if f"{c.__module__}.{c.__qualname__}" in COURSE_EXCEPTIONS), None)
    return {"type": type(exc).__name__[:80], "message": str(exc)[:300], "builtin": builtin,
            "course": course}


def exception_from_data(info) -> Exception:
    """The exception to raise for :func:`exception_data` (a course class, else a built-in)."""
    import builtins
    import importlib

    info = info if isinstance(info, dict) else {"message": str(info)}
    message = str(info.get("message", ""))[:300]
    if info.get("course") in COURSE_EXCEPTIONS:
        module, name = info["course"].rsplit(".", 1)
        return getattr(importlib.import_module(module), name)(message)
    cls = getattr(builtins, str(info.get("builtin")), None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        cls = RuntimeError
    try:
        return cls(message)
    except Exception:  # exceptions with unusual constructors
        return RuntimeError(message)


def dumps(message: dict) -> str:
    return json.dumps(message, allow_nan=False, separators=(",", ":"))


def loads(text, limit: int = 4 * MAX_BLOB) -> dict:
    """A message from the other side: a JSON object, or :class:`Undecodable`."""
    if not isinstance(text, str) or len(text) > limit:
        raise Undecodable("a message is missing or too large")
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        raise Undecodable("a message is not valid JSON") from None
    if not isinstance(message, dict):
        raise Undecodable("a message is not a JSON object")
    return message
