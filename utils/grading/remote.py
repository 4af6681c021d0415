"""The judge's side of the channel: stand-ins for the student's objects, and the link to the agent.

A check written for the notebook (``t.call(conv2d, x, w)``, ``model.count_params()``) runs
unchanged in the judge: data answers arrive as real values, Keras models as models rebuilt in
safe mode, and everything else as a :class:`Remote` whose calls and attributes are forwarded to
the kernel. Student code never runs here.
"""
from __future__ import annotations

import builtins
import itertools

from ..checks.core import Fail, judge_side_spec
from . import codec
from .agent import Agent


class CheckTimedOut(BaseException):
    """The student's code did not answer within the question's limit (not caught by checks)."""

    def __init__(self, limit: float, killed: bool):
        super().__init__(limit, killed)
        self.limit, self.killed = limit, killed


class AgentLost(BaseException):
    """The kernel stopped answering or answered nonsense (not caught by checks)."""


class RemoteError(Exception):
    """An exception the student's code raised in the kernel, by its type name."""


_raised_types: dict[str, type] = {}


def raised(info) -> BaseException:
    """The exception to raise in the judge for one the student's code raised."""
    info = info if isinstance(info, dict) else {}
    name = str(info.get("type", "Exception"))[:80]
    message = str(info.get("message", ""))[:300]
    builtin = getattr(builtins, name, None)
    if info.get("builtin") is True and isinstance(builtin, type) and issubclass(
            builtin, Exception):
        try:
            return builtin(message)
        except Exception:  # exceptions with unusual constructors
            pass
    if not name.isidentifier():
        name = "Exception"
    cls = _raised_types.setdefault(name, type(name, (RemoteError,), {}))
    return cls(message)


class Remote:
    """A student's object that stays in the kernel."""

    def __init__(self, link: Link, number: int, info: dict):
        object.__setattr__(self, "_link", link)
        object.__setattr__(self, "_number", number)
        object.__setattr__(self, "_info", info)

    @property
    def __name__(self) -> str:
        return self._info["name"]

    def __repr__(self) -> str:
        return f"<{self._info['type']} in the student's kernel>"

    @property
    def course_unfinished(self) -> bool:
        """True for a function whose code still raises NotImplementedError (see ``ready``)."""
        return self._info["unfinished"]

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._link.ask("getattr", self, name=name)

    def __iter__(self):
        return iter(self._link.ask("items", self))

    def __len__(self) -> int:
        value = self._link.ask("len", self)
        if not isinstance(value, int):
            raise TypeError("len() of the student's object is not an int")
        return value

    def __getitem__(self, key):
        return self._link.ask("getitem", self, key=self._link.encoder()(key))

    def remote_types(self) -> list[str]:
        """``module.qualname`` of the object's class and its bases (for a class: its own)."""
        return list(self._info["mro"])


class RemoteFunction(Remote):
    """A student's function, class or other callable: calls are forwarded to the kernel."""

    def __call__(self, *args, **kwargs):
        return self._link.call(self, args, kwargs)

    def as_functional(self, shape):
        """The function called on a symbolic ``keras.Input(shape)`` in the kernel (see
        ``Tester.functional``): returns ``(kind, model or name)``."""
        def call(*args, **kwargs):
            return self._link.call(self, args, kwargs, functional=list(shape))
        call.__name__ = self.__name__
        return call

    def with_gradient(self, wrt: int):
        """The function called under a gradient tape in the kernel (see ``Tester.gradient``):
        returns ``(value, gradient with respect to argument wrt)``."""
        def call(*args, **kwargs):
            return self._link.call(self, args, kwargs, gradient=wrt)
        call.__name__ = self.__name__
        return call


