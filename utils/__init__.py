"""Course library for the CNN course: data, setup, plots, exercise checks, release, grading."""
from .config import epochs, pick, smoke
from .report import report
from .session import seed_everything, setup

__all__ = ["epochs", "pick", "report", "seed_everything", "setup", "smoke"]
