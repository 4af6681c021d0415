"""scripts/distributed_search.py runs one KerasTuner search with a chief and two workers for real.

The evidence is read from the files the processes leave, not from the launcher's own summary:
the chief's oracle records every trial (oracle.json, trial_*/trial.json), each worker notes the
trials it ran (ran_by_<id>.jsonl). Both workers must have run trials of that one search, at the
same time, and no process may outlive the launcher, whether the search succeeds or times out.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "distributed_search.py"
TRIALS = 6
pytestmark = pytest.mark.xdist_group("distributed_search")  # one search, on one xdist worker


def _run(folder: Path, *args: str, timeout: float):
    return subprocess.run([sys.executable, str(SCRIPT), "--dir", str(folder), *args],
                          capture_output=True, text=True, timeout=timeout)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _worker_records(folder: Path) -> dict[str, list[dict]]:
    return {path.stem.removeprefix("ran_by_"):
            [json.loads(line) for line in path.read_text().splitlines()]
            for path in folder.glob("ran_by_*.jsonl")}


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    folder = tmp_path_factory.mktemp("distributed") / "run"
    # about 20-30 s on an idle 2-core machine (three TensorFlow imports, six tiny trials); the
    # limit leaves room for a machine shared with other jobs (150 s were seen at load 14)
    done = _run(folder, "--trials", str(TRIALS), "--workers", "2", "--timeout", "300", timeout=360)
    assert done.returncode == 0, done.stdout + done.stderr
    return folder


def test_the_chief_recorded_every_trial_of_one_search(search):
    oracle = json.loads((search / "search" / "oracle.json").read_text())
    trials = [json.loads(p.read_text()) for p in (search / "search").glob("trial_*/trial.json")]
    assert len(trials) == TRIALS
    assert sorted(oracle["start_order"]) == sorted(t["trial_id"] for t in trials)
    assert all(t["status"] == "COMPLETED" and t["score"] is not None for t in trials)


def test_both_workers_ran_trials_handed_out_by_the_chief(search):
    records = _worker_records(search)
    assert sorted(records) == ["tuner0", "tuner1"]
    assert all(records.values()), {k: len(v) for k, v in records.items()}
    ran = [r["trial_id"] for rs in records.values() for r in rs]
    assert len(ran) == len(set(ran)), f"a trial ran twice: {ran}"
    chief = {json.loads(p.read_text())["trial_id"]: json.loads(p.read_text())
             for p in (search / "search").glob("trial_*/trial.json")}
    assert set(ran) == set(chief)
    for worker, rs in records.items():
        for r in rs:
            assert r["tuner_id"] == worker
            assert r["values"] == chief[r["trial_id"]]["hyperparameters"]["values"]


def test_workers_are_separate_processes_that_ran_at_the_same_time(search):
    records = _worker_records(search)
    pids = json.loads((search / "pids.json").read_text())
    assert {r["pid"] for r in records["tuner0"]} == {pids["tuner0"]}
    assert {r["pid"] for r in records["tuner1"]} == {pids["tuner1"]}
    assert len(set(pids.values())) == 3
    a, b = (min(r["start"] for r in rs) for rs in records.values())
    first_ends = [min(r["end"] for r in rs) for rs in records.values()]
    assert max(a, b) < min(first_ends), "the workers' first trials did not overlap"


def test_no_process_outlives_the_launcher(search):
    pids = json.loads((search / "pids.json").read_text())
    assert not [name for name, pid in pids.items() if _alive(pid)]
    summary = json.loads((search / "summary.json").read_text())
    assert set(summary["returncodes"]) == {"chief", "tuner0", "tuner1"}


def test_a_timeout_stops_every_process(tmp_path):
    folder = tmp_path / "run"
    done = _run(folder, "--timeout", "2", timeout=60)
    assert done.returncode == 1
    assert "did not finish within 2 s" in done.stderr
    pids = json.loads((folder / "pids.json").read_text())
    assert len(pids) == 3 and not [name for name, pid in pids.items() if _alive(pid)]


def test_an_old_search_folder_is_refused(tmp_path):
    (tmp_path / "old_file").write_text("left from an earlier search")
    done = _run(tmp_path, timeout=60)
    assert done.returncode == 1 and "is not empty" in done.stderr
