"""Typed records of a grading run: a job, a question's result, a submission's result.

Row statuses (the gradebook's ``status`` column), the first that applies wins: ``error``,
``timeout``, ``missing``, ``graded``. Question statuses are the checks' own (PASS, FAIL,
NOT ATTEMPTED, ERROR).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

GRADED, TIMEOUT, ERROR, MISSING = "graded", "timeout", "error", "missing"
ROW_STATUSES = (ERROR, TIMEOUT, MISSING, GRADED)  # the first that applies wins


def clamp(score) -> float:
    """A score as the gradebook may hold it: a number in [0, 1] (NaN and junk become 0)."""
    try:
        value = float(score)
    except (TypeError, ValueError):
        return 0.0
    return min(1.0, max(0.0, value)) if value == value else 0.0


@dataclass
class Job:
    """One submission to grade, as the worker receives it."""

    index: int
    student: str
    file: str              # the path the instructor gave (shown in the gradebook)
    copy: str              # the grader's private copy, hashed before anything ran
    sha256: str
    lesson: str
    smoke: bool
    cell_timeout: float
    timeout: float
    tests: str | None = None
    run_check_cells: bool = False
    sandbox: bool = True
    threads: int = 1
    model_only: bool = False   # judge the files below, run nothing
    files: dict = field(default_factory=dict)   # answer name -> the grader's copy of its file


@dataclass
class QuestionResult:
    """The verdict on one question, written by the judge."""

    key: str
    question: str
    status: str
    score: float
    messages: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    group: str = "lesson"          # "lesson" or "private" (the instructor's tests)
    seconds: float | None = None
    timed_out: bool = False
    lost: bool = False

    @property
    def column(self) -> str:
        return ("extra_" if self.group == "private" else "") + self.key


@dataclass
class SubmissionResult:
    """Everything a worker reports about one submission."""

    flags: list[str] = field(default_factory=list)   # row statuses that apply
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # cells that raised
    review: list[str] = field(default_factory=list)
    questions: list[QuestionResult] = field(default_factory=list)
    duration_s: float | None = None
    timing: dict = field(default_factory=dict)
    sandboxed: bool = False
    not_graded: list[str] = field(default_factory=list)   # question keys skipped (model-only)
    model_only: bool = False                              # judged from files, nothing ran

    def flag(self, status: str, note: str | None = None) -> None:
        if status not in self.flags:
            self.flags.append(status)
        if note:
            self.notes.append(note)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SubmissionResult:
        known = {f.name for f in fields(cls)}
        out = cls(**{k: v for k, v in data.items() if k in known and k != "questions"})
        qfields = {f.name for f in fields(QuestionResult)}
        out.questions = [QuestionResult(**{k: v for k, v in q.items() if k in qfields})
                         for q in data.get("questions", [])]
        return out
