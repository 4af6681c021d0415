"""One KerasTuner search shared by a chief and several workers, all on this machine (127.0.0.1).

    python scripts/distributed_search.py --dir /tmp/search --trials 6 --workers 2 --timeout 60

KerasTuner's distributed mode splits a search over processes. The *chief* runs the oracle, the
part that decides which hyperparameters to try next, as a gRPC server; it trains nothing. Each
*worker* asks the chief for a trial, trains the model, reports the score and asks again, until
the chief says the search is over. Every process reads its role from three environment variables:
KERASTUNER_TUNER_ID ('chief' for the chief, a unique id such as 'tuner0' for each worker),
KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT (the address the chief listens on).

This file is both the launcher and the program it launches. The launcher picks a free port on
127.0.0.1, starts the chief and the workers as copies of this script (with ``--run``) and waits;
it stops every process it started when the search ends, fails or runs out of time. A process that
loses its launcher, or outlives the time limit, ends itself.

Files in ``--dir`` (which must be new or empty, so that no old search is resumed by accident):
  search/              the KerasTuner project: oracle.json and trial_*/trial.json (by the chief)
  ran_by_<id>.jsonl    one line per trial a worker ran: trial id, worker id, pid, times, values
  <id>.log             everything a process printed
  pids.json            the process ids, written as soon as the processes start
  summary.json         what the launcher saw: port, exit codes, each trial with its worker
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "search"
CHIEF = "chief"


# ----------------------------------------------------------------------------- launcher side
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def role_envs(n_workers: int, port: int) -> list[dict]:
    """The KerasTuner environment of the chief (first) and of each worker."""
    ids = [CHIEF] + [f"tuner{i}" for i in range(n_workers)]
    return [{"KERASTUNER_TUNER_ID": i, "KERASTUNER_ORACLE_IP": "127.0.0.1",
             "KERASTUNER_ORACLE_PORT": str(port)} for i in ids]


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(procs: dict) -> None:
    """Terminate, then kill, every process still running; reap them all."""
    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()
    for proc in procs.values():
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def read_trials(folder: Path) -> list[dict]:
    """Every trial of the search: the chief's record (status, score, values) and who ran it."""
    ran_by = {}
    for log in folder.glob("ran_by_*.jsonl"):
        for line in log.read_text().splitlines():
            record = json.loads(line)
            ran_by[record["trial_id"]] = record
    trials = []
    for path in sorted((folder / PROJECT).glob("trial_*/trial.json")):
        trial = json.loads(path.read_text())
        worker = ran_by.get(trial["trial_id"], {})
        trials.append({"trial_id": trial["trial_id"], "status": trial["status"],
                       "score": trial["score"], "values": trial["hyperparameters"]["values"],
                       "worker": worker.get("tuner_id"), "pid": worker.get("pid"),
                       "start": worker.get("start"), "end": worker.get("end")})
    return trials


