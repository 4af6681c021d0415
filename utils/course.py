"""Where the course lives: the repository root, the lessons, the check modules, the solution store.

The one place that knows the layout; everything else asks here.
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKS_DIR = ROOT / "utils" / "checks"
SOLUTION_STORE = CHECKS_DIR / "solutions"    # solutions/ code per question, written by release
LESSONS_DIR, SOLUTIONS_DIR = ROOT / "lessons", ROOT / "solutions"


def lesson_numbers() -> list[str]:
    """Lessons that have a check module ``utils/checks/lessonNN.py``, in order."""
    return sorted(p.stem.removeprefix("lesson") for p in CHECKS_DIR.glob("lesson[0-9][0-9].py"))


def check_module(lesson: str) -> Path:
    return CHECKS_DIR / f"lesson{lesson}.py"
