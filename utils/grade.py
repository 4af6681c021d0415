"""Grade a class's notebooks for one lesson into a CSV gradebook with per-student feedback.

    python -m utils.grade submissions/ --lesson 03 --out grades.csv
    python -m utils.grade a.ipynb b.ipynb --lesson 03 --out grades.csv --workers 2 \\
        --cell-timeout 120 --timeout 900 --feedback-dir feedback/ --tests ~/private-tests/
    python -m utils.grade my_notebook.ipynb --lesson 03     # a student checking their own work

(also installed as the console script ``course-grade``). See ``docs/grading.md``.

How one submission is graded (:func:`grade_one`, in a worker process):

1. The file is read once (it is never written) and parsed; anything that is not a notebook is an
   ``error`` row. Only the notebook is copied into a fresh temporary folder: nothing the student
   shipped beside it (a ``utils/`` folder, ...) is visible to the kernel.
2. A fresh ``python3`` kernel is started with nbclient in that folder, in smoke mode unless told
   otherwise. The student's code cells run one by one (cells holding only ``qN.check()`` /
   ``qN.hint()`` / ``qN.solution()`` calls are skipped: the grader runs the checks itself). A cell
   that raises is noted and the next cell runs. A cell over the per-cell limit is interrupted and
   the next cell runs; when the per-notebook limit is reached no further cell runs. A cell that
   kills the kernel, or ignores the interrupt, costs one restart: a fresh kernel re-runs the cells
   that ran before it, skips it and goes on.
3. The grader then executes its own cell in that kernel: it drops every ``utils*`` module from
   ``sys.modules``, imports the canonical checks of the lesson from the course folder with a clean
   import system, runs every question (and the instructor's private questions) against the
   notebook's variables, and writes the results as JSON to a random path the grader chose, with a
   random nonce. Nothing the notebook printed or displayed is read.
"""
from __future__ import annotations

import argparse
import ast
import asyncio
import csv
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKS_DIR = ROOT / "utils" / "checks"

GRADED, TIMEOUT, ERROR, MISSING = "graded", "timeout", "error", "missing"
STATUS_ORDER = (ERROR, TIMEOUT, MISSING, GRADED)  # the first that applies wins
EXTRA_PREFIX = "extra_"

DEFAULT_CELL_TIMEOUT = 300.0
DEFAULT_TIMEOUT = 1200.0
INTERRUPT_GRACE = 10.0  # seconds a cell gets to stop after an interrupt before the kernel is killed
STARTUP_TIMEOUT = 120.0
MAX_RESTARTS = 1

_CHECK_ONLY_METHODS = {"check", "hint", "solution"}


class UsageError(Exception):
    """Bad command-line input: reported as one clear line, never a traceback."""


class InvalidNotebook(Exception):
    """The submission is not a readable Jupyter notebook."""


# --------------------------------------------------------------------------- the lesson

def normalise_lesson(text: str) -> str:
    """``"3"``, ``"03"``, ``"lesson03"``, ``"03_convolution"`` -> ``"03"``."""
    match = re.fullmatch(r"\s*(?:lesson[\s_-]*)?(\d{1,2})(?:[\s_-].*)?", str(text), re.IGNORECASE)
    if not match:
        raise UsageError(f"--lesson should be a lesson number such as 03, not {text!r}")
    return f"{int(match.group(1)):02d}"


def known_lessons(root: Path = ROOT) -> list[str]:
    """Lesson numbers that have a check module ``utils/checks/lessonNN.py``."""
    return sorted(p.stem.removeprefix("lesson")
                  for p in (root / "utils" / "checks").glob("lesson[0-9][0-9].py"))


def _question_key(node) -> str | None:
    name = getattr(node, "name", None) or getattr(node, "id", None)
    return name if name and re.fullmatch(r"q\d+", name) else None


def questions_in(path: Path) -> list[dict]:
    """The questions a check module defines, read from its source (no import, so no TensorFlow):
    ``[{"key": "q1", "names": ["softmax"]}, ...]`` in question order."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.decorator_list:
            key = _question_key(node)
            if key:
                names = []
                for deco in node.decorator_list:
                    for kw in getattr(deco, "keywords", []):
                        if kw.arg == "names":
                            try:
                                names = [str(n) for n in ast.literal_eval(kw.value)]
                            except ValueError:
                                pass
                    args = getattr(deco, "args", [])
                    if args and not names:
                        try:
                            names = [str(n) for n in ast.literal_eval(args[0])]
                        except ValueError:
                            pass
                found[key] = names
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                key = _question_key(target)
                if key:
                    found.setdefault(key, [])
    return [{"key": k, "names": v} for k, v in sorted(found.items(), key=lambda kv: int(kv[0][1:]))]


def lesson_allows_smoke(path: Path) -> bool:
    """False when the check module says ``GRADE_SMOKE = False`` (its checks need the real data)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return True
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "GRADE_SMOKE"
                                                for t in node.targets):
            try:
                return bool(ast.literal_eval(node.value))
            except ValueError:
                return True
    return True


def lesson_topic(lesson: str, root: Path = ROOT) -> str | None:
    """The notebook stem of a lesson, e.g. ``03_convolution``."""
    for folder in ("lessons", "solutions"):
        found = sorted((root / folder).glob(f"{lesson}_*.ipynb"))
        if found:
            return found[0].stem
    return None


# --------------------------------------------------------------------------- submissions

def find_submissions(paths) -> list[Path]:
    """Notebooks named on the command line, and every ``*.ipynb`` under named folders (hidden
    folders such as ``.ipynb_checkpoints`` are skipped). A file named explicitly is always graded,
    whatever its extension (a non-notebook becomes an ``error`` row)."""
    found: list[Path] = []
    seen: set[Path] = set()
    for text in paths:
        path = Path(text).expanduser()
        if not path.exists():
            raise UsageError(f"no such file or folder: {text}")
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*.ipynb") if p.is_file() and not any(
                part.startswith(".") for part in p.relative_to(path).parts))
            if not inside:
                raise UsageError(f"no notebooks (*.ipynb) in folder {text}")
        else:
            inside = [path]
        for p in inside:
            key = p.resolve()
            if key not in seen:
                seen.add(key)
                found.append(p)
    if not found:
        raise UsageError("no submissions given")
    return found


_SEP = r"[\s._-]+"