class Link:
    """Requests to the agent through a transport; decodes every reply as untrusted data."""

    def __init__(self, transport):
        self.transport = transport
        self.limit = 0.0    # seconds the student's code may use for the current question
        self.spent = 0.0
        self._callbacks: dict[int, object] = {}
        self._ids = itertools.count(1)

    # ---------------------------------------------------------------- codec hooks
    def _keep(self, value) -> int:
        """A judge object the kernel may only call (a function) or hand back (anything else)."""
        number = next(self._ids)
        self._callbacks[number] = value
        return number

    def _mine(self, number, info):
        if number not in self._callbacks:
            raise codec.Undecodable("an unknown judge object")
        return self._callbacks[number]

    @staticmethod
    def _theirs(value) -> int | None:
        return value._number if isinstance(value, Remote) else None

    def encoder(self) -> codec.Encoder:
        return codec.Encoder(self._keep, "callback", theirs=self._theirs)

    def decoder(self, identities=()) -> codec.Decoder:
        def proxy(number, info):
            return (RemoteFunction if info["callable"] else Remote)(self, number, info)
        return codec.Decoder(handle=proxy, callback=self._mine, identities=identities)

    # ---------------------------------------------------------------- the exchange
    def request(self, message: dict) -> dict:
        """Send one request; answer the agent's callbacks until its reply comes."""
        text = self.transport.exchange(codec.dumps(message), self)
        for _ in range(100_000):
            try:
                reply = codec.loads(text)
            except codec.Undecodable as exc:
                raise AgentLost(f"the kernel sent an unreadable reply ({exc})") from None
            if reply.get("op") != "callback":
                if "error" in reply:
                    raise AgentLost(f"the grader's agent in the kernel failed: "
                                    f"{str(reply['error'])[:200]}")
                return reply
            text = self.transport.exchange(self.answer_callback(reply), self)
        raise AgentLost("the kernel called back too often")

    def answer_callback(self, message: dict) -> str:
        """Run a judge function that the student's code called, on the data it sent; or, for
        an object kept with the judge (``judge_side``), one of its listed methods or attributes."""
        target = self._callbacks.get(message.get("id"))
        try:
            fn = self._member(target, message) if "member" in message else target
            if "member" in message and message.get("read"):
                return codec.dumps({"value": self.encoder()(fn)})
            if not callable(fn):
                raise codec.Undecodable("an unknown callback")
            decode = self.decoder()
            args = [decode(a) for a in message.get("args", [])]
            kwargs = {str(k): decode(v) for k, v in message.get("kwargs", [])}
            return codec.dumps({"value": self.encoder()(fn(*args, **kwargs))})
        except (CheckTimedOut, AgentLost):
            raise
        except Exception as exc:
            return codec.dumps({"raised": codec.exception_data(exc)})

    @staticmethod
    def _member(target, message: dict):
        """A listed method or attribute of an object kept with the judge."""
        spec = judge_side_spec(target) if target is not None else None
        name = message.get("member")
        methods, attributes = spec or ((), ())
        if name not in (attributes if message.get("read") else methods):
            raise codec.Undecodable(f"the grader's object offers no {str(name)[:40]!r}")
        return target if name == "__call__" else getattr(target, name)

    def _value(self, reply: dict, what: str, identities=()):
        if "value" in reply:
            try:
                return self.decoder(identities)(reply["value"])
            except codec.Undecodable as exc:
                raise Fail(f"{what} gave a value the grader cannot read: {exc}.") from None
        if "raised" in reply:
            raise raised(reply["raised"])
        if reply.get("interrupted"):
            raise KeyboardInterrupt()
        if "unsendable" in reply:
            raise Fail(f"{what} gave a value that cannot be graded "
                       f"({str(reply['unsendable'])[:200]}).")
        raise AgentLost("the kernel sent a reply without a value")

    def ask(self, op: str, target: Remote, **fields):
        reply = self.request(dict(fields, op=op, id=target._number))
        return self._value(reply, f"`{target.__name__}`")

    def call(self, target: Remote, args, kwargs, gradient: int | None = None,
             functional: list | None = None):
        import numpy as np

        encode = self.encoder()
        try:
            message = {"op": "call", "id": target._number, "errstate": np.geterr(),
                       "gradient": gradient, "functional": functional,
                       "args": [encode(a) for a in args],
                       "kwargs": [[str(k), encode(v)] for k, v in kwargs.items()]}
        except codec.Undecodable as exc:  # a check passed something that cannot travel
            raise RuntimeError(f"a check argument cannot be sent to the kernel: {exc}") from None
        reply = self.request(message)
        given = list(args) + list(kwargs.values())
        for item in reply.get("changed") or []:
            if isinstance(item, list) and len(item) == 2 and isinstance(item[0], int) \
                    and 0 <= item[0] < len(given):
                try:
                    update_in_place(given[item[0]], self.decoder()(item[1]))
                except codec.Undecodable:
                    pass
        return self._value(reply, f"`{target.__name__}`", identities=given)

    def run_kernel_side(self, key: str, args, kwargs, keep: bool):
        """Run a course helper marked ``kernel_side`` in the kernel on these arguments: its
        result stays there as a stand-in (``keep``) or comes back as data."""
        encode = self.encoder()
        try:
            message = {"op": "kernel_side", "fn": key, "keep": keep, "errstate": {},
                       "args": [encode(a) for a in args],
                       "kwargs": [[str(k), encode(v)] for k, v in kwargs.items()]}
        except codec.Undecodable as exc:
            raise RuntimeError(f"a check argument cannot be sent to the kernel: {exc}") from None
        return self._value(self.request(message), f"`{key.rsplit(':', 1)[-1]}`")

    def describe(self, names) -> dict:
        reply = self.request({"op": "describe", "names": list(names)})
        found = reply.get("names")
        if not isinstance(found, dict):
            raise AgentLost("the kernel did not describe its variables")
        return found

    def release(self) -> None:
        self.request({"op": "release"})


