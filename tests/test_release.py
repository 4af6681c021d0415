"""The release pipeline: placeholders, stored solutions, and generated files up to date."""
import json
from pathlib import Path

import nbformat
import pytest

from utils import release

ROOT = Path(__file__).resolve().parent.parent
ALL_NOTEBOOKS = sorted((ROOT / "solutions").glob("*.ipynb")) + sorted((ROOT / "lessons").glob("*.ipynb"))


def test_function_body_becomes_not_implemented():
    source = "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"
    assert release.strip_solutions(source) == (
        "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()")


def test_top_level_names_become_ellipsis():
    source = "### BEGIN SOLUTION\nW = 1\na, b = 2, 3\ndef g():\n    pass\nW += 1\n### END SOLUTION\nprint(W)"
    assert release.strip_solutions(source) == (
        "# YOUR CODE HERE\nW = ...\na = ...\nb = ...\ng = ...\nprint(W)")


@pytest.mark.parametrize("source,text", [
    ("### BEGIN SOLUTION\nx = 1\n", "without ### END"),
    ("x = 1\n### END SOLUTION\n", "without ### BEGIN"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "nested"),
    ("### BEGIN SOLUTION\nx = (\n### END SOLUTION\n", "does not parse"),
])
def test_broken_markers_are_reported(source, text):
    with pytest.raises(release.ReleaseError, match=text):
        release.strip_solutions(source)


def test_release_collects_solutions_per_check_and_strips_outputs():
    master = nbformat.v4.new_notebook()
    master.cells = [
        nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"),
        nbformat.v4.new_code_cell("q1.check()", outputs=[nbformat.v4.new_output("stream", text="hi")]),
        nbformat.v4.new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 3\n    ### END SOLUTION"),
        nbformat.v4.new_code_cell("q2.check()"),
        nbformat.v4.new_code_cell("q3.check()"),
    ]
    lesson, solutions = release.release_notebook(master)
    assert solutions == {"q1": "x = 1", "q2": "def f():\n    return 3"}
    assert lesson.cells[0].source == "# YOUR CODE HERE\nx = ..."
    assert all(not c.outputs for c in lesson.cells) and master.cells[1].outputs


def test_generated_files_are_up_to_date():
    stale = release.stale_files()
    assert not stale, f"run `python -m utils.release`: stale {[str(p) for p in stale]}"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_notebooks_have_no_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; run `python -m utils.release`"


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_master_has_a_check_module(path):
    assert (ROOT / "utils" / "checks" / f"lesson{path.name[:2]}.py").exists()
