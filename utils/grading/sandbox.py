"""The OS sandbox around a submission's kernel (bubblewrap, on Linux).

What the kernel sees: a read-only system and Python, the course library (``utils/``) and the
bundled ``data/`` read-only, its own writable ``/submission`` (the notebook copy) and ``/tmp``,
and the folder of the kernel's sockets. Not visible: ``solutions/``, the solution store,
``tests/``, ``.git``, the instructor's home folder and private tests, other submissions, the
grader's processes. No network, its own PID, IPC and UTS namespaces; limits on memory, file
size, CPU time and (where cgroups can be written) process count. Killing the sandbox's first
process ends every process the submission started.
"""
from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..course import ROOT

INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: "
                "sudo dnf install bubblewrap), or grade with --no-sandbox (the students' code then "
                "runs as you)")
INSIDE_WORK, INSIDE_LINK, INSIDE_TMP = "/submission", "/grader", "/tmp"
_CGROUP_ROOTS = {"pids": Path("/sys/fs/cgroup/pids"), "memory": Path("/sys/fs/cgroup/memory")}


@dataclass
class Limits:
    memory_bytes: int = 8 * 2**30      # address space of each process
    file_bytes: int = 2 * 2**30        # largest file it may write
    cpu_seconds: int = 3600
    processes: int = 512


_checked: dict[str, str | None] = {}


def unavailable_reason() -> str | None:
    """None when bubblewrap can sandbox a process here, else a one-line reason."""
    if "reason" in _checked:
        return _checked["reason"]
    reason = None
    if not sys.platform.startswith("linux"):
        reason = (f"the sandbox needs Linux (this is {sys.platform}); grade in a Linux virtual "
                  "machine, or with --no-sandbox")
    elif shutil.which("bwrap") is None:
        reason = f"bubblewrap (bwrap) is not installed: {INSTALL_HINT}"
    else:
        try:
            probe = subprocess.run(["bwrap", "--ro-bind", "/", "/", "--unshare-all",
                                    "--die-with-parent", "true"], capture_output=True,
                                   text=True, timeout=30)
            if probe.returncode != 0:
                last = (probe.stderr.strip().splitlines() or ["no message"])[-1]
                reason = (f"bubblewrap cannot create a sandbox here ({last}); enable user "
                          "namespaces, or grade with --no-sandbox")
        except (OSError, subprocess.TimeoutExpired) as exc:
            reason = f"bubblewrap does not run ({exc}); grade with --no-sandbox"
    _checked["reason"] = reason
    return reason


def _system_binds() -> list[str]:
    args = []
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    return args


def _python_binds() -> list[str]:
    """The interpreter, its standard library and every folder on ``sys.path`` (read-only)."""
    wanted = {Path(sys.base_prefix), Path(sys.prefix), Path(sys.executable).resolve().parent}
    for entry in sys.path:
        if entry and os.path.isdir(entry):
            wanted.add(Path(entry).resolve())
    root = ROOT.resolve()
    # a virtual environment inside the course folder (.venv) is bound on its own; the course
    # folder itself never is (only utils/ and data/, see _course_binds)
    course = [root / n for n in ("utils", "data", "solutions", "lessons", "tests", ".git")]
    folders = sorted(p for p in wanted if not str(p).startswith(("/usr/", "/etc/"))
                     and not root.is_relative_to(p) and not any(
                         p == c or c in p.parents for c in course))
    kept: list[Path] = []
    for p in folders:  # parents first; a folder inside a kept one needs no bind of its own
        if not any(k in p.parents for k in kept):
            kept.append(p)
    args = []
    for p in kept:
        args += ["--ro-bind", str(p), str(p)]
    return args


