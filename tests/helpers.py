"""Shared assertions for the per-lesson tests (``tests/test_lessonNN.py``)."""
from __future__ import annotations

from utils.checks.core import FAIL, questions_of


def assert_fails_with(question, answers: dict, expected: str) -> None:
    """The check FAILs on these answers, and one of its messages contains ``expected``."""
    result = question.evaluate(namespace={}, **answers)
    assert result.status == FAIL, f"{question.label} gave {result.status}: {result.messages}"
    text = " ".join(result.messages)
    assert expected in text, f"{question.label}: {expected!r} not in {result.messages}"


def assert_covers_every_question(module, wrong: dict) -> None:
    """Every question of the lesson has at least one wrong answer in ``wrong``."""
    keys = {q.key for q in questions_of(module)}
    assert keys, f"{module.__name__} defines no question"
    missing = keys - set(wrong)
    assert not missing, f"no wrong-answer case for {sorted(missing)}"
