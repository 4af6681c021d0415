"""Shared assertions and tests for the per-lesson tests (``tests/test_lessonNN.py``)."""
from __future__ import annotations

import pytest

from utils.checks.core import FAIL, PASS, questions_of


def assert_fails_with(question, answers: dict, expected: str) -> None:
    """The check FAILs on these answers, and one of its messages contains ``expected``."""
    result = question.evaluate(namespace={}, **answers)
    assert result.status == FAIL, f"{question.label} gave {result.status}: {result.messages}"
    text = " ".join(result.messages)
    assert expected in text, f"{question.label}: {expected!r} not in {result.messages}"


def assert_covers_every_question(module, wrong) -> None:
    """Every question of the lesson has at least one wrong answer (``wrong``: their keys)."""
    keys = {q.key for q in questions_of(module)}
    assert keys, f"{module.__name__} defines no question"
    missing = keys - set(wrong)
    assert not missing, f"no wrong-answer case for {sorted(missing)}"


def answer_tests(module, correct, wrong):
    """The three tests every lesson's checks need, to assign to ``test_*`` names::

        test_reference_answer_passes, test_wrong_answer_fails, test_every_question_has_a_wrong_answer \\
            = answer_tests(lessonNN, CORRECT, WRONG)

    ``correct``: ``{question or "qN": answers}`` or a list of such pairs (several per question
    allowed); ``wrong``: ``{question or "qN": [(answers, expected text), ...]}`` or a list of
    ``(question or "qN", answers, expected text)``. ``answers`` is a dict of the names the check
    reads, or a single value given to the question's first name.
    """
    def question(key):
        return key if hasattr(key, "evaluate") else getattr(module, key)

    def named(q, answers):
        return answers if isinstance(answers, dict) else {q.names[0]: answers}

    pairs = correct.items() if isinstance(correct, dict) else correct
    right = [(question(k), a) for k, a in pairs]
    cases = wrong if isinstance(wrong, list) else [(k, a, t) for k, items in wrong.items()
                                                   for a, t in items]
    cases = [(question(k), a, t) for k, a, t in cases]
    case_ids, seen = [], {}
    for q, _, _ in cases:
        seen[q.key] = seen.get(q.key, 0) + 1
        case_ids.append(f"{q.key}-{seen[q.key]}")

    @pytest.mark.parametrize("q, answers", right, ids=[q.key for q, _ in right])
    def test_reference_answer_passes(q, answers):
        result = q.evaluate(namespace={}, **named(q, answers))
        assert result.status == PASS, result.messages

    @pytest.mark.parametrize("q, answers, text", cases, ids=case_ids)
    def test_wrong_answer_fails(q, answers, text):
        assert_fails_with(q, named(q, answers), text)

    def test_every_question_has_a_wrong_answer():
        assert_covers_every_question(module, {q.key for q, _, _ in cases})

    both = [(q, a) for q, a in right] + [(q, a) for q, a, _ in cases]
    both_ids = [f"right-{q.key}" for q, _ in right] + [f"wrong-{i}" for i in case_ids]

    @pytest.mark.parametrize("q, answers", both, ids=both_ids)
    def test_judge_gives_the_same_verdict(q, answers):
        assert_judge_agrees(q, named(q, answers))

    return (test_reference_answer_passes, test_wrong_answer_fails,
            test_every_question_has_a_wrong_answer, test_judge_gives_the_same_verdict)


def judge_verdict(question, answers: dict):
    """The verdict of the grader's judge on these answers: they stay with an agent that the judge
    reaches only through JSON text, as in a sandboxed kernel."""
    from utils.grading.judge import judge_questions
    from utils.grading.remote import Link, LoopbackTransport

    [result] = judge_questions(Link(LoopbackTransport(dict(answers))), [question], limit=600)
    return result


def assert_judge_agrees(question, answers: dict) -> None:
    """The judge and the in-notebook check give the same status and score."""
    here = question.evaluate(namespace={}, **answers)
    there = judge_verdict(question, answers)
    assert (there.status, round(there.score, 6)) == (here.status, round(here.score, 6)), (
        f"in the notebook: {here.status} {here.score:.3f} {here.messages}\n"
        f"in the judge:    {there.status} {there.score:.3f} {there.messages}")