def student_name(path: Path, lesson: str, topic: str | None = None, roots=()) -> str:
    """Who a submission belongs to, from its file name (see docs/grading.md):

    the file name without ``.ipynb`` and without a browser copy mark such as `` (1)``, with the
    lesson's notebook name (``03_convolution``) and the lesson number (``03``, ``3``,
    ``lesson03``, ``lesson_3``) removed where they stand as a whole word at the start or the end:
    ``alice_03.ipynb``, ``alice.ipynb``, ``03_convolution_alice.ipynb``, ``alice-lesson3.ipynb``
    -> ``alice``. When nothing is left (``alice/03_convolution.ipynb``), the name of the folder
    holding the notebook is used, unless that folder was given on the command line.
    """
    stem = path.name[: -len(".ipynb")] if path.name.lower().endswith(".ipynb") else path.stem
    name = re.sub(r"\s*\(\d+\)$", "", stem.strip())
    number = rf"(?:lesson{_SEP[:-1]}*)?0*{int(lesson)}" if lesson.isdigit() else re.escape(lesson)
    for token in ([re.escape(topic)] if topic else []) + [number]:
        name = re.sub(rf"^{token}(?:{_SEP}|$)", "", name, flags=re.IGNORECASE)
        name = re.sub(rf"(?:^|{_SEP}){token}$", "", name, flags=re.IGNORECASE)
    name = name.strip(" ._-")
    if not name:
        parent = path.resolve().parent
        given = {Path(r).resolve() for r in roots} | {Path.cwd().resolve()}
        name = parent.name if parent not in given and parent.name else stem
    return name


def safe_file_name(text: str) -> str:
    """A name usable as a file name on every system."""
    return re.sub(r"[^\w.-]+", "_", text, flags=re.UNICODE).strip("._") or "student"


# --------------------------------------------------------------------------- notebooks

