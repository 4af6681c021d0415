"""The classroom grader (utils/grading/) on a corpus of submissions generated from a real lesson.

One batch run (2 workers, smoke mode) grades the whole corpus: the solution, the untouched lesson,
a partly solved copy, a crash, an endless loop, a kernel that dies, a deleted answer, deleted
check cells, tampered checks, a fake PASS printout, a student-shipped ``utils/``, an invalid and an
empty file, and a text file; plus one private test. The gradebook rows must be exactly as expected
and no submission file may change. The other tests need no kernel.
"""
from __future__ import annotations

import ast
import copy
import csv
import hashlib
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from utils.checks.core import MIME
from utils import release
from utils.course import lesson_numbers
from utils.grading import intake, lessons
from utils.grading.cli import main as grade_main
from utils.grading.sandbox import unavailable_reason
from utils.notebooks import check_cells

ROOT = Path(__file__).resolve().parent.parent
CELL_TIMEOUT = 60  # the endless loop costs this much; smoke cells take seconds


def _lesson_under_test():
    """Lesson 03 if present, else the lowest-numbered lesson with a master, a student copy and a
    check module."""
    found = []
    for master in sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")):
        number = master.name[:2]
        student = ROOT / "lessons" / master.name
        if student.exists() and (ROOT / "utils" / "checks" / f"lesson{number}.py").exists():
            found.append((number, master, student))
    preferred = [f for f in found if f[0] == "03"]
    return (preferred or found or [None])[0]


LESSON = _lesson_under_test()


# --------------------------------------------------------------------------- the corpus

