"""Grading one submission: run its cells in a fresh (sandboxed) kernel, then judge its answers.

Runs in a long-lived worker process that is also the judge: it imports the lesson's checks and
the private tests once, and never executes student code itself.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from ..checks.core import FILES_ROOT, NOT_ATTEMPTED, questions_of
from ..course import ROOT, check_module
from . import intake, sandbox
from .judge import judge_questions
from .kernel import Kernel, KernelDied
from .lessons import graded_from_files
from .records import ERROR, TIMEOUT, Job, QuestionResult, SubmissionResult, clamp
from .remote import AgentLost, CheckTimedOut, Link

MAX_RESTARTS = 2   # fresh kernels one submission may cost (a cell or a check that had to be killed)
_modules: dict[tuple, list] = {}


def lesson_questions(lesson: str, tests: str | None) -> tuple[list, list, str | None]:
    """The lesson's questions, the private ones, and why the private tests failed to load."""
    key = (lesson, tests)
    if key not in _modules:
        module = importlib.import_module(f"utils.checks.lesson{lesson}")
        private, problem = [], None
        if tests:
            try:
                spec = importlib.util.spec_from_file_location(
                    f"course_private_tests.lesson{lesson}", tests)
                extra = importlib.util.module_from_spec(spec)
                sys.modules[spec.name] = extra   # @question looks its module up there
                spec.loader.exec_module(extra)
                private = questions_of(extra)
            except Exception as exc:  # the instructor's file: say what broke, grade the rest
                problem = f"{type(exc).__name__}: {str(exc)[:300]}"
        _modules[key] = [questions_of(module), private, problem]
    return tuple(_modules[key])


