"""Run modes and paths, decided in one place.

Smoke mode (environment variable ``COURSE_SMOKE=1``) is what CI uses: tiny data
and one epoch, so every notebook runs in seconds. The default is the real run
on the bundled data.
"""
from __future__ import annotations

import os
from pathlib import Path

from .course import ROOT

# data/ in a checkout; utils/bundled/ when the course library was installed as a wheel
DATA_DIR = ROOT / "data" if (ROOT / "data").is_dir() else Path(__file__).parent / "bundled"
SEED = 42   # COURSE_SEED=k in the environment reruns a notebook with another seed (benchmarks)
if os.environ.get("COURSE_SEED"):
    try:
        SEED = int(os.environ["COURSE_SEED"])
    except ValueError:
        raise ValueError(f"COURSE_SEED should be a whole number, not "
                         f"{os.environ['COURSE_SEED']!r}") from None


def smoke() -> bool:
    """True when the course runs in smoke mode (``COURSE_SMOKE=1``)."""
    return os.environ.get("COURSE_SMOKE", "").strip().lower() in {"1", "true", "yes", "on"}


def pick(default, smoke_value):
    """Return ``smoke_value`` in smoke mode and ``default`` otherwise."""
    return smoke_value if smoke() else default


def epochs(n: int) -> int:
    """Number of epochs to train: ``n`` normally, 1 in smoke mode."""
    return pick(n, 1)