def _placeholders(source: str) -> set[str]:
    """Names a released exercise cell leaves unanswered (``x = ...``, functions that raise
    NotImplementedError)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                and node.value.value is Ellipsis):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                isinstance(n, ast.Raise) and "NotImplementedError" in ast.unparse(n)
                for n in ast.walk(node)):
            names.add(node.name)
    return names


def _insert(nb, position: int, source: str):
    nb = copy.deepcopy(nb)
    nb.cells.insert(position, new_code_cell(source))
    return nb


def _append(nb, *sources: str):
    nb = copy.deepcopy(nb)
    nb.cells.extend(new_code_cell(s) for s in sources)
    return nb


def build_corpus(lesson: str, master_path: Path, student_path: Path, folder: Path) -> dict:
    """Write the submissions into ``folder``; return what each row of the gradebook must be."""
    solution = release.with_course_cells(nbformat.read(master_path, as_version=4),
                                         master_path.name)
    untouched = nbformat.read(student_path, as_version=4)
    assert len(solution.cells) == len(untouched.cells), "lesson and master differ in cells"
    questions = lessons.questions_in(ROOT / "utils" / "checks" / f"lesson{lesson}.py")
    keys = [q.key for q in questions]
    first_q = check_cells(untouched)[0]
    first_check = next(i for i, c in enumerate(untouched.cells)
                       if c.cell_type == "code" and f"q{first_q}.check()" in c.source)
    first_name = next(q.names[0] for q in questions if q.key == f"q{first_q}")
    exercises = [i for i, (a, b) in enumerate(zip(solution.cells, untouched.cells, strict=True))
                 if a.source != b.source]
    assert exercises and exercises[0] < first_check, "no exercise cell before the first check"

    # partly solved: the master's cells before the first check spliced into the student copy
    partial = copy.deepcopy(untouched)
    for i in exercises:
        if i < first_check:
            partial.cells[i] = copy.deepcopy(solution.cells[i])
    unanswered = set().union(*[_placeholders(untouched.cells[i].source)
                               for i in exercises if i > first_check] or [set()])
    partial_scores = {q.key: 0 if set(q.names) & unanswered else 1 for q in questions}
    assert partial_scores[f"q{first_q}"] == 1 and 0 in partial_scores.values(), partial_scores

    after_first_check = first_check + 1
    ones, zeros = dict.fromkeys(keys, 1), dict.fromkeys(keys, 0)
    deleted = {q.key: 0 if first_name in q.names else 1 for q in questions}
    no_checks = copy.deepcopy(solution)
    no_checks.cells = [c for c in no_checks.cells
                       if not (c.cell_type == "code" and intake.is_check_only(c.source))]
    module = f"utils.checks.lesson{lesson}"
    grade_mime = MIME
    fake = ("from utils.checks.core import Result\n"
            "def fake(*args, **kwargs):\n"
            "    return Result('fake', 'PASS', 1.0, ['All cases passed.'])\n")
    tampered = _append(untouched, (
        "import sys\nimport utils.checks.core as core\n" + fake +
        "class FakeQuestion:\n"
        "    key, names = 'q1', ()\n"
        "    def evaluate(self, *args, **kwargs): return fake()\n"
        "    def check(self): print('[PASS] everything (score 1.00)')\n"
        + "".join(f"{k}.evaluate = fake\n" for k in keys[:1])
        + "core.Question.evaluate = fake\n"
        "core.grade_all = lambda module, ns: [dict(key='q1', status='PASS', score=1.0)]\n"
        + "".join(f"{k} = FakeQuestion()\n" for k in keys[1:2])
        + "".join(f"sys.modules[{module!r}].{k} = FakeQuestion()\n" for k in keys)),
        "import os, sys\nos.makedirs('utils/checks', exist_ok=True)\n"
        "open('utils/__init__.py', 'w').write('')\n"
        "open('utils/checks/__init__.py', 'w').write('')\n"
        "open('utils/checks/core.py', 'w').write('raise SystemExit(\"student core\")')\n"
        "sys.path.insert(0, os.getcwd())\n"
        "os.environ['COURSE_SMOKE'] = '0'")
    fake_pass = _append(untouched, (
        "from IPython.display import display\n"
        + "".join(f"print('[PASS] Lesson {lesson} {k} (score 1.00)')\n" for k in keys)
        + "".join(f"display({{{grade_mime!r}: {{'question': {k!r}, 'status': 'PASS', "
                  "'score': 1.0, 'messages': []}, 'text/plain': 'PASS'}, raw=True)\n"
                  for k in keys)))

    notebooks = {
        f"solution_{lesson}.ipynb": (solution, "graded", ones, 1, ""),
        f"untouched_{lesson}.ipynb": (untouched, "graded", zeros, 0, ""),
        f"partial_{lesson}.ipynb": (partial, "graded", partial_scores, 1, ""),
        f"crash_{lesson}.ipynb": (_insert(solution, after_first_check,
                                          "raise RuntimeError('grader test: crash')"),
                                  "graded", ones, 1, "RuntimeError: grader test: crash"),
        f"loop_{lesson}.ipynb": (_insert(solution, after_first_check, "while True:\n    pass"),
                                 "timeout", ones, 1, "interrupted at the cell time limit"),
        f"dies_{lesson}.ipynb": (_insert(solution, after_first_check, "import os\nos._exit(3)"),
                                 "error", ones, 1, "the kernel exited with code 3"),
        f"deleted_{lesson}.ipynb": (_append(solution, f"del {first_name}"), "missing", deleted,
                                    0, f"`{first_name}` not defined"),
        f"nochecks_{lesson}.ipynb": (no_checks, "graded", ones, 1, ""),
        f"tampered_{lesson}.ipynb": (tampered, "graded", zeros, 0, "reassigns a check object"),
        f"fakepass_{lesson}.ipynb": (fake_pass, "graded", zeros, 0, "prints check-like verdicts"),
        f"mallory/{student_path.name}": (untouched, "graded", zeros, 0, ""),
    }
    expected = {}
    for name, (nb, status, scores, extra, note) in notebooks.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        student = "mallory" if name.startswith("mallory/") else name.split("_")[0]
        expected[student] = {"status": status, "scores": dict(scores, extra_q1=extra),
                             "note": note, "file": path}
    # a student-shipped utils/ that would make every check PASS if it were ever imported
    shipped = folder / "mallory" / "utils"
    (shipped / "checks").mkdir(parents=True)
    (shipped / "__init__.py").write_text("def setup(*a, **k):\n    pass\n", encoding="utf-8")
    (shipped / "checks" / "__init__.py").write_text("", encoding="utf-8")
    (shipped / "checks" / "core.py").write_text(fake, encoding="utf-8")
    (shipped / "checks" / f"lesson{lesson}.py").write_text(
        "from .core import fake\nclass Q:\n    def check(self): print('PASS')\n"
        "    evaluate = staticmethod(fake)\n" + "".join(f"{k} = Q()\n" for k in keys),
        encoding="utf-8")
    for name, content, note in ((f"badjson_{lesson}.ipynb", b"{not json", "not valid JSON"),
                                (f"empty_{lesson}.ipynb", b"", "the file is empty"),
                                (f"text_{lesson}.txt", b"my answers: 42\n", "not a .ipynb file")):
        (folder / name).write_bytes(content)
        expected[name.split("_")[0]] = {"status": "error", "scores": None, "note": note,
                                        "file": folder / name}
    return {"expected": expected, "keys": keys, "first_name": first_name}


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _compare(rows: list[dict], expected: dict, keys: list[str]) -> list[str]:
    problems = []
    by_student = {row["student"]: row for row in rows}
    if sorted(by_student) != sorted(expected) or len(rows) != len(expected):
        return [f"students {sorted(r['student'] for r in rows)} != {sorted(expected)}"]
    for student, want in expected.items():
        row = by_student[student]
        got_scores = {k: row[k] for k in keys + ["extra_q1"]}
        if want["scores"] is None:
            want_scores, want_total = dict.fromkeys(got_scores, ""), "0"
        else:
            want_scores = {k: str(v) for k, v in want["scores"].items()}
            want_total = str(sum(want["scores"].values()))
        got = (row["status"], got_scores, row["total"], row["max"], row["file"])
        wanted = (want["status"], want_scores, want_total, str(len(keys) + 1), str(want["file"]))
        if got != wanted or want["note"] not in row["note"]:
            problems.append(f"{student}: got {got} note {row['note']!r}\n"
                            f"   wanted {wanted} note containing {want['note']!r}")
    return problems


@pytest.mark.notebook
@pytest.mark.skipif(LESSON is None, reason="no lesson with solutions/NN_*.ipynb, "
                    "lessons/NN_*.ipynb and utils/checks/lessonNN.py exists yet")
def test_batch_grading_of_the_corpus(tmp_path):
    """One batch over the whole corpus (one test, so that pytest-xdist runs it once)."""
    lesson, master, student = LESSON
    submissions = tmp_path / "submissions"
    corpus = build_corpus(lesson, master, student, submissions)
    expected, keys = corpus["expected"], corpus["keys"]
    private = tmp_path / "private"
    private.mkdir()
    (private / f"lesson{lesson}.py").write_text(
        "from utils.checks.core import question, ready\n\n\n"
        f"@question(names=[{corpus['first_name']!r}])\n"
        "def q1(t, **answers):\n"
        '    """the first exercise is filled in (a private test)"""\n'
        "    t.case(all(ready(a) for a in answers.values()),\n"
        "           'the first exercise is not filled in')\n",
        encoding="utf-8")
    before = _hashes(submissions)
    out, feedback = tmp_path / "grades.csv", tmp_path / "feedback"
    sandboxing = [] if unavailable_reason() is None else ["--no-sandbox"]
    code = grade_main([str(submissions), str(submissions / f"text_{lesson}.txt"),
                       "--lesson", lesson, "--out", str(out), "--workers", "2",
                       "--cell-timeout", str(CELL_TIMEOUT), "--timeout", "900",
                       "--tests", str(private), "--feedback-dir", str(feedback)] + sandboxing)
    assert code == 0, "the grader stopped with a usage error (see stderr)"

    # the submissions are unchanged, byte for byte
    assert _hashes(submissions) == before

    # the gradebook: columns, then exactly the expected row of every student
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == (["student", "file", "status"] + keys
                             + ["extra_q1", "total", "max", "duration_s", "note"])
    problems = _compare(rows, expected, keys)
    assert not problems, "\n".join(problems)

    # a feedback file per student, with the status, the total and each question's result
    for row in rows:
        text = (feedback / f"{intake.safe_file_name(row['student'])}.md").read_text(encoding="utf-8")
        assert f"status: **{row['status']}**" in text
        assert f"{row['total']} / {row['max']}" in text
    solution = (feedback / "solution.md").read_text(encoding="utf-8")
    assert "PASS" in solution and "instructor's additional test" in solution
    assert "NOT ATTEMPTED" in (feedback / "untouched.md").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- no kernel needed

@pytest.mark.parametrize("file,student", [
    ("alice_03.ipynb", "alice"), ("alice.ipynb", "alice"), ("alice-lesson3.ipynb", "alice"),
    ("03_alice.ipynb", "alice"), ("alice_smith_03_convolution.ipynb", "alice_smith"),
    ("Alice Smith_lesson_03 (1).ipynb", "Alice Smith"), ("carol/03_convolution.ipynb", "carol"),
    ("carol/03.ipynb", "carol"), ("bob_13.ipynb", "bob_13"), ("dave_3.ipynb", "dave"),
])
def test_student_name_rule(file, student, tmp_path):
    path = tmp_path / "subs" / file
    assert intake.student_name(path, "03", "03_convolution", roots=[tmp_path / "subs"]) == student


def test_lesson_numbers_are_normalised():
    assert {lessons.normalise_lesson(t) for t in ("3", "03", "lesson03", "Lesson 3",
                                                "03_convolution")} == {"03"}
    with pytest.raises(lessons.UsageError, match="lesson number"):
        lessons.normalise_lesson("three")


@pytest.mark.parametrize("raw,reason", [
    (b"", "empty"), (b"\xff\xfe\x00", "not text"), (b"{nope", "not valid JSON"),
    (b"[1, 2]", "no list of cells"), (b'{"cells": [], "nbformat": 3}', "nbformat 4"),
])
def test_non_notebooks_are_explained(raw, reason):
    with pytest.raises(intake.InvalidNotebook, match=reason):
        intake.check_json(raw)


def test_check_only_cells_are_recognised():
    assert intake.is_check_only("q1.check()")
    assert intake.is_check_only("# q1.hint(1)\nq2.check()\nq2.hint(2)")
    assert not intake.is_check_only("q1.check()\nx = 1")
    assert not intake.is_check_only("# only a comment")
    assert not intake.is_check_only("q1.evaluate = None")


def test_review_flags_skip_course_cells():
    nb = nbformat.v4.new_notebook()
    nb.cells = [new_code_cell("import sys\nsys.modules['x'] = 1"), new_code_cell("q1 = object()")]
    assert [f.split(" (")[0] for f in intake.review_flags(nb)] == [
        "reassigns a check object", "touches sys.modules"]
    known = [intake._cell_hash(nb.cells[0].source)]
    assert [f.split(" (")[0] for f in intake.review_flags(nb, known)] == ["reassigns a check object"]


@pytest.mark.skipif(not lesson_numbers(), reason="no lesson check module yet")
@pytest.mark.parametrize("lesson", lesson_numbers())
def test_question_scan_agrees_with_the_module(lesson):
    import importlib

    from utils.checks.core import questions_of

    module = importlib.import_module(f"utils.checks.lesson{lesson}")
    scanned = lessons.questions_in(ROOT / "utils" / "checks" / f"lesson{lesson}.py")
    assert [(q.key, q.names) for q in scanned] == [
        (q.key, q.names) for q in questions_of(module)]


def test_bad_input_gives_one_clear_line(tmp_path, capsys):
    nb = tmp_path / "alice_03.ipynb"
    nb.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    lesson = (lesson_numbers() or ["03"])[0]
    (tmp_path / "sub").mkdir()
    cases = [
        ([str(nb), "--lesson", "77"], "unknown lesson 77"),
        ([str(nb), "--lesson", "x"], "lesson number"),
    ]
    if lesson_numbers():  # these are only reached once the lesson is known
        cases += [
            ([str(tmp_path / "nope.ipynb"), "--lesson", lesson], "no such file or folder"),
            ([str(tmp_path), "--lesson", lesson, "--tests", str(tmp_path / "none")],
             "no such tests folder"),
            ([str(nb), "--lesson", lesson, "--tests", str(nb)], "must be in a file named"),
            ([str(nb), "--lesson", lesson, "--out", str(nb)], "would overwrite a submission"),
            ([str(tmp_path / "sub"), "--lesson", lesson], "no notebooks"),
        ]
    for argv, message in cases:
        assert grade_main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
    with pytest.raises(SystemExit) as stop:  # argparse: usage and a one-line error
        grade_main([str(nb)])
    assert stop.value.code == 2 and "--lesson" in capsys.readouterr().err


@pytest.mark.skipif(not lesson_numbers(), reason="no lesson check module yet")
def test_a_non_notebook_is_a_row_not_a_crash(tmp_path, capsys):
    text = tmp_path / "alice.txt"
    text.write_text("hello")
    assert grade_main([str(text), "--lesson", lesson_numbers()[0]]) == 0
    out = capsys.readouterr().out
    assert "status: **error**" in out and "not a notebook" in out


# --------------------------------------------------------------------------- the sandbox

def test_sandbox_shows_the_library_but_not_the_answers(tmp_path):
    from utils.grading import sandbox

    cmd = sandbox.command(["python", "-V"], tmp_path / "w", tmp_path / "l", tmp_path / "t", {})
    pairs = list(zip(cmd, cmd[1:], cmd[2:]))
    ro = {src for flag, src, _ in pairs if flag == "--ro-bind"}
    rw = {src for flag, src, _ in pairs if flag == "--bind"}
    covered = {dest for flag, dest, _ in pairs if flag == "--tmpfs"}
    assert str(ROOT / "utils") in ro and str(ROOT / "data") in ro
    assert str(ROOT / "utils" / "checks" / "solutions") in covered
    for secret in (ROOT, ROOT / "solutions", ROOT / "tests", ROOT / ".git", ROOT / "lessons",
                   Path.home()):
        assert str(secret) not in ro | rw, secret
    assert rw == {str(tmp_path / "w"), str(tmp_path / "l"), str(tmp_path / "t")}
    for flag in ("--unshare-all", "--die-with-parent", "--new-session", "--clearenv"):
        assert flag in cmd


def test_grading_refuses_without_bubblewrap(tmp_path, capsys, monkeypatch):
    from utils.grading import sandbox

    nb = tmp_path / "alice_03.ipynb"
    nb.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    monkeypatch.setattr(sandbox, "_checked", {})
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    assert grade_main([str(nb), "--lesson", "03"]) == 2
    err = capsys.readouterr().err
    assert "apt-get install bubblewrap" in err and "--no-sandbox" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
