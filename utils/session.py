"""The setup call at the top of every notebook."""
from __future__ import annotations

import contextlib
import os
import random
import sys
from pathlib import Path

import numpy as np

from . import config

_BLAS_LIMIT = None  # kept alive so that the thread limit set by setup() stays in force


def seed_everything(seed: int = config.SEED) -> None:
    """Seed Python, NumPy and Keras (which also seeds TensorFlow)."""
    import keras

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


@contextlib.contextmanager
def _c_stderr_silenced():
    """Send what C++ code writes to file descriptor 2 to /dev/null for a while: importing
    TensorFlow 2.21 prints absl and oneDNN lines there whatever TF_CPP_MIN_LOG_LEVEL says.
    Python's own errors still reach the notebook (they are raised, not written)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):   # no real descriptor 2 (an unusual host): change nothing
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def setup(seed: int = config.SEED, quiet: bool = False) -> None:
    """Seed every RNG, make TensorFlow deterministic, set the plot style, print versions."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # hide TensorFlow's C++ info and warnings
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    with _c_stderr_silenced():
        import keras
        import tensorflow as tf

    seed_everything(seed)
    # TensorFlow's Python warnings (e.g. "triggered tf.function retracing" when a lesson trains
    # many small models in a loop) are not for learners; errors still show
    tf.get_logger().setLevel("ERROR")
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # pragma: no cover - older TF builds
        pass
    from .plots import set_style

    set_style()
    limit_blas_threads()
    clash = shadowing_file()
    if clash is not None:
        print(f"Note: {clash} has the same name as the course library `utils`. When the kernel "
              "restarts, `import utils` will load that file instead and this cell will fail. "
              "Rename it (for example to my_utils.py).")
    if not quiet:
        devices = [d.device_type for d in tf.config.list_physical_devices()]
        mode = "smoke (tiny data, 1 epoch)" if config.smoke() else "default (bundled data)"
        print(f"TensorFlow {tf.__version__} | Keras {keras.__version__} | "
              f"devices: {', '.join(devices)} | seed {seed} | mode: {mode}")


def shadowing_file(folder: Path | None = None) -> Path | None:
    """A ``utils.py`` (or a ``utils`` package) in the notebook's folder that is not the course
    library: Python would import it instead of the course's ``utils`` after a restart."""
    folder = Path.cwd() if folder is None else folder
    ours = Path(__file__).resolve().parent
    for candidate in (folder / "utils.py", folder / "utils" / "__init__.py"):
        if candidate.is_file() and candidate.resolve().parent != ours:
            return candidate
    return None


def limit_blas_threads() -> None:
    """Run NumPy's matrix products on one thread: the lessons' small products are faster that way,
    and several threads fight over a 2-core CPU (TensorFlow keeps its own threads)."""
    global _BLAS_LIMIT
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn
    except ImportError:  # pragma: no cover
        return
    _BLAS_LIMIT = threadpool_limits(limits=1, user_api="blas")
