"""Time the classroom grader on a made-up class: copies of a lesson's solution and student copy.

    python benchmarks/grade_benchmark.py                      # 30 notebooks of lesson 03, 2 workers
    python benchmarks/grade_benchmark.py --lesson 01 -n 10 --workers 3 --no-smoke

Half the class hands in the solution (full marks expected), half the untouched lesson (zero
expected), interleaved. Prints the wall time, the mean time per notebook and where it goes
(kernel start, cells, checks), the machine and its load before and after (a busy machine
inflates every number). Nothing is asserted; the goal is under 3 minutes for 30 notebooks on a
2-core laptop.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from utils import grade  # noqa: E402


def _lesson(wanted: str | None) -> tuple[str, Path, Path]:
    masters = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
    usable = [m for m in masters if (ROOT / "lessons" / m.name).exists()
              and (ROOT / "utils" / "checks" / f"lesson{m.name[:2]}.py").exists()]
    if wanted:
        usable = [m for m in usable if m.name[:2] == grade.normalise_lesson(wanted)]
    if not usable:
        raise SystemExit(f"no gradable lesson{' ' + wanted if wanted else ''} (needs "
                         "solutions/NN_*.ipynb, lessons/NN_*.ipynb, utils/checks/lessonNN.py)")
    master = usable[0]
    return master.name[:2], master, ROOT / "lessons" / master.name


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except (AttributeError, OSError):  # pragma: no cover - Windows
        return "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", default=None, help="lesson number (default: 03 if present, "
                        "else the lowest gradable lesson)")
    parser.add_argument("-n", type=int, default=30, help="number of submissions (default 30)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cell-timeout", type=float, default=300)
    parser.add_argument("--no-smoke", action="store_true")
    parser.add_argument("--keep", type=Path, help="keep the class and the gradebook here")
    args = parser.parse_args()
    if args.lesson is None and (ROOT / "utils" / "checks" / "lesson03.py").exists():
        args.lesson = "03"
    lesson, master, student = _lesson(args.lesson)

    folder = Path(tempfile.mkdtemp(prefix="grade-bench-")) if args.keep is None else args.keep
    subs = folder / "class"
    subs.mkdir(parents=True, exist_ok=True)
    kinds = {}
    for i in range(args.n):
        kind = "solution" if i % 2 == 0 else "lesson"
        name = f"student{i:02d}_{lesson}.ipynb"
        shutil.copyfile(master if kind == "solution" else student, subs / name)
        kinds[f"student{i:02d}"] = kind

    argv = [str(subs), "--lesson", lesson, "--out", str(folder / "grades.csv"),
            "--workers", str(args.workers), "--cell-timeout", str(args.cell_timeout),
            "--feedback-dir", str(folder / "feedback")] + (["--no-smoke"] if args.no_smoke else [])
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, load average before: {_load()}", file=sys.stderr)
    start = time.perf_counter()
    rows, plan = grade.grade(grade.parse_args(argv))
    seconds = time.perf_counter() - start
    grade.write_csv(rows, folder / "grades.csv", plan["questions"], plan["extra_questions"])
    load_after = _load()

    wrong = []
    for row in rows:
        full = row["total"] == row["max"]
        ok = row["status"] == "graded" and (full if kinds[row["student"]] == "solution"
                                            else row["total"] == 0)
        if not ok:
            wrong.append(f"{row['student']} ({kinds[row['student']]}): {row['status']} "
                         f"{row['total']}/{row['max']} {row['note']}")
    per = [r["duration_s"] for r in rows if r["duration_s"] is not None]
    parts = {}
    for key in ("kernel_start", "cells", "checks", "kernel_stop"):
        values = [r["timing"][key] for r in rows if key in r.get("timing", {})]
        if values:
            parts[key] = statistics.mean(values)
    mode = "full data" if args.no_smoke else "smoke"
    print("| lesson | notebooks | workers | mode | wall time (s) | per notebook (s) | "
          "kernel start / cells / checks (s) | as expected |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {lesson} | {args.n} | {args.workers} | {mode} | {seconds:.1f} | "
          f"{statistics.mean(per):.1f} | "
          + " / ".join(f"{parts.get(k, float('nan')):.1f}" for k in ("kernel_start", "cells",
                                                                       "checks"))
          + f" | {args.n - len(wrong)}/{args.n} |")
    print(f"load average after: {load_after} (other work on the machine inflates the times)",
          file=sys.stderr)
    for line in wrong:
        print(f"UNEXPECTED: {line}", file=sys.stderr)
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        print(f"class and gradebook kept in {folder}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
