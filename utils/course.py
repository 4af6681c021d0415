"""Where the course lives: the repository root, the lessons, the check modules, the solution store.

The one place that knows the layout; everything else asks here.
"""
from __future__ import annotations

import tomllib
from functools import cache
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


@cache
def _pyproject() -> dict:
    try:
        return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return {}


def version() -> str:
    """The course's version (pyproject.toml); its release tag is ``v<version>``."""
    from importlib import metadata

    try:
        return _pyproject().get("version") or metadata.version("cnn-course-utils")
    except metadata.PackageNotFoundError:
        return "0"


@cache
def project_urls() -> dict[str, str]:
    """``[project.urls]`` of pyproject.toml (Repository, Issues): the one place the URLs live."""
    if "urls" in _pyproject():
        return dict(_pyproject()["urls"])
    from importlib import metadata

    try:
        entries = metadata.metadata("cnn-course-utils").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return {}
    return dict(e.split(", ", 1) for e in entries if ", " in e)
