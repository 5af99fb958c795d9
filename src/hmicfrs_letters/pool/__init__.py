"""A small pool of worker processes that survives its workers: time limits, deaths, recycling.

concurrent.futures' ProcessPoolExecutor marks the whole pool broken when one worker dies, and
cannot stop a task that runs too long. Letters need both: a template that loops forever or a
stylesheet that makes WeasyPrint spin must fail that one letter, and a worker that crashes must
cost at most its current letter. So each worker here has its own pipe; the parent hands it one
task at a time, knows which task it holds and since when, and replaces it when it dies, runs
over the time limit, or has done its share of tasks (so memory it keeps is given back).

Workers start from the standard library's fork server where the system has one: a process that
imports what workers need once (`preload`), then forks each worker from itself. Started early
(`start_fork_server`), its imports overlap the work of whoever started it. This package knows
nothing of letters: it runs functions.
"""

from __future__ import annotations

import collections
import contextlib
import multiprocessing
import multiprocessing.forkserver
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

# Imported first by the fork server: it removes the folder of the server's socket when it ends.
_FORK_SERVER_EXIT = "hmicfrs_letters.pool.forkserver_exit"
# A worker that cannot even start this many times in a row means every worker will fail.
MAX_START_FAILURES = 3
# A task whose worker dies is tried once more (the death may be the machine's, not the task's).
RETRIES = 1


@dataclass(frozen=True)
class TaskFailed:
    """What a task became when it raised, timed out, or its worker died (twice)."""

    message: str


def start_method() -> str:
    """The fork server where the system has one (Linux, macOS); else spawn. Never a bare fork:
    the preview runs threads, and a process forked while another thread holds a lock can hang."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def start_fork_server(preload: Sequence[str]) -> None:
    """Start the fork server now, importing `preload`, so that it is ready when the first pool
    wants workers; the caller carries on meanwhile. Nothing to do where there is no fork server."""
    if start_method() == "forkserver":
        multiprocessing.set_forkserver_preload([_FORK_SERVER_EXIT, *preload])
        multiprocessing.forkserver.ensure_running()


def default_jobs() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class WorkerPool:
    """Runs `func(payload)` for many tasks in `jobs` worker processes.

    Each worker calls `initializer(*initargs)` once. A task that raises becomes a TaskFailed
    with the exception's text; one that runs over `timeout` seconds is stopped (its worker is
    killed and replaced) and fails; one whose worker dies is tried once more, then fails. A
    worker is replaced after `tasks_per_worker` tasks. Workers stay up between calls of `run`
    until the pool is closed. Whatever a worker leaves in its temporary folder is removed when
    the pool closes, even if the worker was killed; if the pool's own process is killed, by its
    workers as they notice and leave.
    """

    def __init__(
        self,
        func: Callable[[Any], Any],
        *,
        jobs: int,
        initializer: Callable[..., None] | None = None,
        initargs: Sequence[Any] = (),
        timeout: float = 60.0,
        tasks_per_worker: int = 500,
        preload: Sequence[str] = (),
    ) -> None:
        self.func = func
        self.jobs = max(1, jobs)
        self.initializer = initializer
        self.initargs = tuple(initargs)
        self.timeout = timeout
        self.tasks_per_worker = max(1, tasks_per_worker)
        self.context = multiprocessing.get_context(start_method())
        if preload:
            start_fork_server(preload)  # where it already runs, it keeps what it has imported
        _remove_orphaned_scratch()
        self.scratch = tempfile.mkdtemp(prefix=f"{_SCRATCH_PREFIX}{os.getpid()}-")
        self.workers: list[_Worker] = []
        self.started = 0  # workers started so far, replacements included
        self._start_failures = 0  # workers in a row that died or hung before they were ready
        self._start_error = ""

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker (politely if idle, at once if busy) and remove their scratch files."""
        for worker in self.workers:
            if worker.task is None and worker.ready:
                with contextlib.suppress(OSError):
                    worker.conn.send(None)
            elif worker.process.is_alive():
                worker.process.kill()
        deadline = time.monotonic() + 2
        for worker in self.workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            worker.stop()
        self.workers.clear()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def run(self, tasks: Iterable[tuple[Any, Any]]) -> Iterator[tuple[Any, Any]]:
        """Yield (key, result or TaskFailed) for each (key, payload), in the order they finish."""
        pending: collections.deque[_Task] = collections.deque(_Task(key, payload) for key, payload in tasks)
        while pending or any(w.task is not None for w in self.workers):
            if self._start_failures >= MAX_START_FAILURES:
                message = f"worker processes keep failing to start: {self._start_error}"
                while pending:  # what is already in a worker's hands still finishes
                    yield pending.popleft().key, TaskFailed(message)
            wanted = min(self.jobs, len(pending) + sum(w.task is not None for w in self.workers))
            while len(self.workers) < wanted:
                if not self._start():
                    break
            if not self.workers:  # none could be started: counted as failures to start, until the tasks fail
                continue
            for worker in self.workers:
                if worker.ready and worker.task is None and pending:
                    self._give(worker, pending.popleft(), pending)
            for worker in self._wait():
                outcome = worker.receive()
                if outcome is _DIED:
                    yield from self._died(worker, pending)
                elif outcome is _READY:
                    self._start_failures = 0
                elif outcome is not None:
                    task, result = outcome
                    if worker.done >= self.tasks_per_worker:
                        self._retire(worker)
                    elif pending:  # hand over the next task before dealing with this result
                        self._give(worker, pending.popleft(), pending)
                    yield task.key, result
            yield from self._expire()

    def _start(self) -> bool:
        """Start one worker; False (a failure to start) when the fork server cannot fork it: killed,
        say, in which case the next start starts a new fork server."""
        parent, child = self.context.Pipe()
        process = self.context.Process(
            target=_worker_main,
            args=(child, self.func, self.initializer, self.initargs, self.scratch),
            name=f"letters-worker-{self.started}",
            daemon=True,
        )
        try:
            process.start()
        except (OSError, EOFError) as exc:
            child.close()
            parent.close()
            self._start_failed(f"the fork server could not start one ({_describe(exc)})")
            return False
        child.close()  # the worker holds the only other end: its death reads as end-of-file here
        self.started += 1
        self.workers.append(_Worker(process, parent, started=time.monotonic()))
        return True

    def _give(self, worker: _Worker, task: _Task, pending: collections.deque[_Task]) -> None:
        worker.task, worker.since = task, time.monotonic()
        try:
            worker.conn.send((task.payload,))
        except OSError:  # died since its last message: the task goes back, the death is seen next
            worker.task = None
            pending.appendleft(task)

    def _wait(self) -> list[_Worker]:
        """Workers with something to say (or dead), waiting at most until the next time limit."""
        deadlines = [w.deadline(self.timeout) for w in self.workers if w.task is not None or not w.ready]
        timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
        handles: dict[Any, _Worker] = {}
        for worker in self.workers:
            handles[worker.conn] = worker
            handles[worker.process.sentinel] = worker
        ready = wait(list(handles), timeout)
        return list(dict.fromkeys(handles[h] for h in ready))

    def _died(self, worker: _Worker, pending: collections.deque[_Task]) -> Iterator[tuple[Any, Any]]:
        self._remove(worker)
        code = worker.exitcode
        how = "exit status unknown" if code is None else f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
        if not worker.ready:
            if worker.error:  # the initializer raised: every worker would, so every task fails
                while pending:
                    yield pending.popleft().key, TaskFailed(f"a worker process could not start: {worker.error}")
            self._start_failed(worker.error or f"one ended while starting ({how})")
            return
        task = worker.task
        if task is None:
            return
        task.attempts += 1
        if task.attempts <= RETRIES:
            pending.appendleft(task)
        else:
            yield task.key, TaskFailed(f"the worker process died while rendering it ({how}), {task.attempts} times")

    def _expire(self) -> Iterator[tuple[Any, Any]]:
        now = time.monotonic()
        for worker in list(self.workers):
            if worker.deadline(self.timeout) > now:
                continue
            self._remove(worker)
            if worker.task is not None:
                yield worker.task.key, TaskFailed(f"stopped after the time limit of {self.timeout:g} s; the worker was replaced")
            elif not worker.ready:
                self._start_failed(f"one took over {_startup_limit(self.timeout):g} s to start")

    def _start_failed(self, reason: str) -> None:
        self._start_failures += 1
        self._start_error = reason

    def _retire(self, worker: _Worker) -> None:
        with contextlib.suppress(OSError):
            worker.conn.send(None)
        self.workers.remove(worker)
        worker.process.join(1)
        worker.stop()

    def _remove(self, worker: _Worker) -> None:
        self.workers.remove(worker)
        worker.stop()


