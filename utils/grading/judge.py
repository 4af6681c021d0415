"""The judge: the lesson's checks and the instructor's private tests, run outside the sandbox.

It never executes student code: it reaches the notebook's variables only through a
:class:`~utils.grading.remote.Link`, gets plain data back, and writes every verdict itself.
Scores are clamped to [0, 1]; a question whose check overruns its limit scores 0 and says which
limit was applied.
"""
from __future__ import annotations

import time

from ..checks.core import ERROR, FAIL, Question
from .records import QuestionResult, clamp
from .remote import AgentLost, CheckTimedOut, Link, Namespace


def judge_questions(link: Link, questions: list[Question], limit: float,
                    group: str = "lesson") -> list[QuestionResult]:
    """Every question's verdict on the notebook behind ``link`` (each gets ``limit`` seconds).

    Each question sees fresh stand-ins for the notebook's variables, released afterwards. Stops
    at the first question that loses the kernel; the rest are not judged (the caller may restart
    the kernel and continue with :func:`judge_questions` on what is left)."""
    results: list[QuestionResult] = []
    for q in questions:
        start = time.monotonic()
        link.limit, link.spent = limit, 0.0
        try:
            described = link.describe(q.names)
        except CheckTimedOut as exc:
            results.append(_timed_out(q, group, exc, time.monotonic() - start))
            break
        except AgentLost:
            break
        missing = [n for n in q.names if not isinstance(described.get(n), dict)
                   or described[n].get("missing")]
        try:
            result = q.evaluate(namespace=Namespace(link, described))
            record = QuestionResult(q.key, q.label, str(result.status), clamp(result.score),
                                    [str(m) for m in result.messages], missing, group=group)
        except CheckTimedOut as exc:
            results.append(_timed_out(q, group, exc, time.monotonic() - start))
            if exc.killed:
                break
            continue
        except AgentLost as exc:
            results.append(QuestionResult(q.key, q.label, FAIL, 0.0, [
                f"The grader lost contact with your notebook's kernel ({exc})."], missing,
                group=group, seconds=round(time.monotonic() - start, 2), lost=True))
            break
        except BaseException as exc:  # SystemExit from a check; never lose the batch
            record = QuestionResult(q.key, q.label, ERROR, 0.0, [
                f"The check stopped with {type(exc).__name__}."], missing, group=group)
        record.seconds = round(time.monotonic() - start, 2)
        results.append(record)
        try:
            link.release()
        except (CheckTimedOut, AgentLost):
            break
    return results


def _timed_out(q: Question, group: str, exc: CheckTimedOut, seconds: float) -> QuestionResult:
    how = ("ignored the signal to stop, so its kernel was killed" if exc.killed
           else "was interrupted")
    return QuestionResult(q.key, q.label, FAIL, 0.0, [
        f"The check did not finish within its limit of {exc.limit:g} s and {how}: does your "
        "code loop forever or take far too long?"], [], group=group,
        seconds=round(seconds, 2), timed_out=True)
