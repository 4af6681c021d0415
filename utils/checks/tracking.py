"""A small local record of which questions passed, with a summary."""
from __future__ import annotations

import importlib
import json
import os
from pathlib import Path


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


def lesson_modules() -> dict:
    """Every lesson check module that exists, by lesson number."""
    folder = Path(__file__).parent
    found = {}
    for path in sorted(folder.glob("lesson[0-9][0-9].py")):
        found[path.stem.removeprefix("lesson")] = importlib.import_module(f"utils.checks.{path.stem}")
    return found


def summary() -> str:
    """Text summary of passed questions per lesson."""
    from .core import PASS, questions_of

    data = load()
    lines = ["Lesson  passed  questions"]
    for lesson, module in lesson_modules().items():
        keys = [q.key for q in questions_of(module)]
        passed = [k for k in keys if data.get(lesson, {}).get(k) == PASS]
        bar = "".join("#" if k in passed else "." for k in keys)
        lines.append(f"  {lesson}    {len(passed):>2}/{len(keys):<2}    {bar}")
    return "\n".join(lines)


def progress() -> None:
    """Print which questions you have passed so far, lesson by lesson."""
    print(summary())
