"""Make your own copy of the lessons to work in, and keep it when the course is updated.

    python -m utils.start          # copy the lessons into my_work/ (git ignores it)
    python -m utils.start --lab    # the same, then open JupyterLab there

A lesson that is already in the work folder is never overwritten, so running this again after a
``git pull`` only adds the lessons you do not have yet. Your progress record lives in the work
folder too (``.progress.json``).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .checks.tracking import WORK_MARKER
from .course import LESSONS_DIR, ROOT
from .session import shadowing_file

WORK_DIR = ROOT / "my_work"


@dataclass
class Copied:
    """What one start did: lessons copied, and lessons left as they were."""

    folder: Path
    new: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def make_work_folder(folder: Path = WORK_DIR, lessons: Path = LESSONS_DIR) -> Copied:
    """Copy every lesson that is not in ``folder`` yet; never touch one that is."""
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder} exists and is not a folder; choose another with --to")
    sources = sorted(lessons.glob("[0-9][0-9]_*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"no lessons found in {lessons}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / WORK_MARKER).touch()
    done = Copied(folder)
    for source in sources:
        target = folder / source.name
        if target.exists():
            done.kept.append(source.name)
            continue
        with open(target, "xb") as out:     # "x": fails rather than overwrite, even in a race
            out.write(source.read_bytes())
        done.new.append(source.name)
    return done


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--to", type=Path, default=WORK_DIR,
                        help="the work folder (default: my_work/ in the course)")
    parser.add_argument("--lab", action="store_true", help="then start JupyterLab there")
    args = parser.parse_args(argv)
    try:
        done = make_work_folder(args.to.expanduser().resolve())
    except (OSError, NotADirectoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"work folder: {done.folder}")
    if done.new:
        print(f"copied {len(done.new)} lesson(s): {', '.join(n[:2] for n in done.new)}")
    if done.kept:
        print(f"kept your {len(done.kept)} existing lesson(s) as they are")
    clash = shadowing_file(done.folder)
    if clash is not None:
        print(f"warning: {clash} has the same name as the course library `utils`; the lessons "
              "in this folder would import it instead. Rename it (for example to my_utils.py).")
    if args.lab:
        if shutil.which("jupyter") is None:
            print("error: `jupyter` was not found; install the course first (see README)",
                  file=sys.stderr)
            return 2
        # served from the folder above, so that links such as ../docs/glossary.md still work
        os.chdir(done.folder.parent)
        os.execvp("jupyter", ["jupyter", "lab", f"--LabApp.default_url=/lab/tree/{done.folder.name}"])
    print("open the lessons there, e.g. `jupyter lab my_work`" if done.folder == WORK_DIR
          else f"open the lessons there: `jupyter lab {done.folder}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
