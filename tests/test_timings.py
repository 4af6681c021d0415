"""Run times have one source: benchmarks/results.json feeds the README and the notebook headers."""
import json

from utils import timings
from utils.course import lesson_numbers


def test_every_master_has_the_generated_run_time_block_and_most_lessons_are_measured():
    import json

    from utils.course import ROOT

    for path in sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")):
        title = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"])
        assert timings.START in title and timings.END in title, f"{path.name}: no run-time block"
    measured = [n for n, t in timings.load().items() if t.default_s is not None]
    assert len(measured) >= len(lesson_numbers()) // 2, f"only lessons {measured} measured"


def test_the_readme_and_the_notebook_headers_agree_with_the_results_file():
    problems = timings.disagreements()
    assert not problems, "\n".join(problems) + (
        "\nRun `python -m utils.timings`, then `python -m utils.release` (lessons/ only gets "
        "the headers; no student work is touched).")


def test_a_changed_result_is_caught_and_only_the_marked_block_is_rewritten(tmp_path):
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"03": {
        "smoke": {"seconds": 11.2}, "default": {"seconds": 64.0, "metrics": {
            "test accuracy": 0.8404}, "date": "2026-12-01", "load_after": "1.0 1.1 1.2"}}}))
    found = timings.load(results)
    text = f"Intro.\n\n{timings.header(found['03'])}\n\nMore text."
    assert "default run 64 s, smoke run 11 s" in text and "test accuracy 0.8404" in text
    changed = timings.Timing("03", 11.2, 130.0, {"test accuracy": 0.8411})
    rewritten = timings._replace_between(text, timings.header(changed))
    assert rewritten != text and rewritten.startswith("Intro.\n\n")
    assert rewritten.endswith("\n\nMore text.") and "2.2 min (130 s)" in rewritten
    assert timings._replace_between("no markers here", timings.header(changed)) is None
    rows = timings.table(found).splitlines()
    assert "| 03 | 11 | 64 | test accuracy 0.8404 |" in rows
    assert "| 00 | - | - | (not measured yet) |" in rows     # every lesson has a row
