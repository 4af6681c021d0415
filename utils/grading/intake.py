"""Intake: which files are submissions, whose they are, and whether they are notebooks.

Nothing here runs student code or writes a submission: a file is read once, hashed and copied
into the grader's own folder before anything else happens (:func:`take_in`).
"""
from __future__ import annotations

import ast
import hashlib
import json
import re
from pathlib import Path

from ..course import LESSONS_DIR, SOLUTIONS_DIR
from .lessons import UsageError

_CHECK_ONLY_METHODS = {"check", "hint", "solution"}


class InvalidNotebook(Exception):
    """The submission is not a readable Jupyter notebook."""


def find_submissions(paths) -> list[Path]:
    """Notebooks named on the command line, and every ``*.ipynb`` under named folders (hidden
    folders such as ``.ipynb_checkpoints`` are skipped). A file named explicitly is always graded,
    whatever its extension (a non-notebook becomes an ``error`` row)."""
    found: list[Path] = []
    seen: set[Path] = set()
    for text in paths:
        path = Path(text).expanduser()
        if not path.exists():
            raise UsageError(f"no such file or folder: {text}")
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*.ipynb") if p.is_file() and not any(
                part.startswith(".") for part in p.relative_to(path).parts))
            if not inside:
                raise UsageError(f"no notebooks (*.ipynb) in folder {text}")
        else:
            inside = [path]
        for p in inside:
            key = p.resolve()
            if key not in seen:
                seen.add(key)
                found.append(p)
    if not found:
        raise UsageError("no submissions given")
    return found


_SEP = r"[\s._-]+"


def student_name(path: Path, lesson: str, topic: str | None = None, roots=()) -> str:
    """Who a submission belongs to, from its file name (see docs/grading.md):

    the file name without ``.ipynb`` and without a browser copy mark such as `` (1)``, with the
    lesson's notebook name (``03_convolution``) and the lesson number (``03``, ``3``,
    ``lesson03``, ``lesson_3``) removed where they stand as a whole word at the start or the end:
    ``alice_03.ipynb``, ``alice.ipynb``, ``03_convolution_alice.ipynb``, ``alice-lesson3.ipynb``
    -> ``alice``. When nothing is left (``alice/03_convolution.ipynb``), the name of the folder
    holding the notebook is used, unless that folder was given on the command line.
    """
    stem = path.name[: -len(".ipynb")] if path.name.lower().endswith(".ipynb") else path.stem
    name = re.sub(r"\s*\(\d+\)$", "", stem.strip())
    number = rf"(?:lesson{_SEP[:-1]}*)?0*{int(lesson)}" if lesson.isdigit() else re.escape(lesson)
    for token in ([re.escape(topic)] if topic else []) + [number]:
        name = re.sub(rf"^{token}(?:{_SEP}|$)", "", name, flags=re.IGNORECASE)
        name = re.sub(rf"(?:^|{_SEP}){token}$", "", name, flags=re.IGNORECASE)
    name = name.strip(" ._-")
    if not name:
        parent = path.resolve().parent
        given = {Path(r).resolve() for r in roots} | {Path.cwd().resolve()}
        name = parent.name if parent not in given and parent.name else stem
    return name


def safe_file_name(text: str) -> str:
    """A name usable as a file name on every system."""
    return re.sub(r"[^\w.-]+", "_", text, flags=re.UNICODE).strip("._") or "student"


