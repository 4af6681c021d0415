"""Finding a lesson's questions without importing it (no TensorFlow): read from the source."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from ..course import LESSONS_DIR, SOLUTIONS_DIR, check_module, lesson_numbers


class UsageError(Exception):
    """Bad command-line input: reported as one clear line, never a traceback."""


@dataclass(frozen=True)
class QuestionInfo:
    """What the source says of one question: its key and the notebook names it reads."""

    key: str
    names: tuple[str, ...]


def normalise_lesson(text: str) -> str:
    """``"3"``, ``"03"``, ``"lesson03"``, ``"03_convolution"`` -> ``"03"``."""
    match = re.fullmatch(r"\s*(?:lesson[\s_-]*)?(\d{1,2})(?:[\s_-].*)?", str(text), re.IGNORECASE)
    if not match:
        raise UsageError(f"--lesson should be a lesson number such as 03, not {text!r}")
    return f"{int(match.group(1)):02d}"


def _question_key(node) -> str | None:
    name = getattr(node, "name", None) or getattr(node, "id", None)
    return name if name and re.fullmatch(r"q\d+", name) else None


def _literal(node, default):
    try:
        return ast.literal_eval(node)
    except ValueError:
        return default


def questions_in(path: Path) -> list[QuestionInfo]:
    """The questions a check module defines, in order, read from its source."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: dict[str, QuestionInfo] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.decorator_list:
            key = _question_key(node)
            if not key:
                continue
            names = []
            for deco in node.decorator_list:
                for kw in getattr(deco, "keywords", []):
                    if kw.arg == "names":
                        names = [str(n) for n in _literal(kw.value, [])]
                args = getattr(deco, "args", [])
                if args and not names:
                    names = [str(n) for n in _literal(args[0], [])]
            found[key] = QuestionInfo(key, tuple(names))
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                key = _question_key(target)
                if key and key not in found:
                    found[key] = QuestionInfo(key, ())
    return sorted(found.values(), key=lambda q: int(q.key[1:]))


def module_constant(path: Path, name: str, default):
    """The literal value of ``NAME = ...`` at the top of a check module (``default`` when it is
    absent, not a literal, or the file cannot be read)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return default
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name
                                                for t in node.targets):
            return _literal(node.value, default)
    return default


def lesson_allows_smoke(path: Path) -> bool:
    """False when the check module says ``GRADE_SMOKE = False`` (its checks need the real data)."""
    return bool(module_constant(path, "GRADE_SMOKE", True))


def graded_from_files(path: Path) -> dict[str, str]:
    """``GRADE_FROM_FILES = {"answer name": ".suffix"}`` of a check module: the answers that
    ``--model-only`` reads from files handed in beside the notebook ({} when it has none)."""
    value = module_constant(path, "GRADE_FROM_FILES", {})
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def written_headings(path: Path) -> tuple[str, ...]:
    """``WRITTEN_REPORT = ("Heading", ...)`` of a check module: the headings of the lesson's
    written report (a Markdown cell), () when the lesson has none."""
    value = module_constant(path, "WRITTEN_REPORT", ())
    return tuple(str(v) for v in value) if isinstance(value, (tuple, list)) else ()


def lesson_topic(lesson: str) -> str | None:
    """The notebook stem of a lesson, e.g. ``03_convolution``."""
    for folder in (LESSONS_DIR, SOLUTIONS_DIR):
        found = sorted(folder.glob(f"{lesson}_*.ipynb"))
        if found:
            return found[0].stem
    return None


def lesson_module(text: str) -> tuple[str, Path]:
    """The lesson number and its check module, or :class:`UsageError`."""
    lesson = normalise_lesson(text)
    module = check_module(lesson)
    if not module.is_file():
        known = ", ".join(lesson_numbers()) or "none yet"
        raise UsageError(f"unknown lesson {lesson}: the course has checks for lessons {known} "
                         "(utils/checks/lessonNN.py)")
    return lesson, module
