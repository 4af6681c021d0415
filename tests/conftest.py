"""Test settings: no progress file is written, TensorFlow stays quiet, the repo root is importable."""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ["COURSE_PROGRESS_FILE"] = "off"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(ROOT / "tests"))


def pytest_collection_modifyitems(config, items):
    """Start the slowest tests first (the graded corpora, then every notebook run), so that the
    two xdist workers finish at about the same time instead of one running a long test last."""
    def weight(item) -> int:
        if "test_grade_adversarial" in item.nodeid:
            return 0
        return 1 if item.get_closest_marker("notebook") else 2
    items.sort(key=weight)