def check_json(raw: bytes) -> str:
    """The text of a submission that looks like a Jupyter notebook (checked without nbformat,
    which is slow to import); :class:`InvalidNotebook` with a reason a student understands."""
    if not raw.strip():
        raise InvalidNotebook("the file is empty")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidNotebook("the file is not text (not UTF-8)") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidNotebook(f"the file is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise InvalidNotebook("the JSON has no list of cells, so it is not a Jupyter notebook")
    if not isinstance(data.get("nbformat"), int) or data["nbformat"] < 4:
        raise InvalidNotebook("only nbformat 4 notebooks (Jupyter 4 or later) can be graded")
    return text


def load_notebook(raw: bytes):
    """Parse a submission; :class:`InvalidNotebook` with a reason a student understands."""
    import nbformat

    text = check_json(raw)
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises many kinds of errors on broken files
        raise InvalidNotebook(f"the notebook cannot be read ({type(exc).__name__}: "
                              f"{str(exc)[:150]})") from None
    for index, cell in enumerate(nb.cells, 1):
        if cell.get("cell_type") not in ("code", "markdown", "raw") or not isinstance(
                cell.get("source"), str):
            raise InvalidNotebook(f"cell {index} is malformed")
    return nb


def is_check_only(source: str) -> bool:
    """True for a cell holding only ``qN.check()`` / ``qN.hint(...)`` / ``qN.solution()`` calls."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    if not tree.body:
        return False
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and isinstance(call.func.value, ast.Name)
                and re.fullmatch(r"q\d+", call.func.value.id)
                and call.func.attr in _CHECK_ONLY_METHODS):
            return False
    return True


_REVIEW = [
    ("reassigns a check object", r"^\s*q\d+\s*(?:\.\s*\w+\s*)?=(?!=)"),
    ("touches sys.modules", r"\bsys\s*\.\s*modules\b"),
    ("changes the import system",
     r"\b(?:meta_path|path_hooks|path_importer_cache)\b|\bimportlib\b"),
    ("touches builtins", r"\b__builtins__\b|\bbuiltins\b"),
    ("refers to the check framework", r"\bQuestion\b|\bTester\b|\bgrade_all\b|utils\.checks\.core"),
    ("patches a library",
     r"^\s*(?:np|numpy|keras|tf|tensorflow|utils|json|os)(?:\s*\.\s*\w+)+\s*=(?!=)"),
    ("uses setattr", r"\bsetattr\s*\("),
    ("sets a trace hook", r"\bset(?:trace|profile)\b|\baddaudithook\b"),
    ("uses ctypes or gc", r"\bctypes\b|\bgc\s*\.\s*get_(?:objects|referrers)"),
    ("starts threads or processes",
     r"\bthreading\b|\bmultiprocessing\b|\bsubprocess\b|\bos\.fork\b"),
    ("writes Python files", r"%%writefile\s+\S+\.py\b|\.py['\"]\s*,\s*['\"][wa]"),
    ("changes the course settings", r"COURSE_SMOKE|COURSE_PROGRESS_FILE|IPYTHONDIR|sitecustomize"),
    ("prints check-like verdicts", r"\bPASS\b|vnd\.cnn-course"),
]


def _cell_hash(source: str) -> str:
    return hashlib.sha1(source.strip().encode("utf-8")).hexdigest()


def course_cells(lesson: str) -> list[str]:
    """Hashes of the code cells of the lesson's own notebooks (student copy and master): the
    review flags skip them, so only code the student wrote or changed is flagged."""
    hashes = set()
    for folder in (LESSONS_DIR, SOLUTIONS_DIR):
        for path in folder.glob(f"{lesson}_*.ipynb"):
            try:
                cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
            except (OSError, ValueError):
                continue
            for cell in cells:
                source = cell.get("source", "")
                hashes.add(_cell_hash("".join(source) if isinstance(source, list) else source))
    return sorted(hashes)


def review_flags(nb, known=()) -> list[str]:
    """Code an instructor may want to look at (it changes no score): ``"prints check-like
    verdicts (cell 14)"``. Comment lines, and cells identical to the course's own (``known``
    hashes), are ignored."""
    flags, known = [], set(known)
    sources = {i: "\n".join(line for line in cell.source.splitlines()
                             if not line.lstrip().startswith("#"))
               for i, cell in enumerate(nb.cells, 1)
               if cell.cell_type == "code" and _cell_hash(cell.source) not in known}
    for label, pattern in _REVIEW:
        regex = re.compile(pattern, re.MULTILINE)
        cells = [i for i, source in sources.items() if regex.search(source)]
        if cells:
            where = ", ".join(str(i) for i in cells[:3]) + (", ..." if len(cells) > 3 else "")
            flags.append(f"{label} (cell{'s' if len(cells) > 1 else ''} {where})")
    return flags


def _cell_label(index: int, source: str) -> str:
    first = next((line.strip() for line in source.splitlines() if line.strip()), "")
    if len(first) > 40:
        first = first[:37] + "..."
    return f"cell {index}" + (f" (`{first}`)" if first else "")



def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def not_a_notebook(path: Path, exc: Exception) -> str:
    suffix = "" if path.suffix.lower() == ".ipynb" else f"; {path.name} is not a .ipynb file"
    return f"not a notebook: {exc}{suffix}"


def companions(notebook: Path, wanted: dict[str, str]) -> dict[str, Path]:
    """The files handed in beside a notebook for ``--model-only``: for each answer name, the file
    ``<notebook stem><suffix>`` next to it, else the only ``*<suffix>`` under the notebook's own
    folder when that folder holds just this one notebook."""
    found = {}
    folder = notebook.parent
    alone = [p for p in folder.glob("*.ipynb")] == [notebook]
    for name, suffix in wanted.items():
        same = notebook.with_suffix(suffix)
        if same.is_file():
            found[name] = same
        elif alone:
            files = sorted(p for p in folder.rglob(f"*{suffix}") if p.is_file() and not any(
                part.startswith(".") for part in p.relative_to(folder).parts))
            if len(files) == 1:
                found[name] = files[0]
    return found


def take_in(path: Path, folder: Path, index: int) -> tuple[Path, str, str | None]:
    """Read a submission once, copy it into the grader's ``folder``: (copy, hash, problem).

    ``problem`` is the note of a file that cannot be graded (unreadable, not a notebook)."""
    copy = folder / f"submission{index:04d}.ipynb"
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return copy, "", f"the file cannot be read ({exc.strerror or exc})"
    copy.write_bytes(raw)
    try:
        check_json(raw)
    except InvalidNotebook as exc:
        return copy, sha256(raw), not_a_notebook(path, exc)
    return copy, sha256(raw), None
