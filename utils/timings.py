"""Run times and headline results, from one source: ``benchmarks/results.json``.

``python benchmarks/run.py`` measures the notebooks and merges its rows into that file. This
module writes what the README's timing table and every master's title cell say about run time,
between markers, from the same file::

    python -m utils.timings          # rewrite the README table and the notebook headers
    python -m utils.timings --check  # list what disagrees with the results file

then ``python -m utils.release`` carries the headers into ``lessons/``.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .course import ROOT

RESULTS = ROOT / "benchmarks" / "results.json"
README = ROOT / "README.md"
START, END = "<!-- run-time: generated from benchmarks/results.json -->", "<!-- /run-time -->"


@dataclass(frozen=True)
class Timing:
    """One lesson's measured run: seconds in both modes, the default run's reported numbers."""

    lesson: str
    smoke_s: float | None
    default_s: float | None
    metrics: dict = field(default_factory=dict)
    date: str = ""
    load: str = ""

    @property
    def reported(self) -> str:
        if self.default_s is None:
            return "(not measured yet)"
        return "; ".join(f"{name} {value:.4f}" for name, value in self.metrics.items()) or \
            "(no reported numbers)"


def load(path: Path = RESULTS) -> dict[str, Timing]:
    """The results file as one :class:`Timing` per lesson (missing file: none)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found = {}
    for lesson, modes in sorted(raw.items()):
        smoke, default = modes.get("smoke", {}), modes.get("default", {})
        found[lesson] = Timing(lesson, smoke.get("seconds"), default.get("seconds"),
                               dict(default.get("metrics", {})), default.get("date", ""),
                               default.get("load_after", ""))
    return found


def _seconds(value: float | None) -> str:
    if value is None:
        return "not measured"
    return f"{value:.0f} s" if value < 120 else f"{value / 60:.1f} min ({value:.0f} s)"


def header(timing: Timing) -> str:
    """The paragraph a notebook's title cell shows, between the markers."""
    if timing.default_s is None and timing.smoke_s is None:
        return (f"{START}\n**Run time:** not measured yet with `benchmarks/run.py` (see the "
                f"README).\n{END}")
    return (f"{START}\n**Run time** (measured with `benchmarks/run.py` on a 2-core CPU, "
            f"{timing.date or 'date unknown'}, load after the run {timing.load or 'unknown'}): "
            f"default run {_seconds(timing.default_s)}, smoke run {_seconds(timing.smoke_s)}. "
            f"Numbers the default run reported: {timing.reported}.\n{END}")


def table(timings: dict[str, Timing]) -> str:
    """The README's timing table, between the markers (a lesson without results says so)."""
    rows = [START, "| lesson | smoke (s) | default (s) | what the default run reports |",
            "|---|---|---|---|"]
    every = {n: timings.get(n, Timing(n, None, None, {})) for n in sorted(
        set(timings) | set(_masters()))}
    for t in every.values():
        smoke = "-" if t.smoke_s is None else f"{t.smoke_s:.0f}"
        default = "-" if t.default_s is None else f"{t.default_s:.0f}"
        rows.append(f"| {t.lesson} | {smoke} | {default} | {t.reported} |")
    return "\n".join(rows + [END])


def _replace_between(text: str, block: str) -> str | None:
    """``text`` with the marked block replaced (None when the markers are missing)."""
    if START not in text or END not in text:
        return None
    before, rest = text.split(START, 1)
    return before + block + rest.split(END, 1)[1]


def _masters() -> dict[str, Path]:
    return {p.name[:2]: p for p in sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))}


def disagreements(timings: dict[str, Timing] | None = None) -> list[str]:
    """What the README and the masters say that the results file does not (empty: all agree)."""
    timings = load() if timings is None else timings
    problems = []
    readme = README.read_text(encoding="utf-8")
    if _replace_between(readme, table(timings)) != readme:
        problems.append("README.md: the timing table differs from benchmarks/results.json")
    for lesson, path in _masters().items():
        title = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"])
        if _replace_between(title, header(timings.get(lesson, Timing(lesson, None, None)))) \
                != title:
            problems.append(f"{path.name}: the title cell's run time differs from "
                            "benchmarks/results.json (or has no markers)")
    return problems


def write(timings: dict[str, Timing] | None = None) -> list[str]:
    """Rewrite the marked blocks of the README and the masters; the files that changed."""
    import nbformat

    timings = load() if timings is None else timings
    changed = []
    readme = README.read_text(encoding="utf-8")
    new = _replace_between(readme, table(timings))
    if new is not None and new != readme:
        README.write_text(new, encoding="utf-8")
        changed.append("README.md")
    for lesson, path in _masters().items():
        nb = nbformat.read(path, as_version=4)
        title = nb.cells[0].source
        new = _replace_between(title, header(timings.get(lesson, Timing(lesson, None, None))))
        if new is not None and new != title:
            nb.cells[0].source = new
            nbformat.write(nb, path)
            changed.append(str(path.relative_to(ROOT)))
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only list disagreements")
    args = parser.parse_args(argv)
    if args.check:
        problems = disagreements()
        print("\n".join(problems) or "README and notebook headers agree with the results file")
        return 1 if problems else 0
    changed = write()
    print("\n".join(f"rewrote {c}" for c in changed) or "nothing to change")
    if changed:
        print("now run `python -m utils.release` to carry the headers into lessons/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