def check_json(raw: bytes) -> str:
    """The text of a submission that looks like a Jupyter notebook (checked without nbformat,
    which is slow to import); :class:`InvalidNotebook` with a reason a student understands."""
    if not raw.strip():
        raise InvalidNotebook("the file is empty")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidNotebook("the file is not text (not UTF-8)") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidNotebook(f"the file is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise InvalidNotebook("the JSON has no list of cells, so it is not a Jupyter notebook")
    if not isinstance(data.get("nbformat"), int) or data["nbformat"] < 4:
        raise InvalidNotebook("only nbformat 4 notebooks (Jupyter 4 or later) can be graded")
    return text


def load_notebook(raw: bytes):
    """Parse a submission; :class:`InvalidNotebook` with a reason a student understands."""
    import nbformat

    text = check_json(raw)
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises many kinds of errors on broken files
        raise InvalidNotebook(f"the notebook cannot be read ({type(exc).__name__}: "
                              f"{str(exc)[:150]})") from None
    for index, cell in enumerate(nb.cells, 1):
        if cell.get("cell_type") not in ("code", "markdown", "raw") or not isinstance(
                cell.get("source"), str):
            raise InvalidNotebook(f"cell {index} is malformed")
    return nb


def is_check_only(source: str) -> bool:
    """True for a cell holding only ``qN.check()`` / ``qN.hint(...)`` / ``qN.solution()`` calls."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    if not tree.body:
        return False
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and isinstance(call.func.value, ast.Name)
                and re.fullmatch(r"q\d+", call.func.value.id)
                and call.func.attr in _CHECK_ONLY_METHODS):
            return False
    return True


_REVIEW = [
    ("reassigns a check object", r"^\s*q\d+\s*(?:\.\s*\w+\s*)?=(?!=)"),
    ("touches sys.modules", r"\bsys\s*\.\s*modules\b"),
    ("changes the import system",
     r"\b(?:meta_path|path_hooks|path_importer_cache)\b|\bimportlib\b"),
    ("touches builtins", r"\b__builtins__\b|\bbuiltins\b"),
    ("refers to the check framework", r"\bQuestion\b|\bTester\b|\bgrade_all\b|utils\.checks\.core"),
    ("patches a library",
     r"^\s*(?:np|numpy|keras|tf|tensorflow|utils|json|os)(?:\s*\.\s*\w+)+\s*=(?!=)"),
    ("uses setattr", r"\bsetattr\s*\("),
    ("sets a trace hook", r"\bset(?:trace|profile)\b|\baddaudithook\b"),
    ("uses ctypes or gc", r"\bctypes\b|\bgc\s*\.\s*get_(?:objects|referrers)"),
    ("starts threads or processes",
     r"\bthreading\b|\bmultiprocessing\b|\bsubprocess\b|\bos\.fork\b"),
    ("writes Python files", r"%%writefile\s+\S+\.py\b|\.py['\"]\s*,\s*['\"][wa]"),
    ("changes the course settings", r"COURSE_SMOKE|COURSE_PROGRESS_FILE|IPYTHONDIR|sitecustomize"),
    ("prints check-like verdicts", r"\bPASS\b|vnd\.cnn-course"),
]


def _cell_hash(source: str) -> str:
    return hashlib.sha1(source.strip().encode("utf-8")).hexdigest()


def course_cells(lesson: str, root: Path = ROOT) -> list[str]:
    """Hashes of the code cells of the lesson's own notebooks (student copy and master): the
    review flags skip them, so only code the student wrote or changed is flagged."""
    hashes = set()
    for folder in ("lessons", "solutions"):
        for path in (root / folder).glob(f"{lesson}_*.ipynb"):
            try:
                cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
            except (OSError, ValueError):
                continue
            for cell in cells:
                source = cell.get("source", "")
                hashes.add(_cell_hash("".join(source) if isinstance(source, list) else source))
    return sorted(hashes)


def review_flags(nb, known=()) -> list[str]:
    """Code an instructor may want to look at (it changes no score): ``"prints check-like
    verdicts (cell 14)"``. Comment lines, and cells identical to the course's own (``known``
    hashes), are ignored."""
    flags, known = [], set(known)
    sources = {i: "\n".join(line for line in cell.source.splitlines()
                             if not line.lstrip().startswith("#"))
               for i, cell in enumerate(nb.cells, 1)
               if cell.cell_type == "code" and _cell_hash(cell.source) not in known}
    for label, pattern in _REVIEW:
        regex = re.compile(pattern, re.MULTILINE)
        cells = [i for i, source in sources.items() if regex.search(source)]
        if cells:
            where = ", ".join(str(i) for i in cells[:3]) + (", ..." if len(cells) > 3 else "")
            flags.append(f"{label} (cell{'s' if len(cells) > 1 else ''} {where})")
    return flags


def _cell_label(index: int, source: str) -> str:
    first = next((line.strip() for line in source.splitlines() if line.strip()), "")
    if len(first) > 40:
        first = first[:37] + "..."
    return f"cell {index}" + (f" (`{first}`)" if first else "")


# --------------------------------------------------------------------------- in the kernel

# Executed by the grader's own cell, with fresh globals (the notebook's variables cannot shadow the
# names it uses). PARAMS and NAMESPACE (the notebook's variables) are given to it.
_KERNEL_GRADER = r'''
import importlib, importlib.machinery, importlib.util, json, os, signal, sys, threading, time

P = PARAMS
ns = NAMESPACE
out = {"nonce": P["nonce"], "questions": [], "extra": [], "done": False, "error": None,
       "extra_error": None, "current": None}


def save():
    part = P["out"] + ".part"
    with open(part, "w", encoding="utf-8") as handle:
        json.dump(out, handle)
    os.replace(part, P["out"])


class CheckTimeout(BaseException):
    pass


def on_alarm(signum, frame):
    raise CheckTimeout()


os.environ.update(P["env"])
sys.settrace(None)
sys.setprofile(None)
threading.settrace(None)
threading.setprofile(None)
saved = (list(sys.meta_path), list(sys.path), list(sys.path_hooks))
standard = ("zipimport", "_frozen_importlib_external", "importlib._bootstrap_external")
try:
    for name in [n for n in list(sys.modules) if n == "utils" or n.startswith("utils.")]:
        del sys.modules[name]
    sys.meta_path[:] = [importlib.machinery.BuiltinImporter, importlib.machinery.FrozenImporter,
                        importlib.machinery.PathFinder]
    sys.path_hooks[:] = [h for h in saved[2] if getattr(h, "__module__", "") in standard]
    sys.path_importer_cache.clear()
    here = os.path.realpath(os.getcwd())
    sys.path[:] = [P["root"]] + [p for p in saved[1] if p and os.path.realpath(p) != here]
    importlib.invalidate_caches()
    core = importlib.import_module("utils.checks.core")
    importlib.import_module("utils.checks.compare")
    module = importlib.import_module("utils.checks.lesson" + P["lesson"])
    for loaded, expected in ((core, P["core_file"]), (module, P["module_file"])):
        if os.path.realpath(loaded.__file__) != os.path.realpath(expected):
            raise ImportError(loaded.__name__ + " was loaded from " + str(loaded.__file__))
    groups = [("questions", core.questions_of(module))]
    if P["extra"]:
        try:
            spec = importlib.util.spec_from_file_location(
                "course_private_tests.lesson" + P["lesson"], P["extra"])
            extra = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = extra
            spec.loader.exec_module(extra)
            groups.append(("extra", core.questions_of(extra)))
        except Exception as exc:
            out["extra_error"] = type(exc).__name__ + ": " + str(exc)[:300]
    alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGALRM, on_alarm) if alarm else None
    try:
        for bucket, questions in groups:
            for q in questions:
                record = {"key": q.key, "question": q.label,
                          "missing": [n for n in q.names if n not in ns]}
                out["current"] = [bucket, q.key, q.label]
                save()
                start = time.monotonic()
                try:
                    if alarm:
                        signal.setitimer(signal.ITIMER_REAL, P["check_timeout"])
                    try:
                        result = q.evaluate(ns)
                    finally:
                        if alarm:
                            signal.setitimer(signal.ITIMER_REAL, 0)
                    record.update(status=str(result.status),
                                  score=min(1.0, max(0.0, float(result.score))),
                                  messages=[str(m) for m in result.messages])
                except (CheckTimeout, KeyboardInterrupt):
                    record.update(status="FAIL", score=0.0, timed_out=True, messages=[
                        "The check did not finish within %g s: does your code loop forever or "
                        "take far too long?" % P["check_timeout"]])
                except BaseException as exc:
                    record.update(status="FAIL", score=0.0, messages=[
                        "Your code stopped the check with " + type(exc).__name__ + "."])
                record["seconds"] = round(time.monotonic() - start, 2)
                out[bucket].append(record)
                out["current"] = None
                save()
    finally:
        if alarm:
            signal.signal(signal.SIGALRM, previous)
except BaseException as exc:
    out["error"] = type(exc).__name__ + ": " + str(exc)[:300]
finally:
    sys.meta_path[:], sys.path[:], sys.path_hooks[:] = saved
    sys.path_importer_cache.clear()
out["done"] = out["error"] is None
save()
'''


def grader_cell(params: dict) -> str:
    """The source of the cell the grader appends: runs :data:`_KERNEL_GRADER` in fresh globals."""
    return (
        "import builtins as _course_grader_builtins\n"
        "_course_grader_builtins.exec(_course_grader_builtins.compile(\n"
        f"    {_KERNEL_GRADER!r}, '<course-grader>', 'exec'),\n"
        "    {'__builtins__': _course_grader_builtins, '__name__': '__course_grader__',\n"
        f"     'PARAMS': {params!r},\n"
        "     'NAMESPACE': _course_grader_builtins.__import__('sys')._getframe(0).f_globals})\n"
        "del _course_grader_builtins\n"
    )


# --------------------------------------------------------------------------- one kernel

class Kernel:
    """A fresh kernel started through nbclient, running code with a deadline."""

    def __init__(self, nb, cwd: str, env: dict, pidfile: str | None = None):
        self.nb, self.cwd, self.env, self.pidfile = nb, cwd, env, pidfile
        self.client = None
        self._context = None

    async def start(self) -> None:
        from nbclient import NotebookClient

        self.client = NotebookClient(self.nb, kernel_name="python3", allow_errors=True,
                                     startup_timeout=int(STARTUP_TIMEOUT),
                                     shutdown_kernel="immediate",
                                     resources={"metadata": {"path": self.cwd}})
        self._context = self.client.async_setup_kernel(env=self.env)
        await self._context.__aenter__()
        pid = getattr(self.client.km.provisioner, "pid", None)
        if self.pidfile and pid:
            Path(self.pidfile).write_text(str(pid), encoding="utf-8")

    async def stop(self) -> None:
        if self._context is not None:
            context, self._context = self._context, None
            try:
                await context.__aexit__(None, None, None)
            except Exception:  # the kernel may already be gone
                pass
        if self.pidfile:
            Path(self.pidfile).unlink(missing_ok=True)

    def exit_reason(self) -> str:
        process = getattr(getattr(self.client.km, "provisioner", None), "process", None)
        code = process.poll() if process is not None else None
        if code is None:
            return "the kernel stopped responding"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            hint = " (out of memory?)" if name == "SIGKILL" else ""
            return f"the kernel was killed by {name}{hint}"
        return f"the kernel exited with code {code}"

    async def _alive(self) -> bool:
        from jupyter_core.utils import ensure_async

        return bool(await ensure_async(self.client.km.is_alive()))

    async def _drain_iopub(self) -> None:
        from queue import Empty

        for _ in range(1000):
            try:
                await self.client.kc.get_iopub_msg(timeout=0)
            except Empty:
                return

    async def _wait(self, msg_id: str, seconds: float):
        """The execute reply, ``None`` after ``seconds``, or ``"dead"``."""
        from queue import Empty

        deadline = time.monotonic() + seconds
        while True:
            await self._drain_iopub()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                msg = await self.client.kc.get_shell_msg(timeout=min(0.5, remaining))
            except Empty:
                if not await self._alive():
                    return "dead"
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return msg

    async def run(self, code: str, seconds: float, store_history: bool = True) -> dict:
        """Execute ``code``: ``{"outcome": "ok" | "error" | "timeout" | "stuck" | "dead", ...}``.

        ``timeout``: interrupted after ``seconds`` and stopped; ``stuck``: it ignored the interrupt
        (the kernel is unusable); ``dead``: the kernel died.
        """
        from jupyter_core.utils import ensure_async

        if not await self._alive():
            return {"outcome": "dead", "reason": self.exit_reason()}
        msg_id = self.client.kc.execute(code, store_history=store_history, allow_stdin=False,
                                        stop_on_error=False)
        reply = await self._wait(msg_id, max(seconds, 0.1))
        interrupted = False
        if reply is None:
            interrupted = True
            try:
                await ensure_async(self.client.km.interrupt_kernel())
            except Exception:
                pass
            reply = await self._wait(msg_id, INTERRUPT_GRACE)
            if reply is None:
                return {"outcome": "stuck"}
        if reply == "dead":
            return {"outcome": "dead", "reason": self.exit_reason()}
        if interrupted:
            return {"outcome": "timeout"}
        content = reply.get("content", {})
        if content.get("status") == "error":
            return {"outcome": "error", "ename": str(content.get("ename", "")),
                    "evalue": str(content.get("evalue", ""))}
        return {"outcome": "ok"}


# --------------------------------------------------------------------------- one submission

def course_fingerprint(extra: str | None = None, root: Path = ROOT) -> dict[str, str]:
    """Hashes of the course library files a kernel imports (and of the private tests), to notice
    a submission that rewrites them."""
    files = sorted((root / "utils").rglob("*.py")) + sorted((root / "utils").rglob("*.json"))
    if extra:
        files.append(Path(extra))
    out = {}
    for path in files:
        try:
            out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            out[str(path)] = "unreadable"
    return out


def kernel_env(job: dict, ipython_dir: str) -> dict:
    env = dict(os.environ)
    env.update({
        "COURSE_SMOKE": "1" if job["smoke"] else "0",
        "COURSE_PROGRESS_FILE": "off",
        "MPLBACKEND": "Agg",              # no figure is rendered: outputs are never read
        "TF_CPP_MIN_LOG_LEVEL": env.get("TF_CPP_MIN_LOG_LEVEL", "2"),
        "PYTHONNOUSERSITE": "1",          # no usercustomize a submission could have planted
        "IPYTHONDIR": ipython_dir,        # no IPython startup files, from anyone
        "PYTHONPATH": os.pathsep.join([job["root"]] + [p for p in env.get(
            "PYTHONPATH", "").split(os.pathsep) if p]),
    })
    threads = job.get("threads")
    if threads:
        for name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
            env.setdefault(name, str(threads))
    return env


async def _execute(nb, job: dict, cwd: str, secret: str, ipython_dir: str, res: dict) -> None:
    """Run the student's cells, then the grader's cell, filling ``res`` in place."""
    cells = [(i, c.source) for i, c in enumerate(nb.cells, 1)
             if c.cell_type == "code" and c.source.strip()
             and (job["run_check_cells"] or not is_check_only(c.source))]
    env = kernel_env(job, ipython_dir)
    kernel = Kernel(nb, cwd, env, job.get("pidfile"))
    notes, flags, timing = res["notes"], res["flags"], res["timing"]
    clock = time.monotonic()
    try:
        await kernel.start()
    except Exception as exc:
        await kernel.stop()
        flags.add(ERROR)
        notes.append(f"the kernel did not start ({type(exc).__name__}: {str(exc)[:150]})")
        return
    timing["kernel_start"] = round(time.monotonic() - clock, 2)
    try:
        clock = time.monotonic()
        deadline = time.monotonic() + job["timeout"]
        done: list[int] = []  # positions in ``cells`` that ran to the end (ok or error)
        restarts, usable, pos = 0, True, 0
        while pos < len(cells):
            index, source = cells[pos]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                flags.add(TIMEOUT)
                notes.append(f"the notebook time limit ({job['timeout']:g} s) was reached before "
                             f"{_cell_label(index, source)}; later cells did not run")
                break
            limit = min(job["cell_timeout"], remaining)
            outcome = await kernel.run(source, limit)
            kind = outcome["outcome"]
            if kind in ("ok", "error"):
                done.append(pos)
                if kind == "error":
                    res["errors"].append(f"{_cell_label(index, source)} raised "
                                         f"{outcome['ename']}: {outcome['evalue'][:150]}")
            elif kind == "timeout":
                flags.add(TIMEOUT)
                if limit < job["cell_timeout"]:
                    notes.append(f"the notebook time limit ({job['timeout']:g} s) was reached in "
                                 f"{_cell_label(index, source)}; it was interrupted and later "
                                 "cells did not run")
                    break
                notes.append(f"{_cell_label(index, source)} was interrupted at the cell time limit "
                             f"({job['cell_timeout']:g} s)")
            else:  # dead or stuck: only a fresh kernel helps
                if kind == "dead":
                    flags.add(ERROR)
                    what = f"{outcome['reason']} in {_cell_label(index, source)}"
                else:
                    flags.add(TIMEOUT)
                    what = (f"{_cell_label(index, source)} ignored the interrupt at the cell time "
                            f"limit ({job['cell_timeout']:g} s) and the kernel was killed")
                await kernel.stop()
                if restarts >= MAX_RESTARTS:
                    notes.append(what + "; no more restarts, so nothing could be checked")
                    usable = False
                    break
                restarts += 1
                kernel = Kernel(nb, cwd, env, job.get("pidfile"))
                try:
                    await kernel.start()
                except Exception as exc:
                    notes.append(what + f"; the kernel did not restart ({type(exc).__name__})")
                    usable = False
                    break
                replayed = 0
                for again in done:
                    left = deadline - time.monotonic()
                    replay = await kernel.run(cells[again][1],
                                              min(job["cell_timeout"], max(left, 0.1)))
                    if replay["outcome"] in ("dead", "stuck"):
                        usable = False
                        break
                    replayed += 1
                if not usable:
                    notes.append(what + "; re-running the earlier cells in a fresh kernel failed "
                                 "too, so nothing could be checked")
                    await kernel.stop()
                    break
                notes.append(what + f"; a fresh kernel re-ran the {replayed} cell(s) before it, "
                             "skipped it and went on")
            pos += 1
        timing["cells"] = round(time.monotonic() - clock, 2)
        if usable:
            clock = time.monotonic()
            await _run_checks(kernel, job, secret, res)
            timing["checks"] = round(time.monotonic() - clock, 2)
    finally:
        clock = time.monotonic()
        await kernel.stop()
        timing["kernel_stop"] = round(time.monotonic() - clock, 2)


async def _run_checks(kernel: Kernel, job: dict, secret: str, res: dict) -> None:
    out_path = os.path.join(secret, secrets.token_hex(16) + ".json")
    nonce = secrets.token_hex(16)
    checks = Path(job["root"]) / "utils" / "checks"
    params = {"root": job["root"], "lesson": job["lesson"], "out": out_path, "nonce": nonce,
              "core_file": str(checks / "core.py"),
              "module_file": str(checks / f"lesson{job['lesson']}.py"),
              "extra": job.get("extra"), "check_timeout": float(job["cell_timeout"]),
              "env": {"COURSE_SMOKE": "1" if job["smoke"] else "0", "COURSE_PROGRESS_FILE": "off"}}
    n_questions = len(job["questions"]) + len(job.get("extra_questions") or [])
    limit = job["cell_timeout"] * (n_questions + 1) + 30  # each check has its own alarm too
    outcome = await kernel.run(grader_cell(params), limit, store_history=False)
    data = None
    try:
        with open(out_path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict) or data.get("nonce") != nonce:
        res["flags"].add(ERROR)
        reason = {"dead": outcome.get("reason", "the kernel died"), "stuck": "the checks hung",
                  "timeout": "the checks hit the time limit"}.get(outcome["outcome"], "no result")
        res["notes"].append(f"the grader's checks did not report back ({reason})")
        return
    if data.get("error"):
        res["flags"].add(ERROR)
        res["notes"].append(f"the lesson's checks could not be run: {data['error']}")
    if data.get("extra_error"):
        res["notes"].append(f"the private tests could not be loaded: {data['extra_error']}")
    if outcome["outcome"] != "ok" and not data.get("done"):
        res["flags"].add(ERROR if outcome["outcome"] == "dead" else TIMEOUT)
        res["notes"].append("the checks were cut off ("
                            + ("the kernel died" if outcome["outcome"] == "dead" else
                               "time limit") + "); unfinished questions score 0")
    current = data.get("current")
    if outcome["outcome"] != "ok" and isinstance(current, list) and len(current) == 3:
        bucket, key, label = (str(x) for x in current)
        if bucket in ("questions", "extra"):
            data.setdefault(bucket, []).append({
                "key": key, "question": label, "status": "FAIL", "score": 0.0, "timed_out": True,
                "missing": [], "messages": [
                    (f"The check did not finish within {job['cell_timeout']:g} s and your code "
                     "ignored the signal to stop: does it loop forever?")]})
    for bucket in ("questions", "extra"):
        for record in data.get(bucket) or []:
            if isinstance(record, dict) and isinstance(record.get("key"), str):
                res[bucket].append(record)
                if record.get("timed_out"):
                    res["flags"].add(TIMEOUT)
                    res["notes"].append(f"the check of {'extra ' if bucket == 'extra' else ''}"
                                        f"{record['key']} was stopped at the time limit "
                                        f"({job['cell_timeout']:g} s)")


def grade_one(job: dict) -> dict:
    """Grade one submission (runs in a worker process). ``job`` keys: path, lesson, root, smoke,
    cell_timeout, timeout, extra, questions, extra_questions, run_check_cells, threads, pidfile."""
    start = time.monotonic()
    res = {"questions": [], "extra": [], "notes": [], "errors": [], "review": [], "flags": set(),
           "timing": {}}
    path = Path(job["path"])
    try:
        raw = path.read_bytes()
    except OSError as exc:
        res["flags"].add(ERROR)
        res["notes"].append(f"the file cannot be read ({exc.strerror or exc})")
        return _finish(res, start)
    before = hashlib.sha256(raw).hexdigest()
    course_before = course_fingerprint(job.get("extra"), Path(job["root"]))
    try:
        nb = load_notebook(raw)
    except InvalidNotebook as exc:
        res["flags"].add(ERROR)
        res["notes"].append(_not_a_notebook(path, exc))
        return _finish(res, start)
    res["review"] = review_flags(nb, job.get("known_cells", ()))
    cwd = tempfile.mkdtemp(prefix="course-grade-run-")
    secret = tempfile.mkdtemp()
    ipython_dir = tempfile.mkdtemp(prefix="course-grade-ipython-")
    try:
        os.chmod(secret, 0o700)
        (Path(cwd) / safe_file_name(path.name)).write_bytes(raw)
        asyncio.run(_execute(nb, job, cwd, secret, ipython_dir, res))
    finally:
        for folder in (cwd, secret, ipython_dir):
            shutil.rmtree(folder, ignore_errors=True)
    try:
        changed = hashlib.sha256(path.read_bytes()).hexdigest() != before
    except OSError:
        changed = True
    if changed:
        res["flags"].add(ERROR)
        res["notes"].append("the submission file changed while it was graded (not by the grader)")
    course_after = course_fingerprint(job.get("extra"), Path(job["root"]))
    if course_after != course_before:
        touched = sorted(p for p in set(course_before) | set(course_after)
                         if course_before.get(p) != course_after.get(p))
        res["flags"].add(ERROR)
        res["notes"].append("TAMPERING: running this notebook modified course files ("
                            + ", ".join(Path(p).name for p in touched[:3])
                            + "); restore them (git checkout) before trusting further grades")
        res["course_modified"] = touched
    return _finish(res, start)


def _not_a_notebook(path: Path, exc: Exception) -> str:
    suffix = "" if path.suffix.lower() == ".ipynb" else f"; {path.name} is not a .ipynb file"
    return f"not a notebook: {exc}{suffix}"


def precheck(path: Path) -> dict | None:
    """The result row of a file that cannot be a notebook (no kernel needed), else None."""
    try:
        check_json(path.read_bytes())
    except OSError as exc:
        note = f"the file cannot be read ({exc.strerror or exc})"
    except InvalidNotebook as exc:
        note = _not_a_notebook(path, exc)
    else:
        return None
    return {"questions": [], "extra": [], "errors": [], "review": [], "flags": [ERROR],
            "notes": [note], "duration_s": 0.0}


def _finish(res: dict, start: float) -> dict:
    res["duration_s"] = round(time.monotonic() - start, 1)
    res["flags"] = sorted(res["flags"])
    return res


def _quiet(log: str | None) -> None:
    """Send this process's (and its kernels') stdout/stderr to ``log``: library and TensorFlow
    chatter stays out of the instructor's terminal."""
    if not log:
        return
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    except OSError:
        pass


