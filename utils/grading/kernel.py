"""A submission's Jupyter kernel: started (in the sandbox, or not), fed cells, reached by the judge.

The kernel's sockets are Unix sockets (Jupyter's ``ipc`` transport) in a folder shared with the
sandbox, so the sandbox needs no network. Time limits are kept from outside: a cell or a check
that overruns is interrupted, and a kernel that ignores the interrupt is killed with everything
it started.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from queue import Empty

from . import sandbox
from .agent import PROMPT
from .remote import AgentLost, CheckTimedOut

STARTUP_TIMEOUT = 120.0
INTERRUPT_GRACE = 10.0   # seconds the code gets to stop after an interrupt before the kill
AGENT_CELL = "import utils.grading.agent as _course_agent\n_course_agent.serve(globals())"


def _die_with_parent() -> None:
    """Without the sandbox: the kernel gets SIGKILL when its worker dies (Linux only)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _seed_font_cache(folder: Path) -> None:
    """Copy matplotlib's font list into the kernel's fresh config folder: without it every
    sandboxed kernel spends seconds rebuilding it."""
    try:
        import matplotlib

        found = sorted(Path(matplotlib.get_cachedir()).glob("fontlist-*.json"))
        if found:
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(found[-1], folder / found[-1].name)
    except (ImportError, OSError):
        pass


class KernelDied(Exception):
    """The kernel could not be started."""


