"""Test settings: no progress file is written, TensorFlow stays quiet, the repo root is importable."""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ["COURSE_PROGRESS_FILE"] = "off"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(ROOT / "tests"))
