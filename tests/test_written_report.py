"""The written report: found in a notebook by its headings, never run; empty parts are flagged."""
import json

from utils.grading.written import PLACEHOLDER, read_written_report, sections_of
from utils.release import release_notebook

HEADINGS = ("Question", "Design", "Results", "What did not work", "Next step")


def _notebook(tmp_path, *markdown, name="sub.ipynb"):
    cells = [{"cell_type": "markdown", "metadata": {}, "source": m} for m in markdown]
    cells.insert(0, {"cell_type": "code", "metadata": {}, "source": "### Question\nprint(1)",
                     "outputs": [], "execution_count": None})
    path = tmp_path / name
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}), encoding="utf-8")
    return path


def _words(n):
    return " ".join(["word"] * n)


def test_sections_are_read_by_heading_whatever_the_level_and_case():
    text = (f"# Report\n## question:\n{_words(3)}\n### DESIGN\nwide first stage\n#### Results\n"
            "0.93\n### What did not work\n<!-- a comment -->\n### Next step #\nmore epochs\n"
            "### Appendix\nnot part of any section")
    found = sections_of(text, HEADINGS)
    assert found == {"Question": _words(3), "Design": "wide first stage", "Results": "0.93",
                     "What did not work": "", "Next step": "more epochs"}


def test_the_cell_with_most_headings_is_the_report(tmp_path):
    report = "\n".join(f"### {h}\n{_words(40)}" for h in HEADINGS)
    path = _notebook(tmp_path, "### Results\nan early remark", report)
    found = read_written_report(path, HEADINGS)
    assert found.found and found.words == 200 and found.flags() == []
    assert found.sections["Results"] == _words(40)


def test_placeholders_and_missing_headings_are_flagged(tmp_path):
    text = "\n".join(f"### {h}\n{PLACEHOLDER}" for h in HEADINGS[:4])
    found = read_written_report(_notebook(tmp_path, text), HEADINGS)
    assert found.empty == list(HEADINGS)           # the missing "Next step" counts as empty
    assert found.flags()[0] == "written report: nothing under " + ", ".join(HEADINGS)
    short = "\n".join(f"### {h}\nyes" for h in HEADINGS)
    assert "5 words (the lesson asks for 150-300)" in read_written_report(
        _notebook(tmp_path, short, name="short.ipynb"), HEADINGS).flags()[0]


def test_a_notebook_without_a_report_or_unreadable_is_said_so(tmp_path):
    none = read_written_report(_notebook(tmp_path, "# Title\ntext"), HEADINGS)
    assert not none.found and "no Markdown cell with the headings" in none.flags()[0]
    broken = tmp_path / "broken.ipynb"
    broken.write_bytes(b"\xff{not json")
    assert "cannot be read" in read_written_report(broken, HEADINGS).flags()[0]
    odd = tmp_path / "odd.ipynb"
    odd.write_text(json.dumps({"cells": [None, 3, {"cell_type": "markdown", "source": [1, "x"]}]}))
    assert not read_written_report(odd, HEADINGS).found
    assert "cannot be read" in read_written_report(tmp_path / "absent.ipynb", HEADINGS).problem


def test_release_replaces_written_answers_with_the_placeholder():
    import nbformat

    master = nbformat.v4.new_notebook()
    master.cells = [nbformat.v4.new_markdown_cell(
        "### Question\n<!-- BEGIN SOLUTION -->\nThe author's answer.\n<!-- END SOLUTION -->\n"
        "### Design\nkept as it is")]
    student, _ = release_notebook(master)
    assert student.cells[0].source == f"### Question\n{PLACEHOLDER}\n### Design\nkept as it is"
    assert sections_of(student.cells[0].source, HEADINGS) == {"Question": "",
                                                               "Design": "kept as it is"}