def _worker_loop(conn, log: str | None = None) -> None:
    """Process target: grade the jobs received through ``conn`` one at a time (each in its own
    fresh kernel), send each result back; stop on ``None`` or a closed pipe. Reusing the process
    saves importing nbclient (seconds, because of nbformat's JSON-schema checks) per notebook."""
    _quiet(log)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            result = grade_one(job)
        except BaseException as exc:  # a bug in the grader must not lose the row
            result = {"questions": [], "extra": [], "errors": [], "review": [], "flags": [ERROR],
                      "notes": [f"grader error: {type(exc).__name__}: {str(exc)[:200]}"],
                      "duration_s": None}
        try:
            conn.send(result)
        except (OSError, ValueError):
            return


# --------------------------------------------------------------------------- the batch

def _kill_kernel(pidfile: str) -> None:
    try:
        pid = int(Path(pidfile).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return
    try:
        if hasattr(os, "killpg"):
            os.killpg(pid, signal.SIGKILL)  # the kernel leads its own process group
        else:  # pragma: no cover - Windows
            os.kill(pid, signal.SIGTERM)
    except OSError:
        pass


class _Worker:
    def __init__(self, context, entry, log):
        self.conn, child = context.Pipe(duplex=True)
        self.process = context.Process(target=entry, args=(child, log), daemon=True)
        self.process.start()
        child.close()
        self.index, self.started = None, 0.0

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


def run_jobs(jobs: list[dict], workers: int, hard_limit: float, on_done=None,
             log: str | None = None) -> list[dict]:
    """Run :func:`grade_one` for every job in ``workers`` worker processes. Each notebook gets its
    own fresh kernel; a worker whose notebook overruns ``hard_limit`` seconds is killed with its
    kernel and replaced. Results in job order."""
    import multiprocessing as mp
    from multiprocessing.connection import wait

    context = mp.get_context("spawn")
    from utils.grade import _worker_loop as entry  # by module name, even under ``-m``
    results: list[dict | None] = [None] * len(jobs)
    pending = list(range(len(jobs)))
    pool: list[_Worker] = []
    try:
        while pending or any(w.index is not None for w in pool):
            for worker in pool:
                if worker.index is None and pending:
                    worker.index, worker.started = pending.pop(0), time.monotonic()
                    worker.conn.send(jobs[worker.index])
            while pending and len(pool) < max(1, workers):
                worker = _Worker(context, entry, log)
                worker.index, worker.started = pending.pop(0), time.monotonic()
                worker.conn.send(jobs[worker.index])
                pool.append(worker)
            busy = [w for w in pool if w.index is not None]
            ready = wait([w.conn for w in busy], timeout=1.0)
            for worker in busy:
                index, result, replace = worker.index, None, False
                if worker.conn in ready:
                    try:
                        result = worker.conn.recv()
                    except (EOFError, OSError):
                        worker.process.join(5)
                        result = {"flags": [ERROR], "notes": [
                            f"the grading worker crashed (exit code {worker.process.exitcode})"]}
                        replace = True
                elif time.monotonic() - worker.started > hard_limit:
                    result = {"flags": [TIMEOUT], "notes": [
                        f"stopped by the grader's hard limit ({hard_limit:g} s)"]}
                    replace = True
                if result is None:
                    continue
                if replace:
                    worker.kill()
                    _kill_kernel(jobs[index]["pidfile"])
                    pool.remove(worker)
                result.setdefault("duration_s", round(time.monotonic() - worker.started, 1))
                worker.index = None
                results[index] = result
                if on_done:
                    on_done(index, result)
    finally:  # normal end, Ctrl-C or a bug: leave no worker and no kernel behind
        for worker in pool:
            if worker.index is None:
                try:
                    worker.conn.send(None)
                except (OSError, ValueError):
                    pass
        for worker in pool:
            if worker.index is not None:
                worker.kill()
                _kill_kernel(jobs[worker.index]["pidfile"])
            else:
                worker.process.join(10)
                if worker.process.is_alive():
                    worker.kill()
    return [r if r is not None else {"flags": [ERROR], "notes": ["not graded"]} for r in results]


def _fmt(value) -> str:
    if value is None:
        return ""
    return f"{round(float(value), 3):g}"


def build_row(student: str, file: str, result: dict, questions: list[dict],
              extra_questions: list[dict], duplicates: list[str] = ()) -> dict:
    """One gradebook row (plus the details for the feedback file) from a worker's result."""
    by_key = {r["key"]: r for r in result.get("questions", [])}
    by_extra = {r["key"]: r for r in result.get("extra", [])}
    checked = bool(by_key or by_extra)
    flags = set(result.get("flags", []))
    items = []
    for group, wanted, found, prefix in (("lesson", questions, by_key, ""),
                                         ("private", extra_questions, by_extra, EXTRA_PREFIX)):
        known = [q["key"] for q in wanted]
        keys = known + [k for k in found if k not in known]
        for key in keys:
            record = found.get(key)
            if record is None and checked:
                record = {"key": key, "question": key, "status": "ERROR", "score": 0.0,
                          "messages": ["This check did not run (see the notes)."], "missing": []}
            items.append({"column": prefix + key, "group": group, "record": record})
    missing = [f"{i['column']} (`{'`, `'.join(i['record']['missing'])}` not defined)"
               for i in items if i["record"] and i["record"].get("missing")]
    if missing:
        flags.add(MISSING)
    status = next((s for s in STATUS_ORDER if s in flags), GRADED)
    scores = {i["column"]: (i["record"]["score"] if i["record"] else None) for i in items}
    total = sum(v for v in scores.values() if v is not None)
    notes = list(result.get("notes", []))
    if missing:
        notes.append("missing answers: " + "; ".join(missing))
    errors = result.get("errors", [])
    if errors:
        notes.append(f"{len(errors)} cell(s) raised an error, first: {errors[0]}")
    if result.get("review"):
        notes.append("review: " + "; ".join(result["review"]))
    if duplicates:
        notes.append("more than one submission for this student: " + ", ".join(duplicates))
    return {"student": student, "file": file, "status": status, "scores": scores,
            "total": total, "max": len(items), "duration_s": result.get("duration_s"),
            "note": "; ".join(notes), "notes": notes, "items": items,
            "errors": errors, "review": result.get("review", []),
            "timing": result.get("timing", {})}


def csv_columns(questions, extra_questions) -> list[str]:
    return (["student", "file", "status"] + [q["key"] for q in questions]
            + [EXTRA_PREFIX + q["key"] for q in extra_questions]
            + ["total", "max", "duration_s", "note"])


def write_csv(rows: list[dict], path: Path, questions, extra_questions) -> None:
    columns = csv_columns(questions, extra_questions)
    for row in rows:  # a column the AST scan did not see (an unusual check module)
        for column in row["scores"]:
            if column not in columns:
                columns.insert(columns.index("total"), column)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            flat = {"student": row["student"], "file": row["file"], "status": row["status"],
                    "total": _fmt(row["total"]), "max": row["max"],
                    "duration_s": "" if row["duration_s"] is None else row["duration_s"],
                    "note": row["note"][:1000]}
            flat.update({k: _fmt(v) for k, v in row["scores"].items()})
            writer.writerow([flat.get(c, "") for c in columns])


_STATUS_TEXT = {
    GRADED: "graded",
    MISSING: "graded, but some answers are missing (their variable or function is not defined)",
    TIMEOUT: "graded, but part of the notebook was stopped at a time limit",
    ERROR: "there was a problem running or reading the notebook (see the notes)",
}


def feedback_markdown(row: dict, lesson: str, smoke: bool) -> str:
    """The feedback file of one student."""
    lines = [f"# Lesson {lesson}: feedback for {row['student']}", "",
             f"- notebook: `{row['file']}`",
             f"- status: **{row['status']}**: {_STATUS_TEXT[row['status']]}",
             f"- score: **{_fmt(row['total'])} / {row['max']}**",
             (f"- run: {'smoke mode (tiny data)' if smoke else 'full data'}, "
              f"{row['duration_s']} s"), ""]
    if row["items"]:
        lines += ["| question | result | score |", "|---|---|---|"]
        for item in row["items"]:
            r = item["record"]
            lines.append(f"| {item['column']} | {r['status'] if r else 'not checked'} | "
                         f"{_fmt(r['score']) if r else '-'} |")
        lines.append("")
        for item in row["items"]:
            r = item["record"]
            if not r:
                continue
            title = r.get("question") or item["column"]
            private = " (instructor's additional test)" if item["group"] == "private" else ""
            lines += [f"## {item['column']}: {r['status']}, score {_fmt(r['score'])}{private}",
                      "", f"{title}", ""]
            lines += [f"- {m}" for m in r.get("messages", [])] + [""]
    if row["notes"]:
        lines += ["## Notes", ""] + [f"- {n}" for n in row["notes"]] + [""]
    if len(row["errors"]) > 1:
        lines += ["## Cells that raised an error", ""] + [f"- {e}" for e in row["errors"]] + [""]
    return "\n".join(lines)


class _Progress:
    def __init__(self, total: int, stream=None):
        self.total, self.count, self.stream = total, 0, stream or sys.stderr
        self.start = time.monotonic()

    def update(self, text: str) -> None:
        self.count += 1
        width = 20
        filled = int(width * self.count / max(self.total, 1))
        bar = "#" * filled + "." * (width - filled)
        elapsed = time.monotonic() - self.start
        print(f"[{bar}] {self.count}/{self.total} {elapsed:5.0f} s  {text}",
              file=self.stream, flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="course-grade",
        description="Grade students' notebooks for one lesson: each runs in a fresh kernel, then "
                    "the course's own checks score the answers. One CSV row and one feedback "
                    "file per student.",
        epilog="Students: python -m utils.grade my_notebook.ipynb --lesson 03 checks your "
               "notebook the way the instructor will. See docs/grading.md.")
    parser.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                        help="notebooks, or folders searched for *.ipynb")
    parser.add_argument("--lesson", required=True, help="lesson number, e.g. 03")
    parser.add_argument("--out", type=Path, help="gradebook CSV to write (without it, the "
                        "feedback is printed and nothing is written)")
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                        help="notebooks graded in parallel (default: cores, at most 4)")
    parser.add_argument("--cell-timeout", type=float, default=DEFAULT_CELL_TIMEOUT,
                        metavar="S", help="seconds one cell (or one check) may run "
                        f"(default {DEFAULT_CELL_TIMEOUT:g})")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                        help=f"seconds all of one notebook's cells may run (default "
                        f"{DEFAULT_TIMEOUT:g}; the checks come on top)")
    parser.add_argument("--feedback-dir", type=Path, help="where to write one Markdown file "
                        "per student (default: next to --out, named <out>_feedback)")
    parser.add_argument("--tests", type=Path, metavar="DIR", help="instructor's private tests: "
                        "a folder holding lessonNN.py (or that file itself)")
    smoke = parser.add_mutually_exclusive_group()
    smoke.add_argument("--smoke", dest="smoke", action="store_true", default=None,
                       help="tiny data and one epoch (the default, unless the lesson's checks "
                       "need the full data)")
    smoke.add_argument("--no-smoke", dest="smoke", action="store_false",
                       help="run on the full bundled data (raise the time limits)")
    parser.add_argument("--run-check-cells", action="store_true",
                        help="also execute the notebook's own qN.check() cells (slower; they "
                        "are never used for the grade)")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.cell_timeout <= 0 or args.timeout <= 0:
        parser.error("time limits must be positive")
    return args


