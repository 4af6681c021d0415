"""The exercise-check framework: questions, results, hints and solutions.

A lesson module (``utils/checks/lessonNN.py``) defines its questions with :func:`question`::

    @question(names=["softmax"], hints=["Subtract the row maximum first."])
    def q1(t, softmax):
        "softmax with the max-subtraction trick"
        out = t.call(softmax, np.zeros((2, 3)), where="a batch of zeros")
        t.array(out, np.full((2, 3), 1 / 3), "softmax(zeros)")

In the notebook, ``q1.check()`` reads ``softmax`` from the notebook's namespace, runs the
cases and shows PASS / FAIL / NOT ATTEMPTED / ERROR with a score in [0, 1].
"""
from __future__ import annotations

import contextvars
import inspect
import json
import sys
import traceback
import warnings
import weakref
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..course import SOLUTION_STORE
from .status import ERROR, FAIL, NOT_ATTEMPTED, PASS

MIME = "application/vnd.cnn-course.check+json"
# JupyterLab's theme colours (readable in light and dark themes), with fallbacks elsewhere; the
# status is always spelled out, so nothing depends on colour or on an emoji font.
_COLOURS = {PASS: "var(--jp-success-color1, #1a7f37)", FAIL: "var(--jp-error-color1, #b3261e)",
            NOT_ATTEMPTED: "var(--jp-warn-color1, #7a5300)",
            ERROR: "var(--jp-info-color1, #6639ba)"}


# Where a notebook's relative file names point while the grader's judge runs its checks (its
# own folder outside the sandbox); None in the notebook itself.
FILES_ROOT: contextvars.ContextVar[Path | None] = contextvars.ContextVar("files_root",
                                                                          default=None)
NOTEBOOK_FOLDER = "/submission"   # the notebook's folder as the sandboxed kernel sees it
# The folder a check handed to student code, where a judge-side object may write on its behalf
# (a ModelCheckpoint rebuilt in the grader's judge writes only there); None: nowhere.
WRITABLE: contextvars.ContextVar[Path | None] = contextvars.ContextVar("writable", default=None)


class Fail(Exception):
    """Stops a check: the answer is wrong in a way that makes further cases meaningless."""


class NotAttempted(Exception):
    """Stops a check: the exercise still holds the release placeholder."""


@dataclass
class Result:
    """The outcome of one check."""

    question: str
    status: str
    score: float
    messages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        head = f"[{self.status}] {self.question} (score {self.score:.2f})"
        return "\n".join([head] + [f"  - {m}" for m in self.messages])

    def _repr_markdown_(self) -> str:
        colour = _COLOURS[self.status]
        head = (f'<span style="color:{colour}"><b>[{self.status}]</b></span>'
                f" &nbsp; {self.question} &nbsp; (score {self.score:.2f})")
        return "\n".join([head, ""] + [f"- {m}" for m in self.messages])

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/markdown": self._repr_markdown_(), "text/plain": str(self),
                MIME: self.to_dict()}


def is_placeholder(value) -> bool:
    """True for the release placeholder ``...`` (Ellipsis) left in an unfilled exercise."""
    return value is Ellipsis


def ready(*values) -> bool:
    """True when every value is filled in: not ``...``, not ``None``, not a function that still raises
    ``NotImplementedError``. Lessons use it to skip demos that need an unfinished exercise."""
    for value in values:
        if value is None or is_placeholder(value):
            return False
        if getattr(value, "course_unfinished", False) is True:  # a stand-in in the judge
            return False
        code = getattr(value, "__code__", None)
        if code is not None and "NotImplementedError" in code.co_names:
            return False
    return True


def tape_gradient(call, args, wrt: int):
    """``(call(*args), gradient with respect to args[wrt])`` under a TensorFlow tape; the
    gradient is None where the code cannot be differentiated (see ``Tester.gradient``)."""
    import tensorflow as tf

    given = list(args)
    variable = tf.Variable(given[wrt])
    given[wrt] = variable
    with tf.GradientTape() as tape:
        value = call(*given)
    try:
        grad = tape.gradient(value, variable) if isinstance(value, tf.Tensor) else None
    except Exception:  # e.g. an integer tensor: not differentiable either
        grad = None
    return value, grad