def kernel_env(job: Job) -> dict:
    env = {"COURSE_SMOKE": "1" if job.smoke else "0", "COURSE_PROGRESS_FILE": "off",
           "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
    for name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
        env[name] = str(max(1, job.threads))
    return env


class Run:
    """The cells of one notebook in a kernel, with restarts when a cell must be killed."""

    def __init__(self, job: Job, cells, folder: Path, res: SubmissionResult, hidden):
        self.job, self.cells, self.folder, self.res = job, cells, folder, res
        self.hidden = hidden
        self.done: list[int] = []     # positions of cells that ran to the end (ok or error)
        self.restarts = 0
        self.kernel: Kernel | None = None
        self.lost_in = "the kernel was lost"   # why the next kernel is needed (for the note)
        self.deadline = time.monotonic() + job.timeout

    def new_kernel(self) -> Kernel:
        kernel = Kernel(self.folder, kernel_env(self.job), self.job.sandbox, sandbox.Limits(
            cpu_seconds=int(self.job.timeout * 2 + 3600)), self.hidden)
        kernel.start()
        return kernel

    def replace_kernel(self, what: str) -> bool:
        """A fresh kernel that re-ran the cells that ran before; False when none could be had."""
        self.kernel.kill()
        if self.restarts >= MAX_RESTARTS:
            self.res.notes.append(what + "; no more restarts")
            return False
        self.restarts += 1
        try:
            self.kernel = self.new_kernel()
        except KernelDied as exc:
            self.res.notes.append(what + f"; the kernel did not restart ({exc})")
            return False
        for pos in self.done:
            left = max(self.deadline - time.monotonic(), 0.1)
            if self.kernel.run(self.cells[pos][1], min(self.job.cell_timeout, left))[
                    "outcome"] in ("dead", "stuck"):
                self.res.notes.append(what + "; re-running the earlier cells failed too")
                return False
        self.res.notes.append(what + f"; a fresh kernel re-ran the {len(self.done)} cell(s) "
                              "that had run and went on")
        return True

    def cells_(self) -> bool:
        """Run every cell; False when no usable kernel is left."""
        job, res = self.job, self.res
        for pos, (index, source) in enumerate(self.cells):
            label = intake._cell_label(index, source)
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                res.flag(TIMEOUT, f"the notebook time limit ({job.timeout:g} s) was reached "
                         f"before {label}; later cells did not run")
                return True
            limit = min(job.cell_timeout, remaining)
            outcome = self.kernel.run(source, limit)
            kind = outcome["outcome"]
            if kind in ("ok", "error"):
                self.done.append(pos)
                if kind == "error":
                    res.errors.append(f"{label} raised {outcome['ename']}: "
                                      f"{outcome['evalue'][:150]}")
            elif kind == "timeout":
                if limit < job.cell_timeout:
                    res.flag(TIMEOUT, f"the notebook time limit ({job.timeout:g} s) was reached "
                             f"in {label}; it was interrupted and later cells did not run")
                    return True
                res.flag(TIMEOUT, f"{label} was interrupted at the cell time limit "
                         f"({job.cell_timeout:g} s)")
            else:
                if kind == "dead":
                    res.flag(ERROR)
                    what = f"{outcome['reason']} in {label}"
                else:
                    res.flag(TIMEOUT)
                    what = (f"{label} ignored the interrupt at the cell time limit "
                            f"({job.cell_timeout:g} s) and its kernel was killed")
                if not self.replace_kernel(what):
                    return False
        return True

    def judge(self, questions: list, group: str) -> list:
        """Judge ``questions``; a check that had to be killed costs a restart, then the rest."""
        results = []
        todo = list(questions)
        files = FILES_ROOT.set(self.folder / "work")  # the notebook's relative file names
        try:
            return self._judge(todo, group, results)
        finally:
            FILES_ROOT.reset(files)

    def _judge(self, todo: list, group: str, results: list) -> list:
        while todo:
            if not self.kernel.alive():  # killed in an earlier check (of this or another group)
                if not self.replace_kernel(self.lost_in):
                    break
            try:
                self.kernel.start_agent(60)
                link = Link(self.kernel)
                got = judge_questions(link, todo, self.job.cell_timeout, group)
                self.kernel.stop_agent()
            except (CheckTimedOut, AgentLost, KernelDied) as exc:
                got = []
                self.res.flag(ERROR, f"the grader's agent did not start in the kernel ({exc})")
                return results
            results += got
            judged = {r.key for r in got}
            todo = [q for q in todo if q.key not in judged]
            for r in got:
                if r.timed_out:
                    self.res.flag(TIMEOUT, f"the check of {r.column} was stopped at its limit "
                                  f"({self.job.cell_timeout:g} s)")
            last = got[-1] if got else None
            if last is not None and (last.lost or not self.kernel.alive()):
                self.lost_in = f"the kernel was lost in the check of {last.column}"
            if todo and (last is None or not (last.timed_out or last.lost)):
                break  # nothing more can be learnt
        return results


MAX_REPORT = 2**20   # bytes of a JSON file handed in beside the notebook


def grade_from_files(job: Job, questions: list, private: list) -> SubmissionResult:
    """``--model-only``: judge the files handed in beside the notebook; nothing is executed.

    A ``.keras`` answer is the name of the model file (the check loads it, vetted, in safe mode,
    uncompiled); a ``.json`` answer is the file's content as plain data. Questions that need
    anything else are listed as not graded."""
    start = time.monotonic()
    from_files = graded_from_files(check_module(job.lesson))
    res = SubmissionResult(sandboxed=False, model_only=True)
    folder = Path(tempfile.mkdtemp(prefix="course-grade-files-"))
    namespace = {}
    try:
        for name, copy in job.files.items():
            copy = Path(copy)
            if copy.suffix == ".json":
                try:
                    raw = copy.read_bytes()
                    if len(raw) > MAX_REPORT:
                        raise ValueError("larger than 1 MB")
                    namespace[name] = json.loads(raw.decode("utf-8"))
                except (OSError, ValueError, RecursionError) as exc:
                    res.notes.append(f"{name}: the handed-in JSON file cannot be read ({exc})")
            else:
                target = folder / f"{name}{copy.suffix}"
                shutil.copyfile(copy, target)
                namespace[name] = target.name
        files = FILES_ROOT.set(folder)
        try:
            for group, wanted in (("lesson", questions), ("private", private)):
                for q in wanted:
                    if not set(q.names) <= set(from_files):
                        res.not_graded.append(("extra_" if group == "private" else "") + q.key)
                        continue
                    absent = [n for n in q.names if n not in namespace]
                    if absent:
                        res.questions.append(QuestionResult(
                            q.key, q.label, NOT_ATTEMPTED, 0.0, [
                                f"No {from_files[n]} file for `{n}` was handed in beside the "
                                "notebook." for n in absent], missing=absent, group=group))
                        continue
                    clock = time.monotonic()
                    result = q.evaluate(namespace=dict(namespace))
                    res.questions.append(QuestionResult(
                        q.key, q.label, str(result.status), clamp(result.score),
                        [str(m) for m in result.messages], group=group,
                        seconds=round(time.monotonic() - clock, 2)))
        finally:
            FILES_ROOT.reset(files)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    res.notes.append("graded from the files handed in (--model-only): the notebook was not run")
    res.duration_s = round(time.monotonic() - start, 1)
    return res


def grade_submission(job: Job) -> SubmissionResult:
    """Grade one submission (in a worker). Never raises."""
    if "keras" in sys.modules:  # free the previous submission's models in this long-lived judge
        sys.modules["keras"].backend.clear_session()
    if job.model_only:
        os.environ["COURSE_SMOKE"] = "1" if job.smoke else "0"
        questions, private, problem = lesson_questions(job.lesson, job.tests)
        res = grade_from_files(job, questions, private)
        if problem:
            res.notes.append(f"the private tests could not be loaded: {problem}")
        return res
    start = time.monotonic()
    res = SubmissionResult(sandboxed=job.sandbox)
    copy = Path(job.copy)
    try:
        raw = copy.read_bytes()
        if intake.sha256(raw) != job.sha256:
            res.flag(ERROR, "the grader's copy of the submission changed before grading")
            return _finish(res, start)
        nb = intake.load_notebook(raw)
    except OSError as exc:
        res.flag(ERROR, f"the file cannot be read ({exc.strerror or exc})")
        return _finish(res, start)
    except intake.InvalidNotebook as exc:
        res.flag(ERROR, intake.not_a_notebook(Path(job.file), exc))
        return _finish(res, start)
    res.review = intake.review_flags(nb, intake.course_cells(job.lesson))
    os.environ["COURSE_SMOKE"] = "1" if job.smoke else "0"   # the judge's thresholds follow
    questions, private, problem = lesson_questions(job.lesson, job.tests)
    if problem:
        res.notes.append(f"the private tests could not be loaded: {problem}")
    cells = [(i, c.source) for i, c in enumerate(nb.cells, 1)
             if c.cell_type == "code" and c.source.strip()
             and (job.run_check_cells or not intake.is_check_only(c.source))]
    folder = Path(tempfile.mkdtemp(prefix="course-grade-job-"))
    (folder / "work").mkdir()
    (folder / "work" / intake.safe_file_name(Path(job.file).name)).write_bytes(raw)
    hidden = [p for p in (job.tests, job.copy, job.file) if p]
    run = Run(job, cells, folder, res, hidden)
    try:
        clock = time.monotonic()
        try:
            run.kernel = run.new_kernel()
        except (KernelDied, OSError) as exc:
            res.flag(ERROR, f"the kernel did not start ({exc})")
            return _finish(res, start)
        res.timing["kernel_start"] = round(time.monotonic() - clock, 2)
        clock = time.monotonic()
        usable = run.cells_()
        res.timing["cells"] = round(time.monotonic() - clock, 2)
        if usable:
            clock = time.monotonic()
            res.questions = run.judge(questions, "lesson") + run.judge(private, "private")
            res.timing["checks"] = round(time.monotonic() - clock, 2)
    finally:
        if run.kernel is not None:
            run.kernel.kill()
        shutil.rmtree(folder, ignore_errors=True)
    if not job.sandbox:
        res.notes.append("graded WITHOUT the sandbox (--no-sandbox): the notebook ran as the "
                         "grader's user, with its files")
    return _finish(res, start)


def _finish(res: SubmissionResult, start: float) -> SubmissionResult:
    res.duration_s = round(time.monotonic() - start, 1)
    return res
