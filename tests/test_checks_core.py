"""The check framework: statuses, scores, messages, display, hints, solutions, progress."""
import json
from pathlib import Path
import types

import numpy as np
import pytest

from utils.checks import core
from utils.checks import tracking as progress
from utils.checks.core import ERROR, FAIL, MIME, NOT_ATTEMPTED, PASS, Fail, Question, ready
from utils.checks.core import Tester as Cases


def make_question(checker, names=("answer",), hints=("first", "second")):
    return Question("99", 1, names, checker, hints, title="demo")


def doubling_checker(t, answer):
    for n in (1, 2, 3):
        t.case(t.call(answer, n, where=f"n={n}") == 2 * n, f"answer({n}) is wrong")


def test_pass_and_full_score():
    result = make_question(doubling_checker).evaluate(namespace={}, answer=lambda n: 2 * n)
    assert (result.status, result.score) == (PASS, 1.0)


def test_partial_credit_counts_cases():
    result = make_question(doubling_checker).evaluate(namespace={}, answer=lambda n: 2 if n == 1 else 0)
    assert result.status == FAIL and result.score == pytest.approx(1 / 3)
    assert "answer(2) is wrong" in result.messages[1]


def test_answer_is_read_from_the_namespace():
    result = make_question(doubling_checker).evaluate(namespace={"answer": lambda n: n + n})
    assert result.status == PASS


@pytest.mark.parametrize("namespace,text", [({}, "is not defined"), ({"answer": ...}, "placeholder")])
def test_missing_or_placeholder_is_not_attempted(namespace, text):
    result = make_question(doubling_checker).evaluate(namespace=namespace)
    assert result.status == NOT_ATTEMPTED and text in result.messages[0]


def test_not_implemented_is_not_attempted():
    def stub(n):
        raise NotImplementedError()

    assert make_question(doubling_checker).evaluate(namespace={}, answer=stub).status == NOT_ATTEMPTED


def test_student_exception_is_a_fail_naming_the_case():
    result = make_question(doubling_checker).evaluate(namespace={}, answer=lambda n: 1 / 0)
    assert result.status == FAIL
    assert "`answer` raised ZeroDivisionError" in result.messages[0] and "n=1" in result.messages[0]


def test_non_callable_answer_is_a_fail():
    result = make_question(doubling_checker).evaluate(namespace={}, answer=[1, 2])
    assert result.status == FAIL and "should be a function" in result.messages[0]


def test_a_bug_in_the_checker_is_an_error_not_an_exception():
    def broken(t, answer):
        raise KeyError("oops")

    result = make_question(broken).evaluate(namespace={}, answer=1)
    assert result.status == ERROR and "check itself crashed" in result.messages[0]


def test_a_check_with_no_case_is_an_error():
    result = make_question(lambda t, answer: None).evaluate(namespace={}, answer=1)
    assert result.status == ERROR


def test_fail_stops_with_its_message():
    def checker(t, answer):
        t.case(True, "")
        t.fail("wrong type")

    result = make_question(checker).evaluate(namespace={}, answer=1)
    assert result.status == FAIL and result.messages[0] == "wrong type" and result.score == 0.5


def test_result_renders_as_markdown_plain_text_and_json():
    result = core.Result("Lesson 99 q1", FAIL, 0.5, ["case 2 is wrong"])
    bundle = result._repr_mimebundle_()
    assert "FAIL" in bundle["text/markdown"] and "color:" in bundle["text/markdown"]
    assert bundle["text/plain"].startswith("[FAIL] Lesson 99 q1 (score 0.50)")
    assert bundle[MIME] == {"question": "Lesson 99 q1", "status": FAIL, "score": 0.5,
                            "messages": ["case 2 is wrong"]}


def test_hints_and_solution_never_raise(capsys, monkeypatch, tmp_path):
    q = make_question(doubling_checker)
    q.hint(2)
    q.hint(7)
    q.hint("x")
    monkeypatch.setattr(core, "SOLUTION_STORE", tmp_path)
    q.solution()
    (tmp_path / "lesson99.json").write_text(json.dumps({"q1": "answer = 42"}))
    q.solution()
    out = capsys.readouterr().out
    assert "Hint 2/2" in out and "second" in out and "hints 1 to 2" in out
    assert "No stored solution" in out and "answer = 42" in out


