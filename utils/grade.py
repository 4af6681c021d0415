"""``python -m utils.grade``: grade a class's notebooks for one lesson (see docs/grading.md).

The grader itself is the package :mod:`utils.grading`; this module keeps the command name.
"""
import sys

from .grading.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
