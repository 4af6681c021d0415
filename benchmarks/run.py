"""Time every solution notebook in smoke and default mode and collect the metrics it reports.

    python benchmarks/run.py                      # all lessons, both modes
    python benchmarks/run.py --lessons 01 03 --modes default
    python benchmarks/run.py --no-record          # measure without touching the results file
    python benchmarks/run.py --lessons 18 --modes default --seed 1   # another seed (not recorded)
    python benchmarks/run.py --notebook old.ipynb --modes default    # any notebook (not recorded)

Each notebook runs once per mode in a fresh kernel (as a student would run it), in a scratch
folder. Every row is printed and merged into ``benchmarks/results.json`` (one entry per lesson
and mode, the newest wins), the one source of the run times that the README and the notebook
headers quote. Nothing here is asserted.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from utils.notebooks import cell_errors, check_results, run_notebook  # noqa: E402
from utils.report import reported_metrics  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results.json"


def bench(path: Path, mode: str, seed: int | None = None, keep: Path | None = None) -> dict:
    env = {"COURSE_PROGRESS_FILE": "off", "MPLBACKEND": "Agg",
           "COURSE_SMOKE": "1" if mode == "smoke" else "0"}
    if seed is not None:
        env["COURSE_SEED"] = str(seed)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        try:
            nb = run_notebook(path, cwd=scratch, env=env, cell_timeout=3600, allow_errors=True)
        except Exception as exc:  # a dead kernel or a timeout: report it, go on
            return {"notebook": path.name, "mode": mode, "seconds": None, "error": str(exc)[:200]}
    seconds = time.perf_counter() - start
    if keep is not None:   # the executed notebook, to read its outputs later
        keep.mkdir(parents=True, exist_ok=True)
        suffix = f"-{mode}" + ("" if seed is None else f"-seed{seed}")
        nbformat.write(nb, keep / f"{path.stem}{suffix}.ipynb")
    results = check_results(nb)
    return {"notebook": path.name, "mode": mode, "seconds": round(seconds, 1),
            **({} if seed is None else {"seed": seed}),
            "checks_passed": sum(r["status"] == "PASS" for r in results),
            "checks": len(results), "errors": cell_errors(nb)[:3], "metrics": reported_metrics(nb)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", nargs="*", help="two-digit lesson numbers (default: all)")
    parser.add_argument("--modes", nargs="*", default=["smoke", "default"], choices=["smoke", "default"])
    parser.add_argument("--out", type=Path, help="also write this run's rows as JSON here")
    parser.add_argument("--no-record", action="store_true",
                        help=f"do not merge the rows into {RESULTS.relative_to(ROOT)}")
    parser.add_argument("--seed", type=int, help="run with this seed (COURSE_SEED); such rows "
                        "are printed and written to --out, not recorded")
    parser.add_argument("--keep", type=Path, help="save the executed notebooks in this folder")
    parser.add_argument("--notebook", nargs="*", type=Path, default=[],
                        help="also time these notebook files (printed, not recorded)")
    args = parser.parse_args()
    paths = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
    if args.lessons is not None or args.notebook:
        paths = [p for p in paths if p.name[:2] in set(args.lessons or ())]
    missing = [str(p) for p in args.notebook if not p.is_file()]
    if missing:
        print(f"no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    paths += [p.resolve() for p in args.notebook]
    if not paths:
        print("no matching notebooks in solutions/", file=sys.stderr)
        return 2
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}", file=sys.stderr)
    rows, recordable = [], []   # only the course's own masters go into the results file
    print("| notebook | mode | wall time (s) | checks passed | reported |")
    print("|---|---|---|---|---|")
    for path in paths:
        for mode in args.modes:
            row = bench(path, mode, args.seed, args.keep)
            rows.append(row)
            if path.parent == ROOT / "solutions":
                recordable.append(row)
            metrics = ", ".join(f"{k} {v:.3f}" for k, v in row.get("metrics", {}).items())
            note = metrics + (f" ERRORS: {row['errors']}" if row.get("errors") else "")
            note += f" FAILED: {row['error']}" if row.get("error") else ""
            print(f"| {row['notebook']} | {mode} | {row['seconds']} | "
                  f"{row.get('checks_passed', '-')}/{row.get('checks', '-')} | {note} |", flush=True)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    if not args.no_record and args.seed is None:
        record(recordable)
    return 0


def code_fingerprint(path: Path) -> str:
    """A hash of a notebook's code cells: what its run time depends on (text edits do not count)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c["source"] for c in nb["cells"] if c["cell_type"] == "code"]
    return hashlib.sha256(json.dumps(code).encode()).hexdigest()[:16]


def record(rows: list[dict]) -> None:
    """Merge finished rows into the results file (a failed run is not recorded)."""
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    for row in rows:
        if row.get("seconds") is None or row.get("errors"):
            continue
        lesson = row["notebook"][:2]
        results.setdefault(lesson, {})[row["mode"]] = {
            **row, "code": code_fingerprint(ROOT / "solutions" / row["notebook"]),
            "date": time.strftime("%Y-%m-%d"), "load_after": load, "machine": machine}
    RESULTS.write_text(json.dumps(dict(sorted(results.items())), indent=1) + "\n",
                       encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
