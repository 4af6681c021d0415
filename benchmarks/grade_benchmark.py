"""Time the classroom grader against plain notebook execution, side by side, on a made-up class.

    python benchmarks/grade_benchmark.py                      # 30 notebooks of lesson 03, 2 workers
    python benchmarks/grade_benchmark.py --lesson 01 -n 10 --workers 3 --no-smoke
    python benchmarks/grade_benchmark.py --no-sandbox --skip-baseline
    python benchmarks/grade_benchmark.py --capstone          # 30 capstones from saved models

Half the class hands in the solution (full marks expected), half the untouched lesson (zero
expected), interleaved. First the same notebooks are only executed with nbclient (``workers``
at a time, each in a fresh kernel): the baseline. Then the grader grades them (sandboxed, judged
outside). Prints both wall times, their ratio, where the grader's time goes, the machine and its
load, and writes them to ``benchmarks/results_grading.json``. With ``--capstone``: 30 capstone
hand-ins (notebook, a trained CNN's ``.keras`` file and its report) graded with ``--model-only``. Nothing is asserted; the targets
are a ratio of at most 1.3 and under 3 minutes for 30 notebooks on an idle 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from utils.grading import cli, lessons  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results_grading.json"


def _lesson(wanted: str) -> tuple[str, Path, Path]:
    lesson = lessons.normalise_lesson(wanted)
    master = next((ROOT / "solutions").glob(f"{lesson}_*.ipynb"), None)
    if master is None or not (ROOT / "lessons" / master.name).exists():
        raise SystemExit(f"lesson {lesson} needs solutions/{lesson}_*.ipynb and its lessons/ copy")
    return lesson, master, ROOT / "lessons" / master.name


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except (AttributeError, OSError):  # pragma: no cover - Windows
        return "n/a"


def _execute(path: str, smoke: bool, threads: int) -> float:
    """Run one notebook with nbclient in a fresh kernel (errors allowed); seconds taken."""
    from utils.notebooks import run_notebook

    env = {"COURSE_SMOKE": "1" if smoke else "0", "COURSE_PROGRESS_FILE": "off",
           "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2", "TF_NUM_INTRAOP_THREADS": str(threads),
           "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as cwd:
        run_notebook(path, cwd=cwd, env=env, allow_errors=True)
    return time.perf_counter() - start


def baseline(paths: list[Path], workers: int, smoke: bool) -> float:
    threads = max(1, (os.cpu_count() or 1) // workers)
    start = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_execute, [str(p) for p in paths], [smoke] * len(paths),
                      [threads] * len(paths)))
    return time.perf_counter() - start


def capstone_class(folder: Path, n: int) -> None:
    """``n`` capstone hand-ins: the student notebook, one small CNN trained for 12 epochs on the
    bundled data (the same file for everyone, above the bundled-data threshold), and a report
    that agrees with it."""
    import keras
    import numpy as np
    from keras import layers

    from utils.checks import lesson18
    from utils.data import load_fashion_mnist, to_float_images

    keras.utils.set_random_seed(0)
    (x, y), _ = load_fashion_mnist()
    model = keras.Sequential([keras.Input((28, 28, 1)),
                              layers.Conv2D(32, 3, activation="relu", padding="same"),
                              layers.MaxPooling2D(), layers.Conv2D(64, 3, activation="relu"),
                              layers.MaxPooling2D(), layers.Flatten(),
                              layers.Dense(128, activation="relu"), layers.Dense(10, "softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(to_float_images(x), y, epochs=12, batch_size=128, verbose=0)
    saved = folder / "model.keras"
    model.save(saved)
    _, _, xt, yt = lesson18._held_out(model.input_shape, False)
    accuracy = float(np.mean(model.predict(xt, verbose=0).argmax(1) == yt))
    report = {"source": "fashion-small", "params": int(model.count_params()), "epochs": 1,
              "val_accuracy": accuracy, "test_accuracy": accuracy, "train_seconds": 60.0}
    print(f"the handed-in model scores {accuracy:.4f} on the held-out images", file=sys.stderr)
    for i in range(n):
        student = folder / "class" / f"student{i:02d}"
        (student / "course_runs").mkdir(parents=True)
        shutil.copyfile(ROOT / "lessons" / "18_capstone.ipynb", student / "18_capstone.ipynb")
        shutil.copyfile(saved, student / "course_runs" / "capstone.keras")
        (student / "course_runs" / "capstone_report.json").write_text(json.dumps(report))


def capstone(args) -> int:
    folder = Path(tempfile.mkdtemp(prefix="grade-bench-capstone-"))
    capstone_class(folder, args.n)
    argv = [str(folder / "class"), "--lesson", "18", "--out", str(folder / "grades.csv"),
            "--workers", str(args.workers), "--model-only"]
    load_before = _load()
    start = time.perf_counter()
    rows, _ = cli.grade(cli.parse_args(argv))
    graded = time.perf_counter() - start
    passed = sum(r.status == "graded" and r.total == r.max for r in rows)
    result = {"lesson": "18", "notebooks": args.n, "workers": args.workers,
              "mode": "model-only (saved models)", "graded_s": round(graded, 1),
              "as_expected": passed, "load_before": load_before, "load_after": _load(),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "date": time.strftime("%Y-%m-%d")}
    print(f"| 16 | {args.n} | {args.workers} | model-only | {graded:.1f} s | "
          f"{passed}/{args.n} passed q5 and q6 |")
    _save("capstone", result)
    shutil.rmtree(folder, ignore_errors=True)
    return 0


def _save(key: str, result: dict) -> None:
    try:
        results = json.loads(RESULTS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        results = {}
    results[key] = result
    RESULTS.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"results: {RESULTS.relative_to(ROOT)} ({key})", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", default="03")
    parser.add_argument("-n", type=int, default=30, help="number of submissions (default 30)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cell-timeout", type=float, default=300)
    parser.add_argument("--no-smoke", action="store_true")
    parser.add_argument("--no-sandbox", action="store_true")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--keep", type=Path, help="keep the class and the gradebook here")
    parser.add_argument("--capstone", action="store_true",
                        help="grade capstones from their saved models instead")
    args = parser.parse_args()
    if args.capstone:
        return capstone(args)
    lesson, master, student = _lesson(args.lesson)

    folder = Path(tempfile.mkdtemp(prefix="grade-bench-")) if args.keep is None else args.keep
    subs = folder / "class"
    subs.mkdir(parents=True, exist_ok=True)
    kinds, paths = {}, []
    for i in range(args.n):
        kind = "solution" if i % 2 == 0 else "lesson"
        path = subs / f"student{i:02d}_{lesson}.ipynb"
        shutil.copyfile(master if kind == "solution" else student, path)
        kinds[f"student{i:02d}"] = kind
        paths.append(path)
    smoke = not args.no_smoke
    load_before = _load()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, load average before: {load_before}",
          file=sys.stderr)
    executed = None if args.skip_baseline else baseline(paths, args.workers, smoke)

    argv = [str(subs), "--lesson", lesson, "--out", str(folder / "grades.csv"),
            "--workers", str(args.workers), "--cell-timeout", str(args.cell_timeout),
            "--feedback-dir", str(folder / "feedback")] + (["--no-smoke"] if args.no_smoke else [])
    argv += ["--no-sandbox"] if args.no_sandbox else []
    start = time.perf_counter()
    rows, _ = cli.grade(cli.parse_args(argv))
    graded = time.perf_counter() - start
    load_after = _load()

    wrong = []
    for row in rows:
        expected = row.max if kinds[row.student] == "solution" else 0
        if row.status != "graded" or row.total != expected:
            wrong.append(f"{row.student} ({kinds[row.student]}): {row.status} "
                         f"{row.total}/{row.max} {row.note}")
    parts = {key: round(statistics.mean(r.timing[key] for r in rows if key in r.timing), 2)
             for key in ("kernel_start", "cells", "checks")
             if any(key in r.timing for r in rows)}
    result = {"lesson": lesson, "notebooks": args.n, "workers": args.workers,
              "mode": "smoke" if smoke else "full data", "sandbox": not args.no_sandbox,
              "executed_s": None if executed is None else round(executed, 1),
              "graded_s": round(graded, 1),
              "ratio": None if executed is None else round(graded / executed, 2),
              "per_notebook_s": parts, "as_expected": args.n - len(wrong),
              "load_before": load_before, "load_after": load_after,
              "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "date": time.strftime("%Y-%m-%d")}
    print("| lesson | notebooks | workers | mode | only executed (s) | graded (s) | ratio | "
          "kernel start / cells / checks per notebook (s) | as expected |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {lesson} | {args.n} | {args.workers} | {result['mode']}"
          f"{'' if result['sandbox'] else ', no sandbox'} | {result['executed_s']} | "
          f"{result['graded_s']} | {result['ratio']} | "
          + " / ".join(str(parts.get(k, "-")) for k in ("kernel_start", "cells", "checks"))
          + f" | {result['as_expected']}/{args.n} |")
    print(f"load average after: {load_after} (other work on the machine inflates the times)",
          file=sys.stderr)
    for line in wrong:
        print(f"UNEXPECTED: {line}", file=sys.stderr)
    _save(f"lesson{lesson}" + ("" if result["sandbox"] else "-no-sandbox"), result)
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        print(f"class and gradebook kept in {folder}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