def functional_model(call, shape):
    """Call ``call`` on ``keras.Input(shape)`` and wrap the result as a model (see
    ``Tester.functional``)."""
    import keras

    inputs = keras.Input(shape)
    out = call(inputs)
    if not isinstance(out, keras.KerasTensor):
        return ("not a tensor", type(out).__name__)
    try:
        return ("model", keras.Model(inputs, out))
    except Exception as exc:
        return ("not connected", type(exc).__name__)


def is_a(value, cls: type) -> bool:
    """``isinstance(value, cls)``, also for the grader's stand-in of an object that stays in the
    student's kernel (judged by the names of its classes)."""
    if isinstance(value, cls):
        return True
    types = getattr(value, "remote_types", None)
    return callable(types) and not getattr(value, "_info", {}).get("class") and \
        f"{cls.__module__}.{cls.__qualname__}" in types()


def is_subclass(value, cls: type) -> bool:
    """``issubclass(value, cls)`` for a class, also for the grader's stand-in of a student's
    class (judged by the names of its bases)."""
    if isinstance(value, type):
        return issubclass(value, cls)
    types = getattr(value, "remote_types", None)
    return callable(types) and getattr(value, "_info", {}).get("class") is True and \
        f"{cls.__module__}.{cls.__qualname__}" in types()


def type_name(value) -> str:
    """The class name of an answer, also for the grader's stand-in of a student's object."""
    types = getattr(value, "remote_types", None)
    if callable(types) and types():
        return types()[0].rsplit(".", 1)[-1]
    return type(value).__name__


def show(obj) -> None:
    """Display rich output in Jupyter, plain text elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            display(obj)
            return
    except ImportError:  # pragma: no cover
        pass
    print(obj)


_KERNEL_SIDE: dict[str, object] = {}   # course functions the grader may run in the kernel
_JUDGE_SIDE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def kernel_side(fn):
    """Mark a check helper that runs where the student's code runs (``Tester.make`` and
    ``Tester.collect``): in the notebook that is here, in the grader the submission's kernel."""
    _KERNEL_SIDE[kernel_key(fn)] = fn
    return fn


def kernel_key(fn) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


def judge_side(obj, methods=(), attributes=()):
    """Keep ``obj`` (a recording model, a fake loader) with the check when it is handed to
    student code. In the grader the kernel gets a stand-in that forwards the listed methods and
    attribute reads to the judge, so what the object records cannot be forged. Returns ``obj``."""
    _JUDGE_SIDE[obj] = (tuple(methods), tuple(attributes))
    return obj


def judge_side_spec(obj) -> tuple | None:
    """``(methods, attributes)`` of an object marked with :func:`judge_side`, else None."""
    try:
        return _JUDGE_SIDE.get(obj)
    except TypeError:  # unhashable or not weak-referenceable: never marked
        return None


