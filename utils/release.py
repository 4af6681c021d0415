"""Generate the student notebooks in ``lessons/`` from the masters in ``solutions/``.

    python -m utils.release           # regenerate lessons/ and the stored solutions
    python -m utils.release --check   # exit 1 if anything is out of date (used by the tests)
    python -m utils.release --lessons 03 04   # only these lessons
    python -m utils.release --force   # also overwrite lessons that someone has changed

In a master, code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` is the worked answer.
In a Markdown cell (a written answer), text between ``<!-- BEGIN SOLUTION -->`` and
``<!-- END SOLUTION -->`` lines becomes the placeholder ``*(your text)*``.
Inside a function body it becomes ``# YOUR CODE HERE`` + ``raise NotImplementedError()``; at top
level every name the block assigns becomes ``name = ...`` (the placeholder that checks report as
NOT ATTEMPTED). Outputs are stripped from both copies. The code of each exercise is also stored in
``utils/checks/solutions/lessonNN.json`` for ``qN.solution()``.

Each lesson also gets "Open in Colab" and Binder badges and a first cell that, on Colab only,
fetches the course (URL and version from pyproject.toml). A lesson records a fingerprint of what
the release wrote; a lesson whose content no longer matches it holds someone's work, and the
release does not overwrite it without ``--force``.
"""
from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import json
import re
import sys
import textwrap
from pathlib import Path

import nbformat

from .course import LESSONS_DIR, ROOT, SOLUTION_STORE, SOLUTIONS_DIR, project_urls, version
from .grading.written import PLACEHOLDER

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
WRITTEN = re.compile(r"^<!-- BEGIN SOLUTION -->\n.*?^<!-- END SOLUTION -->$",
                     re.DOTALL | re.MULTILINE)
CHECK_CALL = re.compile(r"\bq(\d+)\.check\(")
SOLUTIONS, LESSONS, STORE = SOLUTIONS_DIR, LESSONS_DIR, SOLUTION_STORE


class ReleaseError(ValueError):
    """A master notebook that cannot be released (unbalanced markers, bad block)."""


def _assigned_names(block: str) -> list[str]:
    """Names a top-level block of code binds, in order."""
    names: list[str] = []

    def add(target):
        if isinstance(target, ast.Name) and target.id not in names:
            names.append(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                add(element)

    for node in ast.parse(block).body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                add(target)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            add(node.target)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            add(ast.Name(node.name))
    return names


def strip_solutions(source: str, where: str = "") -> str:
    """Replace every solution block of one cell's source by its placeholder."""
    out, block, indent = [], None, ""
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            if block is not None:
                raise ReleaseError(f"{where}: nested {BEGIN}")
            block, indent = [], line[: len(line) - len(line.lstrip())]
        elif stripped == END:
            if block is None:
                raise ReleaseError(f"{where}: {END} without {BEGIN}")
            out.append(f"{indent}# YOUR CODE HERE")
            if indent:
                out.append(f"{indent}raise NotImplementedError()")
            else:
                try:
                    names = _assigned_names("\n".join(block))
                except SyntaxError as exc:
                    raise ReleaseError(f"{where}: solution block does not parse: {exc}") from exc
                out.extend(f"{name} = ..." for name in names)
            block = None
        elif block is not None:
            block.append(line)
        else:
            out.append(line)
    if block is not None:
        raise ReleaseError(f"{where}: {BEGIN} without {END}")
    return "\n".join(out)


def without_markers(source: str) -> str:
    """The master cell with the marker lines removed (what ``qN.solution()`` shows)."""
    lines = [line for line in source.splitlines() if line.strip() not in (BEGIN, END)]
    return textwrap.dedent("\n".join(lines)).strip()


def clear_outputs(nb) -> bool:
    """Strip outputs and execution counts in place; True if anything changed."""
    changed = False
    for cell in nb.cells:
        if cell.cell_type == "code":
            changed |= bool(cell.get("outputs")) or cell.get("execution_count") is not None
            cell["outputs"], cell["execution_count"] = [], None
    return changed


def release_notebook(master) -> tuple[object, dict]:
    """The student notebook and the ``{qN: solution code}`` map for one master notebook."""
    nb = copy.deepcopy(master)
    clear_outputs(nb)
    solutions, pending = {}, []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            cell.source = WRITTEN.sub(lambda _: PLACEHOLDER, cell.source)
        if cell.cell_type != "code":
            continue
        source = cell.source
        if BEGIN in source:
            pending.append(without_markers(source))
            cell.source = strip_solutions(source, where=f"cell {index}")
        for number in CHECK_CALL.findall(source):
            if pending:
                solutions[f"q{number}"] = "\n\n".join(pending)
            pending = []
    return nb, solutions


# What JupyterLab writes when it saves a notebook, so that opening a lesson does not change it.
METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                   "name": "python3"},
    "language_info": {"codemirror_mode": {"name": "ipython", "version": 3},
                      "file_extension": ".py", "mimetype": "text/x-python", "name": "python",
                      "nbconvert_exporter": "python", "pygments_lexer": "ipython3",
                      "version": "3.11.7"},
}
CLONE = "/content/cnn-course"   # where the Colab start cell puts the course
COLAB_START = '''\
# On Google Colab only: fetch the course and install its library next to Colab's own
# TensorFlow (anywhere else this cell does nothing).
import os, subprocess, sys
if "google.colab" in sys.modules:
    if not os.path.isdir("{clone}"):
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", "{tag}",
                        "{url}", "{clone}"], check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                        "-e", "{clone}"], check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "keras-tuner~=1.4.8"],
                       check=True)
    sys.path.insert(0, "{clone}")
    os.chdir("{clone}/lessons")'''