def _plan(args) -> dict:
    lesson = normalise_lesson(args.lesson)
    module = CHECKS_DIR / f"lesson{lesson}.py"
    if not module.is_file():
        known = ", ".join(known_lessons()) or "none yet"
        raise UsageError(f"unknown lesson {lesson}: the course has checks for lessons {known} "
                         "(utils/checks/lessonNN.py)")
    try:
        questions = questions_in(module)
    except (OSError, SyntaxError) as exc:
        raise UsageError(f"the checks of lesson {lesson} cannot be read: {exc}") from None
    if not questions:
        raise UsageError(f"utils/checks/lesson{lesson}.py defines no question (q1, q2, ...)")
    extra, extra_questions = None, []
    if args.tests is not None:
        tests = args.tests.expanduser()
        candidate = tests / f"lesson{lesson}.py" if tests.is_dir() else tests
        if not tests.exists():
            raise UsageError(f"no such tests folder: {args.tests}")
        if not candidate.is_file():
            raise UsageError(f"no private tests for lesson {lesson}: expected {candidate}")
        if candidate.name != f"lesson{lesson}.py":
            raise UsageError(f"private tests for lesson {lesson} must be in a file named "
                             f"lesson{lesson}.py, not {candidate.name}")
        try:
            extra_questions = questions_in(candidate)
        except SyntaxError as exc:
            raise UsageError(f"{candidate} is not valid Python: {exc}") from None
        if not extra_questions:
            raise UsageError(f"{candidate} defines no question (q1, q2, ... with @question)")
        extra = str(candidate.resolve())
    paths = find_submissions(args.submissions)
    outputs = {p.resolve() for p in paths}
    if args.out is not None and (args.out.resolve() in outputs or args.out.suffix == ".ipynb"):
        raise UsageError(f"--out {args.out} would overwrite a submission; choose a .csv file")
    smoke = lesson_allows_smoke(module) if args.smoke is None else args.smoke
    topic = lesson_topic(lesson)
    names = [student_name(p, lesson, topic, roots=args.submissions) for p in paths]
    return {"lesson": lesson, "questions": questions, "extra": extra,
            "extra_questions": extra_questions, "paths": paths, "names": names, "smoke": smoke}