class Tester:
    """Collects the cases of one check; passed to every check function as ``t``."""

    def __init__(self, answers: dict | None = None, link=None):
        self.answers = {} if answers is None else answers
        self.link = link   # the grader's link to the student's kernel; None in the notebook
        self.passed = 0
        self.total = 0
        self.failures: list[str] = []

    def case(self, ok: bool, message: str) -> bool:
        """Record one case; ``message`` is shown when it fails."""
        self.total += 1
        if ok:
            self.passed += 1
        else:
            self.failures.append(message)
        return bool(ok)

    def fail(self, message: str):
        """Stop the check with a FAIL and this message."""
        raise Fail(message)

    def call(self, fn, *args, where: str = "", **kwargs):
        """Call the student's function; its exceptions become FAIL messages naming ``where``."""
        name = next((k for k, v in self.answers.items() if v is fn), None)
        name = name or getattr(fn, "__name__", "your function")
        if not callable(fn):
            raise Fail(f"`{name}` should be a function, but it is a {type(fn).__name__}.")
        try:
            return fn(*args, **kwargs)
        except (Fail, NotAttempted):  # raised by the grader's link to the kernel
            raise
        except NotImplementedError:
            raise NotAttempted(f"`{name}` still raises NotImplementedError: fill in its body.")
        except Exception as exc:  # the student's code failed
            raise Fail(f"`{name}` raised {type(exc).__name__}: {str(exc)[:200]}"
                       + (f" (on {where})" if where else ""))

    def gradient(self, fn, *args, wrt: int, where: str = ""):
        """``(fn(*args), d fn / d args[wrt])`` with TensorFlow's tape (the gradient is None where
        TensorFlow cannot differentiate the student's code). In the grader's judge the tape runs
        in the student's kernel, next to the function."""
        via_kernel = getattr(fn, "with_gradient", None)
        if callable(via_kernel):
            value, grad = self.call(via_kernel(wrt), *args, where=where)
            return value, grad
        return tape_gradient(lambda *given: self.call(fn, *given, where=where), args, wrt)

    def functional(self, fn, shape, *args, where: str = "", **kwargs):
        """``fn(keras.Input(shape), *args)`` wrapped as a Keras model: ``("model", model)``, or
        ``("not a tensor", type name)`` / ``("not connected", exception name)``. In the grader's
        judge the symbolic call runs in the student's kernel and the model comes back."""
        via_kernel = getattr(fn, "as_functional", None)
        if callable(via_kernel):
            outcome = self.call(via_kernel(shape), *args, where=where, **kwargs)
            if not (isinstance(outcome, tuple) and len(outcome) == 2):
                raise Fail(f"the grader could not build a model from `{fn.__name__}`.")
            return outcome
        return functional_model(lambda x: self.call(fn, x, *args, where=where, **kwargs), shape)

    def make(self, factory, *args, **kwargs):
        """``factory(*args)`` built where the student's code runs (see :func:`kernel_side`): in
        the grader the object stays in the kernel and a stand-in comes back."""
        if self.link is None:
            return factory(*args, **kwargs)
        return self.link.run_kernel_side(kernel_key(factory), args, kwargs, keep=True)

    def collect(self, fn, *args, where: str = "", **kwargs):
        """``fn(*args)`` run where the student's code runs (see :func:`kernel_side`), for
        measurements that must happen next to it (a compiled training step); the result comes
        back as plain data. Exceptions of the student's code become FAIL messages."""
        try:
            if self.link is None:
                return fn(*args, **kwargs)
            return self.link.run_kernel_side(kernel_key(fn), args, kwargs, keep=False)
        except (Fail, NotAttempted):
            raise
        except NotImplementedError:
            raise NotAttempted("your code still raises NotImplementedError: fill in its body.")
        except Exception as exc:
            raise Fail(f"your code raised {type(exc).__name__}: {str(exc)[:200]}"
                       + (f" (on {where})" if where else ""))

    def file(self, value, name: str) -> Path:
        """The file a path answer names, as this process can open it: in the grader's judge,
        inside the notebook's own folder only (a name leading elsewhere is a FAIL)."""
        if not isinstance(value, (str, Path)):
            raise Fail(f"`{name}` should be a path (a str or a Path), not a "
                       f"{type(value).__name__}.")
        path, root = Path(value), FILES_ROOT.get()
        if root is None:
            return path
        if path.is_absolute():
            if not path.is_relative_to(NOTEBOOK_FOLDER):
                raise Fail(f"`{name}` = {str(value)!r} is outside the notebook's folder; save "
                           "the file next to the notebook (a relative path) so it can be graded.")
            path = path.relative_to(NOTEBOOK_FOLDER)
        found = (root / path).resolve()
        if not found.is_relative_to(root.resolve()):
            raise Fail(f"`{name}` = {str(value)!r} leads outside the notebook's folder.")
        return found

    # Answers of a kind, or a FAIL saying what the answer is instead. The course's one rule for
    # whole numbers: any integer type, or a float whose value is whole (12.0 is the count 12).
    def numbers(self, value, name: str, shape=None, finite: bool = True) -> np.ndarray:
        """The answer as a NumPy array of numbers (of ``shape`` if given; finite if asked)."""
        from .compare import _shape, as_array

        arr, problem = as_array(value, name)
        if problem:
            raise Fail(problem)
        if shape is not None and arr.shape != tuple(shape):
            raise Fail(f"`{name}` has shape {_shape(arr.shape)}; it should have shape "
                       f"{_shape(tuple(shape))}.")
        if finite and arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise Fail(f"`{name}` contains NaN or infinity.")
        return arr

    def number(self, value, name: str) -> float:
        """The answer as one finite number (a Python or NumPy scalar, or a 0-d or 1-element
        array or tensor)."""
        if isinstance(value, (bool, np.bool_, str, bytes, dict, list, tuple, set)) or callable(value):
            if isinstance(value, (list, tuple)) and len(value) == 1:
                value = value[0]
            else:
                raise Fail(f"`{name}` is a {type(value).__name__}; it should be one number.")
        arr = self.numbers(value, name)
        if arr.size != 1:
            raise Fail(f"`{name}` has shape {arr.shape}; it should be a single number.")
        return float(arr.reshape(()))

    def whole(self, value, name: str) -> int:
        """The answer as a whole number: an int of any type, or a float with a whole value."""
        if isinstance(value, (bool, np.bool_)):
            raise Fail(f"`{name}` is a bool; it should be a whole number.")
        number = self.number(value, name)
        if number != int(number):
            raise Fail(f"`{name}` is {number:g}, not a whole number (a size or a count: did a "
                       "`/` need to be `//`?).")
        return int(number)

    def shape(self, value, name: str) -> tuple:
        """The answer as a shape: a tuple, list or TensorShape of whole numbers."""
        if isinstance(value, np.ndarray) and value.ndim == 1:
            value = value.tolist()
        if not isinstance(value, (tuple, list)) and type(value).__name__ != "TensorShape":
            raise Fail(f"`{name}` should be a tuple of whole numbers such as `(3, 4)`, not a "
                       f"{type(value).__name__}.")
        return tuple(self.whole(v, f"{name}[{i}]") for i, v in enumerate(value))

    def mistake(self, actual, mistakes, rtol: float = 1e-5, atol: float = 1e-6) -> str | None:
        """The message of the first known mistake whose value ``actual`` matches, else None:
        ``t.mistake(out, [(value_without_bias, "the bias is missing"), ...])``."""
        from .compare import compare_arrays

        for wrong, message in mistakes:
            if compare_arrays(actual, wrong, "x", rtol=rtol, atol=atol) is None:
                return message
        return None

    def array(self, actual, expected, name: str, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
        """Record a case comparing arrays with tolerances (shape, dtype, NaN first)."""
        from .compare import compare_arrays

        problem = compare_arrays(actual, expected, name, rtol=rtol, atol=atol)
        return self.case(problem is None, problem or "")

    def model(self, actual, reference, name: str = "your model", **options) -> bool:
        """Record a case comparing two Keras models by their public APIs."""
        from .compare import compare_models

        problem = compare_models(actual, reference, name, **options)
        return self.case(problem is None, problem or "")


class Question:
    """One exercise: ``check()``, ``hint(n)``, ``solution()``."""

    def __init__(self, lesson: str, number: int, names, checker, hints=(), title: str = ""):
        self.lesson, self.number, self.names = lesson, number, tuple(names)
        self.checker, self.hints, self.title = checker, list(hints), title

    @property
    def label(self) -> str:
        return f"Lesson {self.lesson} q{self.number}" + (f" ({self.title})" if self.title else "")

    @property
    def key(self) -> str:
        return f"q{self.number}"

    def __repr__(self) -> str:
        return (f"<{self.label}: answer in {', '.join(self.names)}; "
                f"q{self.number}.check(), .hint(), .solution()>")

    def evaluate(self, namespace: dict | None = None, **given) -> Result:
        """Run the check silently and return its :class:`Result` (never raises)."""
        if namespace is None:
            namespace = vars(sys.modules["__main__"])
        answers: dict = {}
        tester = Tester(answers, link=getattr(namespace, "link", None))
        try:
            for name in self.names:
                if name in given:
                    answers[name] = given[name]
                elif name in namespace:
                    answers[name] = namespace[name]
                else:
                    raise NotAttempted(f"`{name}` is not defined: run the exercise cell above first.")
                if is_placeholder(answers[name]):
                    raise NotAttempted(f"`{name}` still holds the placeholder `...`: "
                                       "replace it with your answer.")
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                self.checker(tester, **answers)
        except NotAttempted as exc:
            return Result(self.label, NOT_ATTEMPTED, 0.0, [str(exc)])
        except Fail as exc:
            return Result(self.label, FAIL, tester.passed / (tester.total + 1),
                          [str(exc)] + tester.failures[:2])
        except Exception as exc:  # a bug in the check itself, not in the answer
            where = traceback.extract_tb(exc.__traceback__)[-1]
            return Result(self.label, ERROR, 0.0,
                          [f"The check itself crashed ({type(exc).__name__}: {str(exc)[:200]} "
                           f"at {Path(where.filename).name}:{where.lineno}). "
                           + _report_it()])
        if tester.total == 0:
            return Result(self.label, ERROR, 0.0, ["The check ran no case. " + _report_it()])
        if tester.passed == tester.total:
            return Result(self.label, PASS, 1.0,
                          [f"All {tester.total} case{'s' if tester.total > 1 else ''} passed."])
        score = tester.passed / tester.total
        shown = tester.failures[:3]
        more = len(tester.failures) - len(shown)
        tail = [f"... and {more} more failing case(s)."] if more > 0 else []
        return Result(self.label, FAIL, score,
                      [f"{tester.passed} of {tester.total} cases passed."] + shown + tail)

    def check(self, **given) -> None:
        """Check your answer and show the result (reads the answer from the notebook)."""
        result = self.evaluate(**given)
        from .tracking import record

        record(self.lesson, self.key, result.status)
        show(result)

    def hint(self, n: int = 1) -> None:
        """Show hint ``n`` (1 = gentlest)."""
        if not self.hints:
            show(_Markdown(f"No hints for {self.label}."))
        elif not isinstance(n, int) or not 1 <= n <= len(self.hints):
            show(_Markdown(f"{self.label} has hints 1 to {len(self.hints)}; try `q{self.number}.hint(1)`."))
        else:
            show(_Markdown(f"**Hint {n}/{len(self.hints)}** for {self.label}: {self.hints[n - 1]}"))

    def solution(self) -> None:
        """Show the worked solution (try the hints first)."""
        code = solution_code(self.lesson, self.key)
        if code is None:
            show(_Markdown(f"No stored solution for {self.label}; see `solutions/` in the repository."))
        else:
            show(_Markdown(f"**Solution** for {self.label}:\n\n```python\n{code}\n```"))


class _Markdown:
    def __init__(self, text: str):
        self.text = text

    def _repr_markdown_(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


def _report_it() -> str:
    from ..course import project_urls

    where = project_urls().get("Issues")
    return (f"Please report it at {where} (this is a bug in the course, not in your answer)."
            if where else "Please report it to the course maintainers.")


def solution_code(lesson: str, key: str) -> str | None:
    """The solution code stored by the release step for one question, or None."""
    path = SOLUTION_STORE / f"lesson{lesson}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")).get(key)
    except (OSError, ValueError):
        return None


def question(names, hints=()):
    """Decorator turning ``def qN(t, *answers)`` in ``lessonNN.py`` into a :class:`Question`."""

    def wrap(fn) -> Question:
        module = sys.modules[fn.__module__].__name__.rsplit(".", 1)[-1]
        lesson = module.removeprefix("lesson")
        title = (inspect.getdoc(fn) or "").splitlines()[0] if fn.__doc__ else ""
        return Question(lesson, int(fn.__name__.lstrip("q")), names, fn, hints, title)

    return wrap


def questions_of(module) -> list[Question]:
    """The questions a lesson module defines, in order."""
    found = [v for v in vars(module).values() if isinstance(v, Question)]
    return sorted(found, key=lambda q: q.number)


def grade_all(module, namespace: dict) -> list[dict]:
    """Evaluate every question of ``module`` against ``namespace``; used by the grader."""
    return [dict(q.evaluate(namespace).to_dict(), key=q.key) for q in questions_of(module)]


def lesson_modules() -> dict:
    """Every lesson check module, imported, by lesson number (this imports TensorFlow)."""
    import importlib

    from ..course import lesson_numbers

    return {n: importlib.import_module(f"utils.checks.lesson{n}") for n in lesson_numbers()}
