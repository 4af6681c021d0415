"""Generate the student notebooks in ``lessons/`` from the masters in ``solutions/``.

    python -m utils.release           # regenerate lessons/ and the stored solutions
    python -m utils.release --check   # exit 1 if anything is out of date (used by the tests)
    python -m utils.release --lessons 03 04   # only these lessons

In a master, code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` is the worked answer.
Inside a function body it becomes ``# YOUR CODE HERE`` + ``raise NotImplementedError()``; at top
level every name the block assigns becomes ``name = ...`` (the placeholder that checks report as
NOT ATTEMPTED). Outputs are stripped from both copies. The code of each exercise is also stored in
``utils/checks/solutions/lessonNN.json`` for ``qN.solution()``.
"""
from __future__ import annotations

import argparse
import ast
import copy
import json
import re
import sys
import textwrap
from pathlib import Path

import nbformat

from .course import LESSONS_DIR, ROOT, SOLUTION_STORE, SOLUTIONS_DIR

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
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
            lesson, solutions = release_notebook(master)
        except ReleaseError as exc:
            raise ReleaseError(f"{master_path.name}: {exc}") from exc
        files[LESSONS / master_path.name] = nbformat.writes(lesson) + "\n"
        if solutions:
            number = master_path.name[:2]
            files[STORE / f"lesson{number}.json"] = json.dumps(solutions, indent=1, sort_keys=True) + "\n"
    return files


def stale_files() -> list[Path]:
    """Generated files that are missing or differ from what the masters give."""
    stale = [p for p, text in planned_files().items()
             if not p.exists() or p.read_text(encoding="utf-8") != text]
    expected = {p.name for p in SOLUTIONS.glob("[0-9][0-9]_*.ipynb")}
    stale += [p for p in LESSONS.glob("*.ipynb") if p.name not in expected]
    return stale


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Generate lessons/ from the masters in solutions/.")
    parser.add_argument("--check", action="store_true", help="only report out-of-date files")
    parser.add_argument("--lessons", nargs="*", metavar="NN", help="only these lessons (e.g. 03 04)")
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = stale_files()
            for path in stale:
                print(f"out of date: {path.relative_to(ROOT)}")
            if stale:
                print("run: python -m utils.release")
            return 1 if stale else 0
        for master_path in masters(args.lessons):
            master = nbformat.read(master_path, as_version=4)
            if clear_outputs(master):
                nbformat.write(master, master_path)
                print(f"stripped outputs from {master_path.relative_to(ROOT)}")
        LESSONS.mkdir(exist_ok=True)
        STORE.mkdir(exist_ok=True)
        for path, text in planned_files(args.lessons).items():
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
                print(f"wrote {path.relative_to(ROOT)}")
    except ReleaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
