"""The gradebook (CSV, written row by row as submissions finish) and the feedback files."""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

from .intake import safe_file_name
from .lessons import QuestionInfo
from .records import GRADED, MISSING, ROW_STATUSES, QuestionResult, SubmissionResult, clamp
from .written import WrittenReport, feedback_section

EXTRA_PREFIX = "extra_"
FIXED = ["student", "file", "status"]
TAIL = ["total", "max", "duration_s", "note"]

STATUS_TEXT = {
    GRADED: "graded",
    MISSING: "graded, but some answers are missing (their variable or function is not defined)",
    "timeout": "graded, but part of the notebook was stopped at a time limit",
    "error": "there was a problem running or reading the notebook (see the notes)",
}


def fmt(value) -> str:
    if value is None:
        return ""
    return f"{round(float(value), 3):g}"


@dataclass
class Row:
    """One line of the gradebook, with what the feedback file needs."""

    student: str
    file: str
    status: str
    scores: dict[str, float | None]
    items: list[tuple[str, str, QuestionResult | None]]   # (column, group, result)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    duration_s: float | None = None
    sandboxed: bool = True
    timing: dict = field(default_factory=dict)
    model_only: bool = False
    written: WrittenReport | None = None   # the lesson's written report, when it has one

    @property
    def total(self) -> float:
        return sum(v for v in self.scores.values() if v is not None)

    @property
    def max(self) -> int:
        return len(self.items)

    @property
    def note(self) -> str:
        return "; ".join(self.notes)

    def cells(self, columns: list[str]) -> list[str]:
        flat = {"student": self.student, "file": self.file, "status": self.status,
                "total": fmt(self.total), "max": str(self.max),
                "duration_s": "" if self.duration_s is None else str(self.duration_s),
                "note": self.note[:1000]}
        flat.update({k: fmt(v) for k, v in self.scores.items()})
        return [flat.get(c, "") for c in columns]


def columns(questions: list[QuestionInfo], private: list[QuestionInfo]) -> list[str]:
    return (FIXED + [q.key for q in questions] + [EXTRA_PREFIX + q.key for q in private] + TAIL)


def build_row(student: str, file: str, result: SubmissionResult, questions: list[QuestionInfo],
              private: list[QuestionInfo], duplicates=(),
              written: WrittenReport | None = None) -> Row:
    """A gradebook row from a worker's result. Only the lesson's known questions count: a
    result for any other column is dropped, every score is clamped to [0, 1]."""
    found = {(r.group, r.key): r for r in result.questions}
    checked = bool(found)
    items = []
    for group, wanted, prefix in (("lesson", questions, ""), ("private", private, EXTRA_PREFIX)):
        for info in wanted:
            record = found.get((group, info.key))
            if (prefix + info.key) in result.not_graded:
                continue
            if record is None and checked:
                record = QuestionResult(info.key, info.key, "ERROR", 0.0,
                                        ["This check did not run (see the notes)."], group=group)
            if record is not None:
                record.score = clamp(record.score)
            items.append((prefix + info.key, group, record))
    flags = set(result.flags)
    notes = list(result.notes)
    missing = [f"{column} (`{'`, `'.join(r.missing)}` not defined)"
               for column, _, r in items if r is not None and r.missing]
    if missing:
        flags.add(MISSING)
        notes.append("missing answers: " + "; ".join(missing))
    if result.not_graded:
        notes.append("not graded in this mode: " + ", ".join(result.not_graded))
    if result.errors:
        notes.append(f"{len(result.errors)} cell(s) raised an error, first: {result.errors[0]}")
    if result.review:
        notes.append("review: " + "; ".join(result.review))
    if duplicates:
        notes.append("more than one submission for this student: " + ", ".join(duplicates))
    if written is not None:
        notes += written.flags()
    status = next((s for s in ROW_STATUSES if s in flags), GRADED)
    scores = {column: (r.score if r is not None else None) for column, _, r in items}
    return Row(student, file, status, scores, items, notes, list(result.errors),
               result.duration_s, result.sandboxed, dict(result.timing), result.model_only,
               written)


class Gradebook:
    """The CSV, appended to as rows finish (a crash loses no finished row), then sorted."""

    def __init__(self, path: Path, header: list[str]):
        self.path, self.header = path, header
        self.rows: list[list[str]] = []

    def resume(self) -> set[str]:
        """Rows already in the file (``--resume``); returns the files they grade."""
        try:
            with open(self.path, newline="", encoding="utf-8") as handle:
                reader = csv.reader(handle)
                header = next(reader, None)
                if header != self.header:
                    return set()
                self.rows = [r for r in reader if len(r) == len(header)]
        except OSError:
            return set()
        return {r[1] for r in self.rows}

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._rewrite(self.rows)

    def add(self, row: Row) -> None:
        cells = row.cells(self.header)
        self.rows = [r for r in self.rows if r[1] != row.file] + [cells]
        with open(self.path, "a", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerow(cells)
            handle.flush()
            os.fsync(handle.fileno())

    def finish(self) -> None:
        self._rewrite(sorted(self.rows, key=lambda r: (r[0].lower(), r[1])))

    def _rewrite(self, rows) -> None:
        tmp = self.path.with_name(self.path.name + ".part")
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(self.header)
            writer.writerows(rows)
        tmp.replace(self.path)


def feedback_markdown(row: Row, lesson: str, smoke: bool) -> str:
    """The feedback file of one student."""
    lines = [f"# Lesson {lesson}: feedback for {row.student}", "",
             f"- notebook: `{row.file}`",
             f"- status: **{row.status}**: {STATUS_TEXT[row.status]}",
             f"- score: **{fmt(row.total)} / {row.max}**",
             (f"- run: {'smoke mode (tiny data)' if smoke else 'full data'}, "
              f"{row.duration_s} s, " + ("from the files handed in (nothing was run)"
                                         if row.model_only else "in the sandbox"
                                         if row.sandboxed else
                                         "WITHOUT the sandbox (--no-sandbox)")), ""]
    if row.items:
        lines += ["| question | result | score |", "|---|---|---|"]
        for column, _, r in row.items:
            lines.append(f"| {column} | {r.status if r else 'not checked'} | "
                         f"{fmt(r.score) if r else '-'} |")
        lines.append("")
        for column, group, r in row.items:
            if r is None:
                continue
            private = " (instructor's additional test)" if group == "private" else ""
            lines += [f"## {column}: {r.status}, score {fmt(r.score)}{private}", "",
                      r.question or column, ""]
            lines += [f"- {m}" for m in r.messages]
            lines.append("")
    if row.written is not None:
        lines += feedback_section(row.written)
    if row.notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in row.notes] + [""]
    if len(row.errors) > 1:
        lines += ["## Cells that raised an error", ""] + [f"- {e}" for e in row.errors] + [""]
    return "\n".join(lines)


def feedback_name(row: Row, used: set[str]) -> str:
    name = safe_file_name(row.student)
    if name in used:
        name = f"{name}_{safe_file_name(Path(row.file).stem)}"
    used.add(name)
    return name + ".md"
