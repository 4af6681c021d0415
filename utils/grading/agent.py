"""The agent: the grader's only code inside a submission's kernel.

It answers the judge's requests about the notebook's variables (describe them, call a function
on given arguments, read an attribute) and sends plain data back (:mod:`utils.grading.codec`).
It decides nothing: the judge, outside the sandbox, computes every expected value and every
verdict. The student's code can tamper with the agent, as with anything in its own kernel; all
it can win that way is a wrong answer to its own questions.

In the kernel the judge starts it with one cell::

    import utils.grading.agent; utils.grading.agent.serve(globals())

and the conversation runs over Jupyter's stdin channel: each ``input()`` prompt carries the
agent's message, each reply the judge's next request.
"""
from __future__ import annotations

import builtins
import contextlib
import io
import itertools
import warnings

from . import codec

PROMPT = "course-grading-agent:"   # every message of the agent starts with this
MAX_ITEMS = 64                     # elements of an iterable materialised at once


class JudgeObject:
    """An object of the judge's that student code was given: it can only be handed back."""

    def __init__(self, number: int):
        self.number = number

    def __repr__(self) -> str:
        return "<an object of the grader's>"


class JudgeProxy(JudgeObject):
    """An object the check keeps with the judge (``judge_side``): its listed methods are called,
    and its listed attributes read, over there."""

    def __init__(self, number: int, agent: Agent, info: dict):
        super().__init__(number)
        self._agent, self._name = agent, info.get("name", "object")
        self._methods = set(info["proxy"]["methods"])
        self._attributes = set(info["proxy"]["attributes"])

    def __getattr__(self, name: str):
        if name.startswith("_") or name not in self._methods | self._attributes:
            raise AttributeError(f"the grader's {self._name} has no attribute {name!r}")
        if name in self._attributes:
            return self._agent.to_judge(self.number, name, read=True)
        return lambda *args, **kwargs: self._agent.to_judge(self.number, name, args, kwargs)

    def __call__(self, *args, **kwargs):
        if "__call__" not in self._methods:
            raise TypeError(f"the grader's {self._name} is not callable")
        return self._agent.to_judge(self.number, "__call__", args, kwargs)

    def __repr__(self) -> str:
        return f"<the grader's {self._name}>"