def badges(name: str) -> str:
    """The Markdown of the "Open in Colab" and Binder badges of one lesson."""
    url, tag = project_urls().get("Repository", ""), f"v{version()}"
    repo = url.removeprefix("https://github.com/")
    return (f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{repo}/blob/{tag}/lessons/{name}) "
            f"[![Launch on Binder](https://mybinder.org/badge_logo.svg)]"
            f"(https://mybinder.org/v2/gh/{repo}/{tag}?urlpath=lab/tree/lessons/{name})")


def colab_start() -> str:
    """The source of the Colab start cell."""
    return COLAB_START.format(clone=CLONE, tag=f"v{version()}",
                              url=project_urls().get("Repository", ""))


def with_course_cells(nb, name: str):
    """The notebook with the cells every lesson gets (badges, the Colab start cell), stable cell
    ids and JupyterLab's metadata; a master given here looks like a fully solved lesson."""
    nb = copy.deepcopy(nb)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(badges(name)))
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(first_code, nbformat.v4.new_code_cell(colab_start()))
    for i, cell in enumerate(nb.cells):    # stable ids, so a release changes only what changed
        cell.id = f"c{i:03d}"
    nb.metadata = copy.deepcopy(METADATA)
    return nb


def student_notebook(master, name: str) -> tuple[object, dict]:
    """The lesson as students get it: released, with the course cells and the fingerprint of
    its content."""
    released, solutions = release_notebook(master)
    nb = with_course_cells(released, name)
    nb.metadata["course"] = {"lesson": name[:2], "fingerprint": fingerprint(nb)}
    return nb, solutions


def fingerprint(nb) -> str:
    """A hash of what a student can change in a notebook: cell types, sources and outputs."""
    cells = [[c.get("cell_type"), c.get("source"), c.get("outputs", []),
              c.get("execution_count")] for c in nb.get("cells", [])]
    return hashlib.sha256(json.dumps(cells, sort_keys=True).encode()).hexdigest()[:16]


def holds_changes(path: Path) -> bool:
    """True when a lesson file is not what a release wrote: someone has worked in it."""
    try:
        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    except Exception:  # unreadable: never overwrite what cannot be understood
        return True
    recorded = nb.metadata.get("course", {}).get("fingerprint")
    if recorded is None:      # written before fingerprints: changed if it was run
        return any(c.get("outputs") or c.get("execution_count") for c in nb.cells
                   if c.cell_type == "code")
    return recorded != fingerprint(nb)


def masters(lessons=None) -> list[Path]:
    """The master notebooks, all or only those whose two-digit number is in ``lessons``."""
    paths = sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))
    return [p for p in paths if not lessons or p.name[:2] in set(lessons)]


def planned_files(lessons=None) -> dict[Path, str]:
    """Every generated file (of ``lessons``, default all) and its exact content."""
    files = {}
    for master_path in masters(lessons):
        master = nbformat.read(master_path, as_version=4)
        try:
            lesson, solutions = student_notebook(master, master_path.name)
        except ReleaseError as exc:
            raise ReleaseError(f"{master_path.name}: {exc}") from exc
        files[LESSONS / master_path.name] = nbformat.writes(lesson) + "\n"
        if solutions:
            number = master_path.name[:2]
            files[STORE / f"lesson{number}.json"] = json.dumps(solutions, indent=1, sort_keys=True) + "\n"
    return files


def _same(path: Path, text: str) -> bool:
    """The file holds this content; for a notebook, the same cells (JupyterLab may have
    rewritten its metadata on opening it)."""
    if not path.exists():
        return False
    current = path.read_text(encoding="utf-8")
    if current == text or path.suffix != ".ipynb":
        return current == text
    try:
        mine = nbformat.reads(current, as_version=4)
    except Exception:
        return False
    return fingerprint(mine) == fingerprint(nbformat.reads(text, as_version=4))


def stale_files() -> list[Path]:
    """Generated files that are missing or differ from what the masters give."""
    stale = [p for p, text in planned_files().items() if not _same(p, text)]
    expected = {p.name for p in SOLUTIONS.glob("[0-9][0-9]_*.ipynb")}
    stale += [p for p in LESSONS.glob("*.ipynb") if p.name not in expected]
    return stale


def _shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Generate lessons/ from the masters in solutions/.")
    parser.add_argument("--check", action="store_true", help="only report out-of-date files")
    parser.add_argument("--lessons", nargs="*", metavar="NN", help="only these lessons (e.g. 03 04)")
    parser.add_argument("--force", action="store_true",
                        help="also overwrite lessons that hold changes (discards them)")
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = stale_files()
            for path in stale:
                print(f"out of date: {_shown(path)}")
            if stale:
                print("maintainers: run `python -m utils.release` (it does not overwrite a lesson "
                      "that holds changes)")
            return 1 if stale else 0
        for master_path in masters(args.lessons):
            master = nbformat.read(master_path, as_version=4)
            if clear_outputs(master):
                nbformat.write(master, master_path)
                print(f"stripped outputs from {_shown(master_path)}")
        LESSONS.mkdir(exist_ok=True)
        STORE.mkdir(exist_ok=True)
        kept = []
        for path, text in planned_files(args.lessons).items():
            if path.exists() and path.read_text(encoding="utf-8") == text:
                continue
            if path.suffix == ".ipynb" and path.exists() and holds_changes(path) and not args.force:
                kept.append(path)
                continue
            path.write_text(text, encoding="utf-8")
            print(f"wrote {_shown(path)}")
        for path in kept:
            print(f"kept {_shown(path)}: it holds changes (someone's work?). Copy your "
                  "lessons to a work folder of your own with `python -m utils.start` (it never "
                  "overwrites), then run the release again; `--force` would discard the changes.",
                  file=sys.stderr)
        if kept:
            return 1
    except ReleaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