def test_check_records_progress(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("COURSE_PROGRESS_FILE", str(tmp_path / "p.json"))
    make_question(doubling_checker).check(answer=lambda n: 2 * n)
    assert "[PASS]" in capsys.readouterr().out
    entry = progress.load()["99"]["q1"]
    assert (entry.best, entry.last) == (PASS, PASS) and entry.first_passed


def test_progress_keeps_the_best_status_and_the_first_pass(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_PROGRESS_FILE", str(tmp_path / "p.json"))
    monkeypatch.setattr(progress, "question_keys", lambda: {"99": ["q1", "q2", "q3"]})
    progress.record("99", "q1", FAIL)
    progress.record("99", "q1", PASS)
    progress.record("99", "q1", NOT_ATTEMPTED)     # a fresh copy of the lesson, run again
    progress.record("99", "q2", FAIL)
    entry = progress.load()["99"]["q1"]
    assert (entry.best, entry.last) == (PASS, NOT_ATTEMPTED) and entry.first_passed
    table = progress.summary()
    assert [lp.best for lp in table.lessons] == [{"q1": PASS, "q2": FAIL, "q3": NOT_ATTEMPTED}]
    text, page = str(table), table._repr_html_()
    assert "1/3" in text and "q1:P q2:F q3:-" in text and str(tmp_path / "p.json") in text
    assert "<table>" in page and "first passed" in page and "q2 F" in page


def test_runs_of_the_solutions_are_not_recorded(monkeypatch, tmp_path):
    from utils.course import SOLUTIONS_DIR

    monkeypatch.setenv("COURSE_PROGRESS_FILE", str(tmp_path / "p.json"))
    monkeypatch.chdir(SOLUTIONS_DIR)
    progress.record("99", "q1", PASS)
    assert progress.load() == {}


def test_progress_lives_in_the_work_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("COURSE_PROGRESS_FILE", raising=False)
    (tmp_path / progress.WORK_MARKER).write_text("")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert progress.progress_file() == tmp_path / ".progress.json"


def test_an_old_or_broken_record_is_read_safely(monkeypatch, tmp_path):
    path = tmp_path / "p.json"
    monkeypatch.setenv("COURSE_PROGRESS_FILE", str(path))
    path.write_text(json.dumps({"99": {"q1": "PASS", "q2": {"best": "??"}}, "x": 3}))
    loaded = progress.load()
    assert loaded["99"]["q1"].best == PASS and loaded["99"]["q2"].best == NOT_ATTEMPTED
    path.write_text("{not json")
    assert progress.load() == {}


def test_progress_does_not_import_the_lessons():
    """progress() reads the questions from source: no lesson module, so no TensorFlow."""
    import subprocess
    import sys

    code = ("import sys; from utils.checks import progress; progress(); "
            "print(sorted(m for m in sys.modules if m.startswith(('utils.checks.lesson', "
            "'tensorflow'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).resolve().parent.parent).stdout
    assert out.strip().splitlines()[-1] == "[]", out


def test_progress_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("COURSE_PROGRESS_FILE", "off")
    progress.record("99", "q1", PASS)
    assert progress.load() == {}


def test_ready_spots_placeholders():
    def stub():
        raise NotImplementedError()

    assert ready(1, np.zeros(2), lambda: 1)
    assert not ready(...) and not ready(None) and not ready(stub) and not ready(1, ...)


@pytest.mark.parametrize("value", [12, np.int64(12), 12.0, np.float32(12.0), np.array(12),
                                   np.array([12.0])])
def test_whole_numbers_follow_one_rule(value):
    assert Cases().whole(value, "n") == 12


@pytest.mark.parametrize("value,text", [(12.5, "not a whole number"), (True, "is a bool"),
                                        (None, "is None"), ("12", "is a str; it should be one number"),
                                        (np.nan, "NaN or infinity"), ([1, 2], "is a list")])
def test_what_is_not_a_whole_number_is_named(value, text):
    with pytest.raises(Fail, match=text):
        Cases().whole(value, "n")


def test_shapes_numbers_and_known_mistakes():
    t = Cases()
    assert t.shape([3, np.int32(4)], "s") == (3, 4) and t.shape(np.array([2, 5]), "s") == (2, 5)
    with pytest.raises(Fail, match=r"s\[1\]` is 4.5"):
        t.shape((3, 4.5), "s")
    with pytest.raises(Fail, match="should have shape"):
        t.numbers(np.zeros(3), "x", shape=(2,))
    assert t.number(np.float64(2.5), "x") == 2.5
    assert t.mistake(np.ones(3), [(np.zeros(3), "zeros"), (np.ones(3), "ones")]) == "ones"
    assert t.mistake(np.full(3, 2.0), [(np.zeros(3), "zeros")]) is None
