"""Execute every notebook once in smoke mode.

Solutions: every ``qN.check()`` cell shows PASS. Lessons (the untouched student copies): the
notebook runs to the end, and no check PASSes or ERRORs. New lessons are discovered by file name.
"""
from pathlib import Path

import pytest

from utils.notebooks import cell_errors, check_cells, check_results, noise, run_notebook

ROOT = Path(__file__).resolve().parent.parent
SMOKE = {"COURSE_SMOKE": "1", "COURSE_PROGRESS_FILE": "off", "MPLBACKEND": "Agg"}
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))


# Warnings still printed by a notebook, each with the reason it is tolerated for now. Every entry
# is a known defect to remove, not a permission.
KNOWN_NOISE: dict[str, tuple[str, str]] = {}


def unexpected_noise(path: Path, nb) -> list[str]:
    allowed = KNOWN_NOISE.get(path.stem, ("\0", ""))[0]
    return [line for line in noise(nb) if allowed not in line]


def _run(path: Path, tmp_path: Path):
    return run_notebook(path, cwd=tmp_path, env=SMOKE, cell_timeout=900)


@pytest.mark.notebook
@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_solution_passes_every_check(path, tmp_path):
    nb = _run(path, tmp_path)
    results, cells = check_results(nb), check_cells(nb)
    assert len(results) == len(cells), f"{len(cells)} check cells but {len(results)} results"
    failed = [r for r in results if r["status"] != "PASS"]
    assert not failed, "\n".join(f"{r['question']}: {r['status']} {r['messages']}" for r in failed)
    assert not unexpected_noise(path, nb), f"warnings or stderr: {unexpected_noise(path, nb)}"


@pytest.mark.notebook
@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_runs_and_nothing_passes(path, tmp_path):
    nb = _run(path, tmp_path)
    assert not cell_errors(nb)
    results, cells = check_results(nb), check_cells(nb)
    assert len(results) == len(cells), f"{len(cells)} check cells but {len(results)} results"
    bad = [r for r in results if r["status"] in ("PASS", "ERROR")]
    assert not bad, "\n".join(f"{r['question']}: {r['status']} {r['messages']}" for r in bad)
    assert not unexpected_noise(path, nb), f"warnings or stderr: {unexpected_noise(path, nb)}"


def test_every_lesson_has_a_master():
    assert SOLUTIONS, "no solution notebooks found"
    assert [p.name for p in LESSONS] == [p.name for p in SOLUTIONS]


def test_noise_is_found():
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="epoch 1/2 - loss 0.5\n"),
        nbformat.v4.new_output("stream", name="stdout", text="WARNING:tensorflow: retracing\n"),
        nbformat.v4.new_output("stream", name="stderr", text="oops\n")])]
    assert noise(nb) == ["cell 0: WARNING:tensorflow: retracing", "cell 0: stderr: ['oops']"]