class Agent:
    """Holds the notebook's namespace and the objects the judge refers to by number."""

    def __init__(self, namespace: dict, ask):
        self.namespace, self.ask = namespace, ask
        self.handles: dict[int, object] = {}
        self._ids = itertools.count(1)

    # ---------------------------------------------------------------- the codec's two hooks
    def keep(self, value) -> int:
        number = next(self._ids)
        self.handles[number] = value
        return number

    def encoder(self, identities=()) -> codec.Encoder:
        return codec.Encoder(self.keep, "handle", identities,
                             theirs=lambda v: v.number if isinstance(v, JudgeObject) else None)

    def decoder(self) -> codec.Decoder:
        return codec.Decoder(handle=self._own, callback=self._callback)

    def _own(self, number: int, info: dict):
        if number not in self.handles:
            raise codec.Undecodable("an unknown handle")
        return self.handles[number]

    def _callback(self, number: int, info: dict):
        if "proxy" in info:
            return JudgeProxy(number, self, info)
        if not info.get("callable"):
            return JudgeObject(number)

        def judge_function(*args, **kwargs):
            return self.to_judge(number, None, args, kwargs)

        judge_function.__name__ = info.get("name", "judge_function")
        return judge_function

    def to_judge(self, number: int, member: str | None, args=(), kwargs=None, read=False):
        """Call a judge function (or a member of a judge object) and decode what comes back;
        what it raises is raised here as the same built-in or course exception."""
        encode = self.encoder()
        message = {"op": "callback", "id": number, "args": [encode(a) for a in args],
                   "kwargs": [[k, encode(v)] for k, v in (kwargs or {}).items()]}
        if member is not None:
            message.update(member=member, read=read)
        reply = codec.loads(self.ask(codec.dumps(message)))
        if "raised" in reply:
            raise codec.exception_from_data(reply["raised"])
        return self.decoder()(reply.get("value"))

    # ---------------------------------------------------------------- requests
    def handle(self, text: str) -> str:
        """One request in, one reply out (both JSON text); never raises."""
        try:
            request = codec.loads(text)
            op = request.get("op")
            method = getattr(self, "op_" + str(op), None)
            if method is None:
                return codec.dumps({"error": f"unknown request {op!r}"})
            return codec.dumps(method(request))
        except BaseException as exc:  # keep serving whatever the student's code did
            return codec.dumps({"error": f"{type(exc).__name__}: {str(exc)[:300]}"})

    def op_describe(self, request: dict) -> dict:
        encode = self.encoder()
        found = {}
        for name in request.get("names", []):
            name = str(name)
            if name not in self.namespace:
                found[name] = {"missing": True}
                continue
            try:
                found[name] = {"value": encode(self.namespace[name])}
            except BaseException as exc:
                found[name] = {"unsendable": f"{type(exc).__name__}: {str(exc)[:200]}"}
        return {"names": found}

    def _target(self, request: dict):
        number = request.get("id")
        if number not in self.handles:
            raise codec.Undecodable("an unknown handle")
        return self.handles[number]

    def _run(self, request: dict, action, identities=()):
        """Run student code; its result (or its exception) as a reply."""
        errors = request.get("errstate") or {}
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                    _errstate(errors):
                warnings.simplefilter("ignore")
                value = action()
        except KeyboardInterrupt:
            return {"interrupted": True}
        except BaseException as exc:
            return {"raised": {"type": type(exc).__name__[:80], "message": str(exc)[:300],
                               "builtin": getattr(builtins, type(exc).__name__, None)
                               is type(exc)}}
        try:
            encoder = self.encoder(identities)
            if isinstance(value, _Kept):
                return {"value": encoder._kept(value.value)}
            return {"value": encoder(value)}
        except BaseException as exc:
            return {"unsendable": f"{type(exc).__name__}: {str(exc)[:200]}"}

    def op_call(self, request: dict) -> dict:
        fn = self._target(request)
        decode = self.decoder()
        args = [decode(a) for a in request.get("args", [])]
        kwargs = {str(k): decode(v) for k, v in request.get("kwargs", [])}
        before = [self._fingerprint(a) for a in args + list(kwargs.values())]
        wrt, shape = request.get("gradient"), request.get("functional")
        if isinstance(shape, list) and all(d is None or isinstance(d, int) for d in shape):
            from ..checks.core import functional_model

            reply = self._run(request, lambda: functional_model(
                lambda x: fn(x, *args, **kwargs), tuple(shape)))
        elif isinstance(wrt, int) and 0 <= wrt < len(args):
            from ..checks.core import tape_gradient

            reply = self._run(request, lambda: tape_gradient(
                lambda *given: fn(*given, **kwargs), args, wrt))
        else:
            reply = self._run(request, lambda: fn(*args, **kwargs),
                              args + list(kwargs.values()))
        # arguments the student's code changed in place go back, so the judge can see it
        changed = []
        for i, (value, old) in enumerate(zip(args + list(kwargs.values()), before)):
            new = self._fingerprint(value)
            if new is not None and new != old:
                try:
                    changed.append([i, self.encoder()(value)])
                except BaseException:
                    pass
        reply["changed"] = changed
        return reply

    def _fingerprint(self, value):
        """A digest of what a call may change in place (None: nothing to watch)."""
        import hashlib

        try:
            if codec._is_model(value) or codec._is_layer(value):
                digest = hashlib.sha256(repr([(w.shape, w.trainable) for w in value.weights]
                                             + [value.trainable]).encode())
                for w in value.get_weights():
                    digest.update(w.tobytes())
                return digest.hexdigest()
            return codec.dumps(self.encoder()(value)) if _mutable(value) else None
        except BaseException:
            return None

    def op_getattr(self, request: dict) -> dict:
        target, name = self._target(request), str(request.get("name"))
        return self._run(request, lambda: getattr(target, name))

    def op_items(self, request: dict) -> dict:
        target = self._target(request)
        limit = min(int(request.get("limit", MAX_ITEMS)), MAX_ITEMS)
        return self._run(request, lambda: list(itertools.islice(iter(target), limit)))

    def op_len(self, request: dict) -> dict:
        target = self._target(request)
        return self._run(request, lambda: len(target))

    def op_getitem(self, request: dict) -> dict:
        target, key = self._target(request), self.decoder()(request.get("key"))
        return self._run(request, lambda: target[key])

    def op_kernel_side(self, request: dict) -> dict:
        """Run a check helper marked ``kernel_side`` on the student's objects (``Tester.make``
        keeps its result here; ``Tester.collect`` sends it back as data)."""
        import importlib

        from ..checks import core

        key = str(request.get("fn"))
        module = key.split(":", 1)[0]
        if not module.startswith("utils.checks.lesson"):
            raise codec.Undecodable("not a check helper")
        importlib.import_module(module)
        fn = core._KERNEL_SIDE.get(key)
        if fn is None:
            raise codec.Undecodable("not a check helper")
        decode = self.decoder()
        args = [decode(a) for a in request.get("args", [])]
        kwargs = {str(k): decode(v) for k, v in request.get("kwargs", [])}
        if request.get("keep") is True:
            reply = self._run(request, lambda: _Kept(fn(*args, **kwargs)))
        else:
            reply = self._run(request, lambda: fn(*args, **kwargs))
        return reply

    def op_release(self, request: dict) -> dict:
        self.handles.clear()
        return {"released": True}


class _Kept:
    """A result that stays in the kernel as a handle even when it could travel as data."""

    def __init__(self, value):
        self.value = value


def _mutable(value) -> bool:
    import numpy as np

    return isinstance(value, (list, dict, set, np.ndarray, np.random.Generator)) or (
        type(value).__name__ == "HyperParameters" and type(value).__module__.startswith(
            "keras_tuner"))


@contextlib.contextmanager
def _errstate(errors: dict):
    import numpy as np

    allowed = {k: v for k, v in errors.items()
               if k in ("divide", "over", "under", "invalid")
               and v in ("ignore", "warn", "raise", "call", "print", "log")}
    with np.errstate(**(allowed or {"all": "ignore"})):
        yield


def serve(namespace: dict) -> None:
    """Answer the judge until it says goodbye (run by the judge's cell in the kernel)."""
    ask = builtins.input
    agent = Agent(namespace, lambda text: ask(PROMPT + text))
    message = codec.dumps({"hello": True})
    while True:
        try:
            text = agent.ask(message)
        except KeyboardInterrupt:
            message = codec.dumps({"interrupted": True})
            continue
        if text == "bye":
            return
        message = agent.handle(text)