class Kernel:
    """One kernel for one submission; :meth:`kill` ends it and everything it started."""

    def __init__(self, folder: Path, env: dict, use_sandbox: bool, limits: sandbox.Limits,
                 hidden=()):
        self.folder, self.env, self.use_sandbox = folder, env, use_sandbox
        self.limits, self.hidden = limits, hidden
        self.work, self.link_dir, self.tmp = folder / "work", folder / "link", folder / "tmp"
        self.process: subprocess.Popen | None = None
        self.client = None
        self.group: sandbox.ProcessGroup | None = None
        self._agent_msg: str | None = None

    # ---------------------------------------------------------------- life cycle
    def start(self) -> None:
        from jupyter_client import BlockingKernelClient

        for d in (self.link_dir, self.tmp):
            d.mkdir(parents=True, exist_ok=True)
            os.chmod(d, 0o777)
        _seed_font_cache(self.tmp / "matplotlib")
        inside = sandbox.INSIDE_LINK if self.use_sandbox else str(self.link_dir)
        tag = secrets.token_hex(4)
        info = {"transport": "ipc", "ip": f"{inside}/k{tag}", "shell_port": 1, "iopub_port": 2,
                "stdin_port": 3, "control_port": 4, "hb_port": 5, "key": secrets.token_hex(16),
                "signature_scheme": "hmac-sha256", "kernel_name": "python3"}
        (self.link_dir / "kernel.json").write_text(json.dumps(info), encoding="utf-8")
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", f"{inside}/kernel.json"]
        log = open(self.folder / "kernel.log", "ab")
        if self.use_sandbox:
            self.group = sandbox.ProcessGroup(self.limits)
            cmd = sandbox.command(argv, self.work, self.link_dir, self.tmp, self.env, self.hidden)
            self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=log, start_new_session=True,
                                            preexec_fn=sandbox.preexec(self.limits, self.group))
        else:
            env = dict(os.environ, **self.env, IPYTHONDIR=str(self.tmp / "ipython"),
                       MPLCONFIGDIR=str(self.tmp / "matplotlib"))
            self.process = subprocess.Popen(argv, cwd=self.work, env=env, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=log, start_new_session=True,
                                            preexec_fn=_die_with_parent)
        log.close()
        client = BlockingKernelClient()
        client.load_connection_info(dict(info, ip=str(self.link_dir / f"k{tag}")))
        client.start_channels()
        self.client = client
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise KernelDied(self.exit_reason())
            try:
                client.wait_for_ready(timeout=2)
                return
            except RuntimeError:
                continue
        raise KernelDied(f"the kernel did not start within {STARTUP_TIMEOUT:g} s")

    def kill(self) -> None:
        if self.client is not None:
            try:
                self.client.stop_channels()
            except Exception:
                pass
            self.client = None
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except OSError:
                self.process.kill()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if self.group is not None:
            self.group.remove()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exit_reason(self) -> str:
        code = self.process.poll() if self.process is not None else None
        if code is None:
            return "the kernel stopped responding"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"the kernel was killed by {name}" + (" (out of memory?)" if name == "SIGKILL"
                                                          else "")
        return f"the kernel exited with code {code}"

    # ---------------------------------------------------------------- cells
    def _drain(self) -> None:
        for _ in range(10_000):
            try:
                self.client.get_iopub_msg(timeout=0)
            except Empty:
                return

    def _interrupt(self) -> None:
        try:
            msg = self.client.session.msg("interrupt_request", {})
            self.client.control_channel.send(msg)
        except Exception:
            pass

    def _reply(self, msg_id: str, seconds: float):
        deadline = time.monotonic() + seconds
        while True:
            self._drain()
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                msg = self.client.get_shell_msg(timeout=min(0.5, left))
            except Empty:
                if not self.alive():
                    return "dead"
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return msg

    def run(self, code: str, seconds: float) -> dict:
        """Execute one cell: ``{"outcome": "ok" | "error" | "timeout" | "stuck" | "dead"}``."""
        if not self.alive():
            return {"outcome": "dead", "reason": self.exit_reason()}
        msg_id = self.client.execute(code, store_history=True, allow_stdin=False,
                                     stop_on_error=False)
        reply = self._reply(msg_id, max(seconds, 0.1))
        if reply is None:
            self._interrupt()
            reply = self._reply(msg_id, INTERRUPT_GRACE)
            if reply is None:
                return {"outcome": "stuck"}
            if reply != "dead":
                return {"outcome": "timeout"}
        if reply == "dead":
            return {"outcome": "dead", "reason": self.exit_reason()}
        content = reply.get("content", {})
        if content.get("status") == "error":
            return {"outcome": "error", "ename": str(content.get("ename", ""))[:100],
                    "evalue": str(content.get("evalue", ""))[:300]}
        return {"outcome": "ok"}

    # ---------------------------------------------------------------- the judge's transport
    def start_agent(self, seconds: float) -> None:
        """Run the agent's cell; it then waits for the judge's requests on the stdin channel."""
        self._agent_msg = self.client.execute(AGENT_CELL, store_history=False, allow_stdin=True,
                                              stop_on_error=False)
        self._next(seconds, None)

    def _next(self, seconds: float, link) -> str:
        """The agent's next message (an ``input()`` prompt), within ``seconds``."""
        deadline = time.monotonic() + seconds
        interrupted_at = None
        while True:
            self._drain()
            now = time.monotonic()
            if interrupted_at is None and now >= deadline:
                self._interrupt()
                interrupted_at = now
            if interrupted_at is not None and now >= interrupted_at + INTERRUPT_GRACE:
                limit = link.limit if link is not None else seconds
                self.kill()
                raise CheckTimedOut(limit, killed=True)
            try:
                msg = self.client.get_stdin_msg(timeout=0.2)
            except Empty:
                if not self.alive():
                    raise AgentLost(self.exit_reason()) from None
                try:  # the agent's cell ended: it was stopped or broken by the student's code
                    shell = self.client.get_shell_msg(timeout=0)
                    if shell.get("parent_header", {}).get("msg_id") == self._agent_msg:
                        raise AgentLost("the grader's agent stopped in the kernel")
                except Empty:
                    pass
                continue
            prompt = msg.get("content", {}).get("prompt", "")
            if not isinstance(prompt, str) or not prompt.startswith(PROMPT):
                self.client.input("")   # the student's own input(): an empty answer
                continue
            if link is not None:
                link.spent += time.monotonic() - (deadline - seconds)
            if interrupted_at is not None:
                limit = link.limit if link is not None else seconds
                raise CheckTimedOut(limit, killed=False)
            return prompt[len(PROMPT):]

    def exchange(self, text: str, link) -> str:
        """Send the agent one message, return its reply (the Link's transport)."""
        if not self.alive():
            raise AgentLost(self.exit_reason())
        self.client.input(text)
        return self._next(max(link.limit - link.spent, 0.05), link)

    def stop_agent(self) -> None:
        try:
            self.client.input("bye")
        except Exception:
            pass
