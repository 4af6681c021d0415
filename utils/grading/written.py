"""The written report of a lesson: a Markdown cell with fixed headings.

No check grades prose. The grader finds the cell in the submitted notebook (read as JSON, never
run), copies it into the feedback file for the instructor, and flags what a reader would notice
first: a heading with nothing under it, or a report far from the length the lesson asks for.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

PLACEHOLDER = "*(your text)*"     # what the released lesson puts under each heading
WORDS = (150, 300)                # the length the lesson asks for
MAX_NOTEBOOK = 64 * 2**20         # bytes; a larger submission is not searched for a report
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


@dataclass
class WrittenReport:
    """The report cell as the grader found it."""

    found: bool
    sections: dict[str, str] = field(default_factory=dict)   # heading -> its text
    problem: str = ""                                          # why nothing was found

    @property
    def empty(self) -> list[str]:
        return [h for h, text in self.sections.items() if not text]

    @property
    def words(self) -> int:
        return sum(len(re.findall(r"\w+", text)) for text in self.sections.values())

    def flags(self) -> list[str]:
        """What the instructor should look at, in words (empty when nothing stands out)."""
        if not self.found:
            return [f"written report: {self.problem}"]
        flags = []
        if self.empty:
            flags.append("written report: nothing under " + ", ".join(self.empty))
        low, high = WORDS
        if not low // 2 <= self.words <= high * 2:
            flags.append(f"written report: {self.words} words (the lesson asks for {low}-{high})")
        return flags


def _section_text(lines: list[str]) -> str:
    text = _COMMENT.sub("", "\n".join(lines)).strip()
    return "" if text in ("", PLACEHOLDER) else text


def sections_of(markdown: str, headings: tuple[str, ...]) -> dict[str, str]:
    """``{heading: text}`` for the headings found in ``markdown`` (case and trailing punctuation
    ignored); a section ends at the next heading of any kind."""
    wanted = {h.lower().rstrip(":. "): h for h in headings}
    sections: dict[str, list[str]] = {}
    current = None
    for line in markdown.splitlines():
        match = _HEADING.match(line)
        if match:
            current = wanted.get(match.group(2).lower().rstrip(":. "))
            if current is not None:
                sections.setdefault(current, [])
            continue
        if current is not None:
            sections[current].append(line)
    return {h: _section_text(sections[h]) for h in headings if h in sections}


def read_written_report(notebook: Path, headings: tuple[str, ...]) -> WrittenReport:
    """The Markdown cell holding most of ``headings`` in a submitted notebook. Never raises."""
    try:
        raw = Path(notebook).read_bytes()
        if len(raw) > MAX_NOTEBOOK:
            return WrittenReport(False, problem="the notebook is too large to be searched")
        cells = json.loads(raw.decode("utf-8")).get("cells", [])
    except (OSError, ValueError, AttributeError, RecursionError) as exc:
        return WrittenReport(False, problem=f"the notebook cannot be read ({type(exc).__name__})")
    best: dict[str, str] = {}
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        source = "".join(s for s in source if isinstance(s, str)) if isinstance(source, list) \
            else str(source)
        found = sections_of(source, headings)
        if len(found) > len(best):
            best = found
    if not best:
        return WrittenReport(False, problem="no Markdown cell with the headings "
                             + ", ".join(headings))
    for heading in headings:
        best.setdefault(heading, "")
    return WrittenReport(True, {h: best[h] for h in headings})


def feedback_section(report: WrittenReport) -> list[str]:
    """Markdown lines for the feedback file: the report as written, for the instructor to grade
    with the rubric of docs/grading.md (what stands out is in the row's notes, not repeated)."""
    lines = ["## Written report (graded by the instructor, not by a check)", ""]
    if not report.found:
        return lines + ["No report cell was found (see the notes).", ""]
    lines += [f"{report.words} words.", ""]
    for heading, text in report.sections.items():
        lines += [f"### {heading}", "", text or "*(empty)*", ""]
    return lines