def update_in_place(original, new) -> None:
    """Make a judge object show what the student's code did to its copy in the kernel."""
    import numpy as np

    if isinstance(original, np.ndarray) and isinstance(new, np.ndarray):
        if original.shape == new.shape and original.flags.writeable:
            original[...] = new
    elif isinstance(original, list) and isinstance(new, list):
        original[:] = new
    elif isinstance(original, (dict, set)) and type(new) is type(original):
        original.clear()
        original.update(new)
    elif type(original).__name__ == "HyperParameters" and type(new) is type(original):
        original.__dict__.clear()   # the hyperparameters the student's code declared
        original.__dict__.update(new.__dict__)
    elif isinstance(original, np.random.Generator) and isinstance(new, np.random.Generator):
        original.bit_generator.state = new.bit_generator.state
    elif codec._is_model(original) or codec._is_layer(original):
        try:
            if [w.shape for w in original.weights] == [w.shape for w in new.weights]:
                original.set_weights(new.get_weights())
            mine = getattr(original, "layers", [original])
            theirs = getattr(new, "layers", [new])
            original.trainable = new.trainable
            if len(mine) == len(theirs):
                for a, b in zip(mine, theirs):
                    a.trainable = b.trainable
        except Exception:
            pass


class Namespace(dict):
    """The notebook's variables as the judge sees them: decoded on first use."""

    def __init__(self, link: Link, described: dict):
        super().__init__()
        self.link, self.described = link, described
        for name, entry in described.items():
            if isinstance(entry, dict) and not entry.get("missing"):
                dict.__setitem__(self, name, None)

    def __getitem__(self, name):
        entry = self.described[name]
        if "unsendable" in entry:
            raise Fail(f"`{name}` cannot be graded: {str(entry['unsendable'])[:200]}.")
        try:
            return self.link.decoder()(entry.get("value"))
        except codec.Undecodable as exc:
            raise Fail(f"`{name}` cannot be graded: {exc}.") from None


class LoopbackTransport:
    """The agent in this process, reached only through JSON text: for tests of the judge."""

    def __init__(self, namespace: dict):
        self.link: Link | None = None
        self.agent = Agent(namespace, self._callback)

    def _callback(self, text: str) -> str:
        return self.link.answer_callback(codec.loads(text))

    def exchange(self, text: str, link: Link) -> str:
        self.link = link
        return self.agent.handle(text)