def _course_binds(hidden) -> list[str]:
    """The course library and data, read-only, without the solution store."""
    args = []
    for name in ("utils", "data"):
        if (ROOT / name).is_dir():
            args += ["--ro-bind", str(ROOT / name), str(ROOT / name)]
    store = ROOT / "utils" / "checks" / "solutions"
    if store.is_dir():
        args += ["--tmpfs", str(store)]
    for path in hidden:  # e.g. a submission or the private tests kept under utils/ or data/
        path = Path(path).resolve()
        if any(path.is_relative_to(ROOT / n) for n in ("utils", "data")) and path.exists():
            args += (["--tmpfs", str(path)] if path.is_dir() else ["--ro-bind", "/dev/null",
                                                                   str(path)])
    return args


def environment(base: dict) -> list[str]:
    """``--setenv`` pairs: only what the kernel needs, nothing of the instructor's."""
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
           "HOME": f"{INSIDE_TMP}/home", "LANG": "C.UTF-8", "PYTHONPATH": str(ROOT),
           "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "IPYTHONDIR": f"{INSIDE_TMP}/ipython", "MPLCONFIGDIR": f"{INSIDE_TMP}/matplotlib",
           "KERAS_HOME": f"{INSIDE_TMP}/keras", "JUPYTER_RUNTIME_DIR": f"{INSIDE_TMP}/jupyter"}
    env.update(base)
    args = ["--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return args


def command(argv: list[str], work: Path, link: Path, tmp: Path, env: dict,
            hidden=()) -> list[str]:
    """The bubblewrap command line that runs ``argv`` in the sandbox."""
    # /tmp first: Python or the course may live under /tmp (a CI checkout, a fresh venv), and
    # a later bind shows inside the private /tmp, an earlier one would be hidden by it
    return (["bwrap", "--unshare-all", "--die-with-parent", "--new-session",
             "--hostname", "sandbox", "--uid", "65534", "--gid", "65534"]
            + _system_binds() + ["--dev", "/dev", "--proc", "/proc",
                                 "--bind", str(tmp), INSIDE_TMP]
            + _python_binds() + _course_binds(hidden) + _dataset_binds()
            + ["--bind", str(work), INSIDE_WORK, "--bind", str(link), INSIDE_LINK,
               "--chdir", INSIDE_WORK]
            + environment(env) + ["--"] + argv)


def _dataset_binds() -> list[str]:
    """Datasets Keras downloaded for the instructor (read-only), so that the kernel and the
    judge find the same data."""
    datasets = Path.home() / ".keras" / "datasets"
    return (["--ro-bind", str(datasets), f"{INSIDE_TMP}/home/.keras/datasets"]
            if datasets.is_dir() else [])


class ProcessGroup:
    """A cgroup (v1 pids and memory controllers) holding one sandbox, where root may make one."""

    def __init__(self, limits: Limits):
        self.paths: list[Path] = []
        name = f"course-grade-{uuid.uuid4().hex[:12]}"
        for controller, setting, value in (("pids", "pids.max", limits.processes),
                                           ("memory", "memory.limit_in_bytes",
                                            limits.memory_bytes)):
            base = _CGROUP_ROOTS[controller]
            try:
                path = base / name
                path.mkdir()
                (path / setting).write_text(str(value))
                self.paths.append(path)
            except OSError:
                continue

    @property
    def limits_processes(self) -> bool:
        return any(p.parent.name == "pids" for p in self.paths)

    def enter(self) -> None:
        """In the child before exec: join the cgroups."""
        for path in self.paths:
            try:
                (path / "cgroup.procs").write_text(str(os.getpid()))
            except OSError:
                pass

    def remove(self) -> None:
        for path in self.paths:
            try:
                path.rmdir()
            except OSError:
                pass


def preexec(limits: Limits, group: ProcessGroup | None):
    """The function Popen runs in the child: resource limits, then the cgroups."""
    def apply() -> None:
        for which, value in ((resource.RLIMIT_AS, limits.memory_bytes),
                             (resource.RLIMIT_FSIZE, limits.file_bytes),
                             (resource.RLIMIT_CPU, limits.cpu_seconds),
                             (resource.RLIMIT_CORE, 0)):
            try:
                resource.setrlimit(which, (value, value))
            except (ValueError, OSError):
                pass
        if group is not None:
            group.enter()
    return apply