def grade(args) -> tuple[list[dict], dict]:
    """Grade every submission named by ``args`` (from :func:`parse_args`).

    Returns the gradebook rows sorted by student, and the plan (lesson, questions, ...)."""
    plan = _plan(args)
    paths, names = plan["paths"], plan["names"]
    counts: dict[str, list[str]] = {}
    for name, path in zip(names, paths, strict=True):
        counts.setdefault(name, []).append(str(path))

    def row_of(i: int, result: dict) -> dict:
        others = [p for p in counts[names[i]] if p != str(paths[i])]
        return build_row(names[i], str(paths[i]), result, plan["questions"],
                         plan["extra_questions"], others)

    mode = "smoke mode" if plan["smoke"] else "full data"
    print(f"grading {len(paths)} notebook(s) for lesson {plan['lesson']}, {mode}",
          file=sys.stderr, flush=True)
    progress = _Progress(len(paths))

    def done(i: int, result: dict) -> None:
        row = rows[i] = row_of(i, result)
        progress.update(f"{row['student']}: {row['status']}, {_fmt(row['total'])}/{row['max']} "
                        f"({row['duration_s']} s)")

    rows: list[dict | None] = [None] * len(paths)
    scratch = tempfile.mkdtemp(prefix="course-grade-")
    todo = []
    for i, path in enumerate(paths):
        early = precheck(path)
        if early is None:
            todo.append(i)
        else:
            done(i, early)
    workers = max(1, min(args.workers, len(todo)))
    threads = max(1, (os.cpu_count() or 1) // workers)
    known = course_cells(plan["lesson"])
    jobs = [{"path": str(paths[i]), "lesson": plan["lesson"], "root": str(ROOT),
             "smoke": plan["smoke"], "cell_timeout": args.cell_timeout, "timeout": args.timeout,
             "extra": plan["extra"], "questions": plan["questions"],
             "extra_questions": plan["extra_questions"], "run_check_cells": args.run_check_cells,
             "threads": threads, "known_cells": known,
             "pidfile": os.path.join(scratch, f"kernel{i}.pid")}
            for i in todo]
    n_questions = len(plan["questions"]) + len(plan["extra_questions"])
    hard_limit = (args.timeout + args.cell_timeout * (n_questions + 2) + INTERRUPT_GRACE * 4
                  + STARTUP_TIMEOUT * (MAX_RESTARTS + 1) + 60)
    try:
        results = run_jobs(jobs, workers, hard_limit, log=os.path.join(scratch, "workers.log"),
                           on_done=lambda j, result: done(todo[j], result)) if jobs else []
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for j, result in enumerate(results):
        if rows[todo[j]] is None:
            rows[todo[j]] = row_of(todo[j], result)
    if any(r.get("course_modified") for r in results):
        print("WARNING: a submission modified the course's own files; see the notes, restore "
              "them (git checkout utils) and grade again.", file=sys.stderr)
    final = sorted((r for r in rows if r is not None),
                   key=lambda r: (r["student"].lower(), r["file"]))
    return final, plan


def write_feedback(rows: list[dict], folder: Path, lesson: str, smoke: bool,
                   protected=()) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written, used = [], set()
    protected = {Path(p).resolve() for p in protected}
    for row in rows:
        name = safe_file_name(row["student"])
        if name in used:
            name = f"{name}_{safe_file_name(Path(row['file']).stem)}"
        used.add(name)
        path = folder / f"{name}.md"
        if path.resolve() in protected:
            continue
        path.write_text(feedback_markdown(row, lesson, smoke), encoding="utf-8")
        written.append(path)
    return written


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        rows, plan = grade(args)
        if args.out is not None:
            write_csv(rows, args.out, plan["questions"], plan["extra_questions"])
            feedback_dir = args.feedback_dir or args.out.with_name(args.out.stem + "_feedback")
        else:
            feedback_dir = args.feedback_dir
        written = []
        if feedback_dir is not None:
            written = write_feedback(rows, feedback_dir, plan["lesson"], plan["smoke"],
                                     protected=plan["paths"])
    except UsageError as exc:
        print(f"course-grade: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("course-grade: interrupted; nothing was written", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"course-grade: error: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    if args.out is None:
        for row in rows:
            print(feedback_markdown(row, plan["lesson"], plan["smoke"]))
    counts = {s: sum(r["status"] == s for r in rows) for s in STATUS_ORDER}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    print(f"done: {len(rows)} notebook(s): {summary}", file=sys.stderr)
    if args.out is not None:
        print(f"gradebook: {args.out}", file=sys.stderr)
    if written:
        print(f"feedback: {len(written)} file(s) in {feedback_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
