"""The worker pool: long-lived judge processes, one submission at a time each.

A worker imports TensorFlow and the lesson's checks once and keeps them: it never runs student
code, so it stays clean. Jobs and results cross the pipe as JSON text. A worker that overruns
the hard limit is killed (its sandbox dies with it) and replaced; the batch goes on.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict

from .records import ERROR, TIMEOUT, Job, SubmissionResult


def _quiet(log: str | None) -> None:
    """Send this process's (and its kernels') stdout/stderr to ``log``."""
    if not log:
        return
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    except OSError:
        pass


def worker_loop(conn, log: str | None = None) -> None:
    """Process target: grade the jobs received through ``conn``; stop on ``None``."""
    _quiet(log)
    from .worker import grade_submission

    while True:
        try:
            text = conn.recv()
        except (EOFError, OSError):
            return
        if text is None:
            return
        try:
            result = grade_submission(Job(**json.loads(text)))
        except BaseException as exc:  # a bug in the grader must not lose the row
            result = SubmissionResult(flags=[ERROR], notes=[
                f"grader error: {type(exc).__name__}: {str(exc)[:200]}"])
        try:
            conn.send(json.dumps(result.to_dict()))
        except (OSError, ValueError):
            return


class _Worker:
    def __init__(self, context, log):
        from .pool import worker_loop as entry  # by module name, even under ``-m``

        self.conn, child = context.Pipe(duplex=True)
        self.process = context.Process(target=entry, args=(child, log), daemon=True)
        self.process.start()
        child.close()
        self.job: Job | None = None
        self.started = 0.0

    def give(self, job: Job) -> None:
        self.job, self.started = job, time.monotonic()
        self.conn.send(json.dumps(asdict(job)))

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


def run_jobs(jobs: list[Job], workers: int, hard_limit: float, on_done, log=None) -> None:
    """Grade every job in ``workers`` processes; ``on_done(job, result)`` as each finishes."""
    import multiprocessing as mp
    from multiprocessing.connection import wait

    context = mp.get_context("spawn")
    pending = list(jobs)
    pool: list[_Worker] = []
    try:
        while pending or any(w.job is not None for w in pool):
            for worker in pool:
                if worker.job is None and pending:
                    worker.give(pending.pop(0))
            while pending and len(pool) < max(1, workers):
                worker = _Worker(context, log)
                worker.give(pending.pop(0))
                pool.append(worker)
            busy = [w for w in pool if w.job is not None]
            ready = wait([w.conn for w in busy], timeout=1.0)
            for worker in busy:
                result, replace = None, False
                if worker.conn in ready:
                    try:
                        result = SubmissionResult.from_dict(json.loads(worker.conn.recv()))
                    except (EOFError, OSError, ValueError, TypeError):
                        worker.process.join(5)
                        result = SubmissionResult(flags=[ERROR], notes=[
                            f"the grading worker crashed (exit code {worker.process.exitcode})"])
                        replace = True
                elif time.monotonic() - worker.started > hard_limit:
                    result = SubmissionResult(flags=[TIMEOUT], notes=[
                        f"stopped by the grader's hard limit ({hard_limit:g} s)"])
                    replace = True
                if result is None:
                    continue
                if result.duration_s is None:
                    result.duration_s = round(time.monotonic() - worker.started, 1)
                job, worker.job = worker.job, None
                if replace:
                    worker.kill()
                    pool.remove(worker)
                on_done(job, result)
    finally:  # normal end, Ctrl-C or a bug: leave no worker (and so no sandbox) behind
        for worker in pool:
            if worker.job is None:
                try:
                    worker.conn.send(None)
                except (OSError, ValueError):
                    pass
        for worker in pool:
            if worker.job is not None:
                worker.kill()
            else:
                worker.process.join(10)
                if worker.process.is_alive():
                    worker.kill()
