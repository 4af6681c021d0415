"""The command line: ``python -m utils.grade`` / ``course-grade``. See ``docs/grading.md``.

    python -m utils.grade submissions/ --lesson 03 --out grades.csv
    python -m utils.grade a.ipynb b.ipynb --lesson 03 --out grades.csv --workers 2 \\
        --cell-timeout 120 --timeout 900 --feedback-dir feedback/ --tests ~/private-tests/
    python -m utils.grade my_notebook.ipynb --lesson 03 --no-sandbox   # a student's own check
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import intake, lessons, sandbox
from .gradebook import Gradebook, Row, build_row, columns, feedback_markdown, feedback_name, fmt
from .lessons import UsageError
from .records import ROW_STATUSES, Job, SubmissionResult
from .written import read_written_report

DEFAULT_CELL_TIMEOUT = 300.0
DEFAULT_TIMEOUT = 1200.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="course-grade",
        description="Grade students' notebooks for one lesson: each runs in a fresh kernel in a "
                    "sandbox, then the course's own checks judge the answers from outside. One "
                    "CSV row and one feedback file per student.",
        epilog="Students: python -m utils.grade my_notebook.ipynb --lesson 03 --no-sandbox "
               "checks your notebook the way the instructor will. See docs/grading.md.")
    parser.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                        help="notebooks, or folders searched for *.ipynb")
    parser.add_argument("--lesson", required=True, help="lesson number, e.g. 03")
    parser.add_argument("--out", type=Path, help="gradebook CSV to write (without it, the "
                        "feedback is printed and nothing is written)")
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                        help="notebooks graded in parallel (default: cores, at most 4)")
    parser.add_argument("--cell-timeout", type=float, default=DEFAULT_CELL_TIMEOUT,
                        metavar="S", help="seconds one cell, or the student's code in one "
                        f"question's check, may run (default {DEFAULT_CELL_TIMEOUT:g})")
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
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run the notebooks without bubblewrap, as you, with your files "
                        "(for a student checking their own notebook; every row says so)")
    files = parser.add_mutually_exclusive_group()
    files.add_argument("--model-only", dest="model_only", action="store_true", default=None,
                       help="grade the saved model (and report) handed in beside each notebook, "
                       "without running it (the default for lessons graded from files, such as "
                       "the capstone); questions about code are left blank")
    files.add_argument("--run-notebooks", dest="model_only", action="store_false",
                       help="run the notebooks even for a lesson graded from files")
    parser.add_argument("--resume", action="store_true",
                        help="keep the rows already in --out and grade only the other files")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.cell_timeout <= 0 or args.timeout <= 0:
        parser.error("time limits must be positive")
    if args.resume and args.out is None:
        parser.error("--resume needs --out (the gradebook to continue)")
    return args


def _private_tests(args, lesson: str) -> tuple[str | None, list]:
    if args.tests is None:
        return None, []
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
        found = lessons.questions_in(candidate)
    except SyntaxError as exc:
        raise UsageError(f"{candidate} is not valid Python: {exc}") from None
    if not found:
        raise UsageError(f"{candidate} defines no question (q1, q2, ... with @question)")
    return str(candidate.resolve()), found


def grade(args) -> tuple[list[Row], dict]:
    """Grade every submission named by ``args``; rows sorted by student, and the plan."""
    lesson, module = lessons.lesson_module(args.lesson)
    try:
        questions = lessons.questions_in(module)
    except (OSError, SyntaxError) as exc:
        raise UsageError(f"the checks of lesson {lesson} cannot be read: {exc}") from None
    if not questions:
        raise UsageError(f"utils/checks/lesson{lesson}.py defines no question (q1, q2, ...)")
    tests, private = _private_tests(args, lesson)
    paths = intake.find_submissions(args.submissions)
    if args.out is not None and (args.out.resolve() in {p.resolve() for p in paths}
                                 or args.out.suffix == ".ipynb"):
        raise UsageError(f"--out {args.out} would overwrite a submission; choose a .csv file")
    from_files = lessons.graded_from_files(module)
    headings = lessons.written_headings(module)
    model_only = bool(from_files) if args.model_only is None else args.model_only
    if model_only and not from_files:
        raise UsageError(f"lesson {lesson} is not graded from files: its checks need the "
                         "notebook to run (leave out --model-only)")
    use_sandbox = not args.no_sandbox and not model_only
    if use_sandbox and (reason := sandbox.unavailable_reason()):
        raise UsageError(f"cannot sandbox the submissions: {reason}")
    smoke = lessons.lesson_allows_smoke(module) if args.smoke is None else args.smoke
    topic = lessons.lesson_topic(lesson)
    names = [intake.student_name(p, lesson, topic, roots=args.submissions) for p in paths]
    header = columns(questions, private)
    book = Gradebook(args.out, header) if args.out is not None else None
    already = book.resume() if (book is not None and args.resume) else set()
    if book is not None:
        book.start()
    plan = {"lesson": lesson, "smoke": smoke, "questions": questions, "private": private,
            "sandbox": use_sandbox, "model_only": model_only}
    by_name: dict[str, list[str]] = {}
    for name, path in zip(names, paths, strict=True):
        by_name.setdefault(name, []).append(str(path))
    rows: list[Row] = []
    progress = _Progress(len(paths))
    feedback = _feedback_writer(args, lesson, smoke, paths)

    def done(job: Job, result: SubmissionResult) -> None:
        others = [p for p in by_name[job.student] if p != job.file]
        written = read_written_report(Path(job.copy), headings) if headings else None
        row = build_row(job.student, job.file, result, questions, private, others, written)
        rows.append(row)
        if book is not None:
            book.add(row)
        feedback(row)
        progress.update(f"{row.student}: {row.status}, {fmt(row.total)}/{row.max} "
                        f"({row.duration_s} s)")

    mode = ("smoke mode" if smoke else "full data") + (
        ", from the handed-in files" if model_only else ", sandboxed" if use_sandbox
        else ", WITHOUT the sandbox")
    print(f"grading {len(paths)} notebook(s) for lesson {lesson}, {mode}", file=sys.stderr,
          flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="course-grade-"))
    workers = max(1, min(args.workers, len(paths)))
    try:
        jobs = []
        for i, (path, name) in enumerate(zip(paths, names, strict=True)):
            if str(path) in already:
                progress.update(f"{name}: kept from the gradebook (--resume)")
                continue
            copy, digest, problem = intake.take_in(path, scratch, i)
            job = Job(i, name, str(path), str(copy), digest, lesson, smoke, args.cell_timeout,
                      args.timeout, tests, args.run_check_cells, use_sandbox,
                      max(1, (os.cpu_count() or 1) // workers), model_only)
            if model_only and not problem:
                for answer, found in intake.companions(path, from_files).items():
                    target = scratch / f"submission{i:04d}_{answer}{found.suffix}"
                    shutil.copyfile(found, target)
                    job.files[answer] = str(target)
            if problem:
                done(job, SubmissionResult(flags=["error"], notes=[problem], duration_s=0.0,
                                           sandboxed=use_sandbox))
            else:
                jobs.append(job)
        limit = (args.timeout + args.cell_timeout * (len(questions) + len(private) + 3) + 600)
        if jobs:
            from .pool import run_jobs

            run_jobs(jobs, workers, limit, done, log=str(scratch / "workers.log"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if book is not None:
            book.finish()
    rows.sort(key=lambda r: (r.student.lower(), r.file))
    return rows, plan


def _feedback_writer(args, lesson: str, smoke: bool, paths):
    folder = args.feedback_dir
    if folder is None and args.out is not None:
        folder = args.out.with_name(args.out.stem + "_feedback")
    protected = {p.resolve() for p in paths}
    used: set[str] = set()
    written: list[Path] = []

    def write(row: Row) -> None:
        if folder is None:
            return
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / feedback_name(row, used)
        if path.resolve() not in protected:
            path.write_text(feedback_markdown(row, lesson, smoke), encoding="utf-8")
            written.append(path)

    write.folder, write.written = folder, written
    args._feedback = write
    return write


class _Progress:
    def __init__(self, total: int, stream=None):
        self.total, self.count, self.stream = total, 0, stream or sys.stderr
        self.start = time.monotonic()

    def update(self, text: str) -> None:
        self.count += 1
        filled = int(20 * self.count / max(self.total, 1))
        elapsed = time.monotonic() - self.start
        print(f"[{'#' * filled}{'.' * (20 - filled)}] {self.count}/{self.total} "
              f"{elapsed:5.0f} s  {text}", file=self.stream, flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        rows, plan = grade(args)
    except UsageError as exc:
        print(f"course-grade: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("course-grade: interrupted; the rows finished so far are in the gradebook "
              "(continue with --resume)", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"course-grade: error: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    if args.out is None:
        for row in rows:
            print(feedback_markdown(row, plan["lesson"], plan["smoke"]))
    counts = {s: sum(r.status == s for r in rows) for s in ROW_STATUSES}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    print(f"done: {len(rows)} notebook(s): {summary}", file=sys.stderr)
    if args.out is not None:
        print(f"gradebook: {args.out}", file=sys.stderr)
    writer = args._feedback
    if writer.written:
        print(f"feedback: {len(writer.written)} file(s) in {writer.folder}", file=sys.stderr)
    return 0