def launch(folder, trials: int = 6, workers: int = 2, timeout: float = 60.0,
           seed: int = 14) -> dict:
    """Run one search with a chief and ``workers`` workers; return (and save) the summary."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(f"{folder} is not empty; give a new folder so that no old search "
                              "is resumed by accident.")
    folder.mkdir(parents=True, exist_ok=True)
    port, start = free_port(), time.time()
    deadline = start + timeout
    procs: dict[str, subprocess.Popen] = {}
    command = [sys.executable, str(Path(__file__).resolve()), "--run", "--dir", str(folder),
               "--trials", str(trials), "--workers", str(workers), "--seed", str(seed),
               "--deadline", str(deadline)]
    chief_ended = "by itself"
    try:
        for env in role_envs(workers, port):
            tuner_id = env["KERASTUNER_TUNER_ID"]
            with open(folder / f"{tuner_id}.log", "w") as log:
                procs[tuner_id] = subprocess.Popen(
                    command, stdout=log, stderr=subprocess.STDOUT, cwd=folder,
                    env={**os.environ, **env, "TF_CPP_MIN_LOG_LEVEL": "3"})
        (folder / "pids.json").write_text(json.dumps({k: p.pid for k, p in procs.items()}))
        for tuner_id, proc in procs.items():
            if tuner_id == CHIEF:
                continue
            try:
                proc.wait(timeout=max(deadline - time.time(), 0.1))
            except subprocess.TimeoutExpired:
                raise TimeoutError(f"the search did not finish within {timeout:g} s; last lines "
                                   f"of {tuner_id}.log:\n{_tail(folder / f'{tuner_id}.log')}")
            if proc.returncode != 0:
                raise RuntimeError(f"worker {tuner_id} exited with code {proc.returncode}:\n"
                                   f"{_tail(folder / f'{tuner_id}.log')}")
        # All results are with the chief once the workers are gone. KerasTuner's chief checks
        # for the end only every 20 s, so give it a moment, then stop it ourselves.
        try:
            procs[CHIEF].wait(timeout=3)
        except subprocess.TimeoutExpired:
            chief_ended = "stopped by the launcher"
    finally:
        _stop(procs)
    summary = {"port": port, "seconds": round(time.time() - start, 1),
               "pids": {k: p.pid for k, p in procs.items()},
               "returncodes": {k: p.returncode for k, p in procs.items()},
               "chief_ended": chief_ended, "trials": read_trials(folder)}
    (folder / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


# ----------------------------------------------------------------------------- chief and workers
def _watchdog(deadline: float) -> None:
    """End this process if the launcher is gone or the time is up (never leave orphans)."""
    parent = os.getppid()

    def watch():
        while time.time() < deadline and os.getppid() == parent:
            time.sleep(0.5)
        os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


def _wait_for_workers(folder: Path, tuner_id: str, workers: int, deadline: float) -> None:
    """Start searching together: a worker that loads TensorFlow first would take every trial."""
    (folder / f"ready_{tuner_id}").touch()
    while len(list(folder.glob("ready_*"))) < workers and time.time() < deadline:
        time.sleep(0.1)


def run_tuner(folder: Path, trials: int, workers: int, seed: int, deadline: float) -> None:
    """The body of the chief and of every worker; the environment says which one this is."""
    _watchdog(deadline)
    sys.path.insert(0, str(ROOT))
    import keras
    import keras_tuner as kt
    import tensorflow as tf

    import utils
    from utils.data import load_fashion_mnist, to_float_images

    tf.config.threading.set_intra_op_parallelism_threads(1)  # one core per worker
    utils.seed_everything(seed)
    tuner_id = os.environ["KERASTUNER_TUNER_ID"]

    def build_model(hp):
        model = keras.Sequential([
            keras.Input((28, 28, 1)), keras.layers.Flatten(),
            keras.layers.Dense(hp.Int("units", 16, 64, step=16), activation="relu"),
            keras.layers.Dense(10, activation="softmax")])
        model.compile(optimizer=keras.optimizers.Adam(hp.Float("learning_rate", 1e-4, 1e-2,
                                                               sampling="log")),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    class RecordingRandomSearch(kt.RandomSearch):
        """RandomSearch that notes, in the shared folder, which worker ran which trial."""

        def on_trial_begin(self, trial):
            super().on_trial_begin(trial)
            self.started = time.time()

        def on_trial_end(self, trial):
            super().on_trial_end(trial)  # reports the result to the chief
            record = {"trial_id": trial.trial_id, "tuner_id": self.tuner_id, "pid": os.getpid(),
                      "status": trial.status, "start": self.started, "end": time.time(),
                      "values": trial.hyperparameters.values}
            with open(folder / f"ran_by_{self.tuner_id}.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")

    tuner = RecordingRandomSearch(build_model, objective="val_accuracy", max_trials=trials,
                                  seed=seed, directory=str(folder), project_name=PROJECT)
    if tuner_id == CHIEF:
        print(f"chief: serving the oracle on 127.0.0.1:{os.environ['KERASTUNER_ORACLE_PORT']}",
              flush=True)
        tuner.search()  # blocks while the workers search
        return
    (x, y), _ = load_fashion_mnist()
    x = to_float_images(x)
    _wait_for_workers(folder, tuner_id, workers, deadline)
    print(f"{tuner_id}: searching", flush=True)
    tuner.search(x[:512], y[:512], epochs=2, batch_size=64, validation_data=(x[-256:], y[-256:]),
                 verbose=0)
    print(f"{tuner_id}: the chief says the search is over", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True, help="a new or empty folder")
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds for the whole search")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--run", action="store_true", help=argparse.SUPPRESS)  # chief or worker
    parser.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        run_tuner(args.dir, args.trials, args.workers, args.seed, args.deadline)
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` stops the children
    try:
        summary = launch(args.dir, args.trials, args.workers, args.timeout, args.seed)
    except (TimeoutError, RuntimeError, FileExistsError) as exc:
        print(f"distributed search failed: {exc}", file=sys.stderr)
        return 1
    print(f"{len(summary['trials'])} trials in {summary['seconds']} s on port {summary['port']} "
          f"(chief {summary['chief_ended']})")
    for trial in summary["trials"]:
        score = "-" if trial["score"] is None else f"{trial['score']:.3f}"
        print(f"  trial {trial['trial_id']}: {trial['status']:9s} score {score} "
              f"by {trial['worker']} (pid {trial['pid']})  {trial['values']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
