"""No check of any lesson raises on bad input; each gives FAIL or NOT ATTEMPTED with a message."""
import numpy as np
import pytest

from utils.checks.core import FAIL, NOT_ATTEMPTED, questions_of
from utils.checks.core import lesson_modules

QUESTIONS = [q for module in lesson_modules().values() for q in questions_of(module)]
BAD_VALUES = {
    "None": None,
    "string": "my answer",
    "list": [1, 2, 3],
    "nan-array": np.full((2, 3), np.nan),
    "float": 3.5,
    "empty-array": np.zeros((0,)),
    "wrong-function": lambda *args, **kwargs: None,
    "crashing-function": lambda *args, **kwargs: 1 / 0,
    "object": object(),
}


def _not_implemented(*args, **kwargs):
    raise NotImplementedError()


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: f"{q.lesson}-{q.key}")
@pytest.mark.parametrize("kind", BAD_VALUES)
def test_bad_input_gives_a_clear_fail(question, kind):
    answers = {name: BAD_VALUES[kind] for name in question.names}
    result = question.evaluate(namespace={}, **answers)
    assert result.status in (FAIL, NOT_ATTEMPTED), f"{result.status}: {result.messages}"
    assert result.messages and all(m.strip() for m in result.messages)


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: f"{q.lesson}-{q.key}")
def test_placeholders_are_not_attempted(question):
    for value in (..., _not_implemented):
        answers = {name: value for name in question.names}
        result = question.evaluate(namespace={}, **answers)
        if value is ...:
            assert result.status == NOT_ATTEMPTED, result.messages
        else:  # a function still raising NotImplementedError, or a FAIL if a value was expected
            assert result.status in (NOT_ATTEMPTED, FAIL), result.messages
    assert question.evaluate(namespace={}).status == NOT_ATTEMPTED
