"""Every question's tests hold the reference answer and at least two more correct answers written
differently, beside its wrong ones (docs/authoring.md)."""
import importlib
from collections import Counter

import pytest

from utils.checks.core import questions_of
from utils.course import lesson_numbers


# Questions whose correct answers are tested elsewhere, with the reason.
ELSEWHERE = {("07", "q6"): "a trained model: judged by tests/test_lesson07.py's own fixtures "
                           "and by the solution notebook's run"}


def _keys(answers) -> Counter:
    pairs = answers.items() if isinstance(answers, dict) else answers
    return Counter(k if isinstance(k, str) else k.key for k, *_ in pairs)


@pytest.mark.parametrize("lesson", lesson_numbers())
def test_every_question_has_three_correct_answers(lesson):
    tests = importlib.import_module(f"test_lesson{lesson}")
    module = importlib.import_module(f"utils.checks.lesson{lesson}")
    counts = _keys(getattr(tests, "CORRECT"))
    few = {q.key: counts[q.key] for q in questions_of(module)
           if counts[q.key] < 3 and (lesson, q.key) not in ELSEWHERE}
    assert not few, f"lesson {lesson}: questions with fewer than 3 correct answers: {few}"
