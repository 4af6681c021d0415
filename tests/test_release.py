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
    assert not stale, (f"lessons out of date: {[str(p) for p in stale]}; maintainers: run "
                       "`python -m utils.release` (it never overwrites a lesson that holds work)")


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_notebooks_have_no_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, (f"{path.name}: cells {dirty} have outputs (someone ran it here?); work "
                       "in a copy made by `python -m utils.start`, and clear these outputs")


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_master_has_a_check_module(path):
    assert (ROOT / "utils" / "checks" / f"lesson{path.name[:2]}.py").exists()


def _one_lesson(monkeypatch, tmp_path, name="03_convolution.ipynb"):
    """A release whose lessons folder is a scratch copy holding one lesson."""
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / name).write_text((ROOT / "lessons" / name).read_text(encoding="utf-8"),
                                encoding="utf-8")
    monkeypatch.setattr(release, "LESSONS", lessons)
    monkeypatch.setattr(release, "masters",
                        lambda lessons=None: [ROOT / "solutions" / name])
    monkeypatch.setattr(release, "STORE", tmp_path / "store")
    return lessons / name


def test_opening_and_saving_a_lesson_in_jupyterlab_keeps_it_current(monkeypatch, tmp_path):
    from jupyter_server.services.contents.filemanager import FileContentsManager

    path = _one_lesson(monkeypatch, tmp_path)
    manager = FileContentsManager(root_dir=str(path.parent))
    model = manager.get(path.name)           # what JupyterLab loads, then saves on autosave
    model["content"]["metadata"]["kernelspec"]["display_name"] = "Python 3"
    model["content"]["metadata"]["language_info"] = {"name": "python", "version": "3.12.1"}
    manager.save(model, path.name)
    assert not release.holds_changes(path)
    assert path not in release.stale_files()


def test_a_lesson_with_work_in_it_is_never_overwritten(monkeypatch, tmp_path, capsys):
    path = _one_lesson(monkeypatch, tmp_path)
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "YOUR CODE HERE" in c.source)
    cell.source = cell.source.replace("# YOUR CODE HERE", "answer = 42  # my work")
    nbformat.write(nb, path)
    monkeypatch.setattr(release, "planned_files", lambda lessons=None: {path: "fresh\n"})
    assert release.holds_changes(path)
    assert release.main([]) == 1
    assert "my work" in path.read_text(encoding="utf-8")
    err = capsys.readouterr().err
    assert "holds changes" in err and "python -m utils.start" in err
    assert release.main(["--force"]) == 0 and path.read_text(encoding="utf-8") == "fresh\n"


def test_lessons_carry_badges_and_the_colab_start(monkeypatch):
    nb = nbformat.read(ROOT / "lessons" / "03_convolution.ipynb", as_version=4)
    assert "colab.research.google.com/github/" in nb.cells[1].source
    assert "blob/v" in nb.cells[1].source and "mybinder.org/v2/gh/" in nb.cells[1].source
    assert nb.metadata["kernelspec"]["display_name"] == "Python 3 (ipykernel)"
    start = next(c for c in nb.cells if c.cell_type == "code")
    assert start.source == release.colab_start()


def _run_start_cell(monkeypatch, on_colab: bool, clone_exists: bool = False):
    import os
    import subprocess
    import sys
    import types

    commands, moves = [], []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: commands.append(cmd))
    monkeypatch.setattr(os, "chdir", moves.append)
    monkeypatch.setattr(os.path, "isdir", lambda p: clone_exists)
    monkeypatch.setattr(sys, "path", list(sys.path))
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(release.colab_start(), {"__name__": "__main__"})
    return commands, moves, sys.path


def test_the_colab_start_clones_the_matching_version_and_keeps_colabs_tensorflow(monkeypatch):
    from utils.course import project_urls, version

    commands, moves, path = _run_start_cell(monkeypatch, on_colab=True)
    clone, install, extra = commands
    assert clone[:2] == ["git", "clone"] and f"v{version()}" in clone
    assert project_urls()["Repository"] in clone
    assert "--no-deps" in install and "-e" in install          # Colab's TensorFlow stays
    assert not any("tensorflow" in part for part in install + extra)
    assert moves == [release.CLONE + "/lessons"] and path[0] == release.CLONE
    commands, _, _ = _run_start_cell(monkeypatch, on_colab=True, clone_exists=True)
    assert commands == []                                      # a second run fetches nothing


def test_the_colab_start_does_nothing_elsewhere(monkeypatch):
    import sys

    before = list(sys.path)
    commands, moves, path = _run_start_cell(monkeypatch, on_colab=False)
    assert commands == [] and moves == [] and path == before
