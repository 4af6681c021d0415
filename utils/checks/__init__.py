"""Exercise checks: one module per lesson (``lessonNN``), built on :mod:`utils.checks.core`."""
from .core import FAIL, NOT_ATTEMPTED, PASS, ERROR, Question, Result, ready
from .tracking import progress

__all__ = ["ERROR", "FAIL", "NOT_ATTEMPTED", "PASS", "Question", "Result", "progress", "ready"]
