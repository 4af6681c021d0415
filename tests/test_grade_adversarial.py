"""The grader against hostile students: one batch over the corpus of tests/adversarial.py.

35 lesson-03 submissions attack the grader: they patch what the checks use, leave hooks
behind, read the checker's frames, read secrets (solutions, stored answers, the course's tests and
.git, the private tests, classmates' notebooks), plant files for later processes, rewrite
classmates' notebooks, leave daemons behind, kill processes, ignore the time limits, and forge
results. Honest classmates interleaved among them must get exactly their real worth, every
attacker 0 everywhere, no file outside the grading output may change, no marker may appear
outside the sandbox, no process started by a submission may survive the batch, and nothing a
submission does may stop the batch.

Skipped when the grading sandbox is unavailable (``utils.grading.sandbox.unavailable_reason()``).
``COURSE_ADVERSARIAL_FORCE=1`` runs it anyway, e.g. to see an unsandboxed grader fail: only do that
in a throw-away machine or namespace (the attacks are bounded, see tests/adversarial.py, but they
do plant files and kill the batch).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import adversarial
import pytest

FORCE = "COURSE_ADVERSARIAL_FORCE"


def _sandbox_unavailable() -> str | None:
    """None when this course's grader can sandbox kernels here, else why not."""
    try:
        from utils import grade
        from utils.grading import sandbox
    except Exception as exc:  # the sandboxing grader is not there (yet)
        return (f"utils.grading.sandbox cannot be imported ({type(exc).__name__}: {exc})")
    for module in (grade, sandbox):  # not another checkout's (an editable install elsewhere)
        if adversarial.ROOT not in Path(module.__file__).resolve().parents:
            return f"{module.__name__} comes from {module.__file__}, not from {adversarial.ROOT}"
    try:
        return sandbox.unavailable_reason()
    except Exception as exc:
        return f"unavailable_reason() failed ({type(exc).__name__}: {exc})"


@pytest.mark.notebook
def test_hostile_submissions_gain_nothing_and_harm_no_one(tmp_path):
    """One batch (2 workers, cell limit 30 s) over the whole corpus."""
    reason = _sandbox_unavailable()
    if reason and not os.environ.get(FORCE):
        pytest.skip(f"the grading sandbox is unavailable: {reason}")
    from utils import grade

    corpus = adversarial.build(tmp_path / "submissions")
    private = adversarial.write_private_tests(tmp_path / "private").parent
    out, feedback = tmp_path / "grades.csv", tmp_path / "feedback"
    before = adversarial.snapshot(corpus, [private])
    sentinel = adversarial.start_sentinel(corpus)
    start = time.monotonic()
    try:
        code = grade.main(adversarial.grade_args(corpus.folder, private, out, feedback))
        elapsed = time.monotonic() - start
        left = adversarial.wait_for_no_attack_processes(corpus, seconds=10)
        sentinel_alive = sentinel.poll() is None
        after = adversarial.snapshot(corpus, [private])
        found = adversarial.markers(corpus)
    finally:
        sentinel.kill()
        sentinel.wait()
        undone = adversarial.cleanup(corpus, before)

    assert code == 0, "the grader stopped with a usage error (see stderr)"
    assert out.is_file(), "no gradebook was written"
    columns, rows = adversarial.read_gradebook(out)
    problems = []
    wanted = ["student", "file", "status"] + corpus.keys + ["total", "max", "duration_s", "note"]
    if columns != wanted:
        problems.append(f"gradebook columns {columns} != {wanted}")
    problems += adversarial.check_rows(rows, corpus)
    problems += [f"changed outside the grading output: {c}"
                 for c in adversarial.changed_files(before, after)]
    problems += [f"left outside the sandbox: {m}" for m in found]
    problems += [f"still running after the batch: pid {pid}: {cmdline}" for pid, cmdline in left]
    if not sentinel_alive:
        problems.append("a submission killed a process outside its sandbox (the test's sentinel)")
    summary = f"{len(problems)} problem(s), batch of {len(corpus)} in {elapsed:.0f} s:\n"
    assert not problems, (summary + "\n".join(problems)
                          + ("\n(cleaned up: " + "; ".join(undone) + ")" if undone else ""))
