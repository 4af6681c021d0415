"""A small local record of which questions passed, with a summary.

It never imports a lesson's check module (and so never TensorFlow): the questions of each lesson
are read from the modules' source.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..course import check_module, lesson_numbers
from .status import PASS


def progress_file() -> Path | None:
    """Where progress is kept (``COURSE_PROGRESS_FILE``; ``off`` disables it)."""
    value = os.environ.get("COURSE_PROGRESS_FILE", "")
    if value.lower() == "off":
        return None
    return Path(value) if value else Path.home() / ".cnn_course" / "progress.json"


def load() -> dict:
    """The recorded statuses: ``{lesson: {question: status}}``."""
    path = progress_file()
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path else {}
    except (OSError, ValueError):
        return {}


def record(lesson: str, key: str, status: str) -> None:
    """Remember the latest status of one question; never fails the check if the disk does."""
    path = progress_file()
    if path is None:
        return
    data = load()
    data.setdefault(lesson, {})[key] = status
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass


def question_keys() -> dict[str, list[str]]:
    """Every lesson's question keys, read from the check modules' source."""
    from ..grading.lessons import questions_in

    return {lesson: [q.key for q in questions_in(check_module(lesson))]
            for lesson in lesson_numbers()}


def summary() -> str:
    """Text summary of passed questions per lesson."""
    data = load()
    lines = ["Lesson  passed  questions"]
    for lesson, keys in question_keys().items():
        passed = [k for k in keys if data.get(lesson, {}).get(k) == PASS]
        bar = "".join("#" if k in passed else "." for k in keys)
        lines.append(f"  {lesson}    {len(passed):>2}/{len(keys):<2}    {bar}")
    return "\n".join(lines)


def progress() -> None:
    """Print which questions you have passed so far, lesson by lesson."""
    print(summary())
