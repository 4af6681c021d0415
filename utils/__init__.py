"""Course library for the CNN course: data, setup, plots, exercise checks, release, grading."""
from .config import epochs, pick, smoke
from .report import report
from .session import seed_everything, setup

__all__ = ["EpochLog", "epochs", "pick", "report", "seed_everything", "setup", "smoke"]


def __getattr__(name: str):
    # EpochLog needs Keras; importing it lazily keeps `import utils` free of TensorFlow
    if name == "EpochLog":
        from .progress import EpochLog

        return EpochLog
    raise AttributeError(f"module 'utils' has no attribute {name!r}")
