"""A small local record of how far you got: each question's best status and when it first passed.

It never imports a lesson's check module (and so never TensorFlow): the questions of each lesson
are read from the modules' source. Checks run in a notebook of ``solutions/`` are not recorded,
so running the worked solutions does not count as your work.
"""
from __future__ import annotations

import datetime
import html
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..course import SOLUTIONS_DIR, check_module, lesson_numbers
from .status import ERROR, FAIL, NOT_ATTEMPTED, PASS

# Which status is better, when a question has been checked several times.
_RANK = {NOT_ATTEMPTED: 0, ERROR: 1, FAIL: 2, PASS: 3}
_MARKS = {PASS: "P", FAIL: "F", ERROR: "E", NOT_ATTEMPTED: "-"}
WORK_MARKER = ".course-work"   # the file ``python -m utils.start`` puts in the work folder


def progress_file() -> Path | None:
    """Where progress is kept: ``COURSE_PROGRESS_FILE`` (``off`` disables it), else
    ``.progress.json`` in the work folder when the notebook runs there, else
    ``~/.cnn_course/progress.json``."""
    value = os.environ.get("COURSE_PROGRESS_FILE", "")
    if value.lower() == "off":
        return None
    if value:
        return Path(value).expanduser()
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / WORK_MARKER).is_file():
            return folder / ".progress.json"
    return Path.home() / ".cnn_course" / "progress.json"


@dataclass
class Entry:
    """What is known about one question: its best and latest status, and the first pass."""

    best: str = NOT_ATTEMPTED
    last: str = NOT_ATTEMPTED
    first_passed: str | None = None   # ISO date

    @classmethod
    def parse(cls, value) -> Entry:
        if isinstance(value, str) and value in _RANK:          # the old format: the last status
            return cls(best=value, last=value)
        if isinstance(value, dict):
            best, last = value.get("best"), value.get("last")
            if best in _RANK and last in _RANK:
                first = value.get("first_passed")
                return cls(best, last, first if isinstance(first, str) else None)
        return cls()

    def seen(self, status: str, today: str) -> Entry:
        best = status if _RANK[status] > _RANK[self.best] else self.best
        first = self.first_passed or (today if status == PASS else None)
        return Entry(best, status, first)


def load() -> dict[str, dict[str, Entry]]:
    """The record: ``{lesson: {question: Entry}}`` (empty when there is none or it is broken)."""
    path = progress_file()
    try:
        raw = json.loads(path.read_text(encoding="utf-8")) if path else {}
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {str(lesson): {str(k): Entry.parse(v) for k, v in questions.items()}
            for lesson, questions in raw.items() if isinstance(questions, dict)}


def _in_solutions() -> bool:
    try:
        return Path.cwd().resolve().is_relative_to(SOLUTIONS_DIR.resolve())
    except OSError:
        return False


def record(lesson: str, key: str, status: str) -> None:
    """Remember one check's status; never fails the check if the disk does."""
    path = progress_file()
    if path is None or status not in _RANK or _in_solutions():
        return
    data = load()
    today = datetime.date.today().isoformat()
    questions = data.setdefault(lesson, {})
    questions[key] = questions.get(key, Entry()).seen(status, today)
    raw = {lesson: {k: vars(e) for k, e in qs.items()} for lesson, qs in data.items()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(raw, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass


def question_keys() -> dict[str, list[str]]:
    """Every lesson's question keys, read from the check modules' source."""
    from ..grading.lessons import questions_in

    return {lesson: [q.key for q in questions_in(check_module(lesson))]
            for lesson in lesson_numbers()}


@dataclass
class LessonProgress:
    lesson: str
    best: dict[str, str]                       # question -> best status
    first_passed: dict[str, str] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(s == status for s in self.best.values())


@dataclass
class Progress:
    """The record as a table: text with ``print``, HTML in Jupyter."""

    lessons: list[LessonProgress]
    where: Path | None

    def totals(self) -> dict[str, int]:
        return {s: sum(lp.count(s) for lp in self.lessons) for s in _RANK}

    def __str__(self) -> str:
        lines = ["lesson  passed  failed  not attempted  questions (P pass, F fail, E error, "
                 "- not attempted)"]
        for lp in self.lessons:
            marks = " ".join(f"{k}:{_MARKS[s]}" for k, s in lp.best.items())
            lines.append(f"  {lp.lesson}    {lp.count(PASS):>2}/{len(lp.best):<2}  "
                         f"{lp.count(FAIL):>6}  {lp.count(NOT_ATTEMPTED):>13}  {marks}")
        total, n = self.totals(), sum(len(lp.best) for lp in self.lessons)
        lines.append(f"  all   {total[PASS]:>3}/{n:<3} {total[FAIL]:>6}  "
                     f"{total[NOT_ATTEMPTED]:>13}")
        lines.append(f"(kept in {self.where})" if self.where else "(progress is not recorded)")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        def cell(lp, key):
            status = lp.best[key]
            title = status + (f", first passed {lp.first_passed[key]}"
                              if key in lp.first_passed else "")
            return f'<td title="{html.escape(title)}">{key} {_MARKS[status]}</td>'

        rows = "".join(
            f"<tr><th>{lp.lesson}</th><td>{lp.count(PASS)}/{len(lp.best)}</td>"
            f"<td>{lp.count(FAIL)}</td><td>{lp.count(NOT_ATTEMPTED)}</td>"
            + "".join(cell(lp, k) for k in lp.best) + "</tr>" for lp in self.lessons)
        total, n = self.totals(), sum(len(lp.best) for lp in self.lessons)
        where = (f"kept in <code>{html.escape(str(self.where))}</code>" if self.where
                 else "progress is not recorded")
        return ("<table><tr><th>lesson</th><th>passed</th><th>failed</th><th>not attempted</th>"
                "<th colspan=\"9\">questions (P pass, F fail, E error, - not attempted)</th></tr>"
                f"{rows}<tr><th>all</th><td>{total[PASS]}/{n}</td><td>{total[FAIL]}</td>"
                f"<td>{total[NOT_ATTEMPTED]}</td></tr></table><p>{where}</p>")


def summary() -> Progress:
    """Every lesson's questions with their best status so far."""
    data = load()
    lessons = []
    for lesson, keys in question_keys().items():
        entries = data.get(lesson, {})
        best = {k: entries[k].best if k in entries else NOT_ATTEMPTED for k in keys}
        first = {k: entries[k].first_passed for k in keys
                 if k in entries and entries[k].first_passed}
        lessons.append(LessonProgress(lesson, best, first))
    return Progress(lessons, progress_file())


def progress() -> Progress:
    """Your progress, lesson by lesson: the best status of every question so far."""
    return summary()
