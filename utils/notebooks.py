"""Run notebooks in a fresh kernel and read the check results they display.

Used by the tests, the benchmark and the grader.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat

from .checks.core import MIME

CHECK_CALL = re.compile(r"^\s*q(\d+)\.check\(\s*\)", re.MULTILINE)


def run_notebook(notebook, cwd=None, env: dict | None = None, cell_timeout: int = 600,
                 allow_errors: bool = False):
    """Execute a notebook (path or node) in a fresh ``python3`` kernel and return the executed node.

    ``env`` adds environment variables for the kernel (e.g. ``{"COURSE_SMOKE": "1"}``).
    """
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4) if isinstance(notebook, (str, Path)) else notebook
    if cwd is None:
        cwd = Path(notebook).parent if isinstance(notebook, (str, Path)) else Path.cwd()
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3",
                            allow_errors=allow_errors, resources={"metadata": {"path": str(cwd)}})
    client.execute(env={**os.environ, **(env or {})})
    return nb


def check_results(nb) -> list[dict]:
    """The check results displayed in an executed notebook, in order."""
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if MIME in data:
                found.append(dict(data[MIME]))
    return found


def check_cells(nb) -> list[int]:
    """Question numbers of the ``qN.check()`` cells of a notebook, in order."""
    return [int(n) for cell in nb.cells if cell.cell_type == "code"
            for n in CHECK_CALL.findall(cell.source)]


def cell_errors(nb) -> list[str]:
    """``ename: evalue`` for every error output of an executed notebook."""
    return [f"{o.get('ename')}: {o.get('evalue')}" for cell in nb.cells
            for o in cell.get("outputs", []) if o.get("output_type") == "error"]


NOISE = re.compile(r"\bWARNING\b|Warning:|warnings\.warn|DeprecationWarning|Traceback")


def noise(nb) -> list[str]:
    """``cell N: first line`` for every stderr stream and every warning printed in the outputs
    of an executed notebook (students should see none)."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                found.append(f"cell {index}: stderr: {text.strip().splitlines()[:1]}")
            elif NOISE.search(text):
                line = next(x for x in text.splitlines() if NOISE.search(x))
                found.append(f"cell {index}: {line.strip()[:200]}")
    return found