@dataclass
class _Task:
    key: Any
    payload: Any
    attempts: int = 0


_READY = object()
_DIED = object()


def _startup_limit(timeout: float) -> float:
    return max(60.0, timeout)


@dataclass(eq=False)
class _Worker:
    process: Any
    conn: Connection
    started: float
    ready: bool = False
    task: _Task | None = None
    since: float = 0.0
    done: int = 0
    error: str | None = None
    exitcode: int | None = None

    def deadline(self, timeout: float) -> float:
        if not self.ready:
            return self.started + _startup_limit(timeout)
        return self.since + timeout if self.task is not None else float("inf")

    def receive(self) -> object:
        """_READY, _DIED, None (nothing to act on) or (task, result) for the task it held."""
        try:
            if not self.conn.poll():
                return None if self.process.is_alive() else _DIED
            kind, value = self.conn.recv()
        except (EOFError, OSError):
            return _DIED
        if kind == "ready":
            self.ready = True
            return _READY
        if kind == "init-error":
            self.error = value
            return None
        task, self.task = self.task, None
        self.done += 1
        return task, (value if kind == "ok" else TaskFailed(value))

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.exitcode = self.process.exitcode
        self.conn.close()
        self.process.close()


_SCRATCH_PREFIX = "letters-workers-"


def _remove_orphaned_scratch() -> None:
    """Scratch folders of pools whose process and workers were all killed before they could remove them."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_SCRATCH_PREFIX}*-*"):
        pid = folder.name.removeprefix(_SCRATCH_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process
        return True
    return True


# --- inside a worker process --------------------------------------------------------------


def _worker_main(conn: Connection, func: Callable, initializer: Callable | None, initargs: tuple, scratch: str) -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    tempfile.tempdir = scratch
    try:
        if initializer is not None:
            initializer(*initargs)
    except BaseException as exc:
        conn.send(("init-error", _describe(exc)))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            _parent_gone(scratch)
            return
        if message is None:
            return
        try:
            reply = ("ok", func(message[0]))
        except Exception as exc:
            reply = ("error", _describe(exc))
        try:
            conn.send(reply)
        except (EOFError, OSError):
            _parent_gone(scratch)
            return
        except Exception as exc:  # the result could not be pickled
            conn.send(("error", _describe(exc)))


def _parent_gone(scratch: str) -> None:
    """The pool's process died (killed by SIGKILL, say) and cannot remove the workers' scratch
    folder, with WeasyPrint's weasyprint-* font folders in it: each worker that notices does it."""
    shutil.rmtree(scratch, ignore_errors=True)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent (the fork server, which ends with its own
    parent) dies, SIGKILL included; elsewhere the worker stops at its next read instead."""
    parent = os.getppid()
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before we asked: nobody would kill us
        os._exit(1)
