"""A small pool of worker processes that survives its workers: time limits, deaths, recycling.

concurrent.futures' ProcessPoolExecutor marks the whole pool broken when one worker dies, and
cannot stop a task that runs too long. Letters need both: a template that loops forever or a
stylesheet that makes WeasyPrint spin must fail that one letter, and a worker that crashes must
cost at most its current letter. So each worker here has its own pipe; the parent hands it one
task at a time, knows which task it holds and since when, and replaces it when it dies, runs
over the time limit, or has done its share of tasks (so memory it keeps is given back).

Workers are forked, ready and warm, from a template process (see Template) when the platform
allows it: the slow start (imports, the initializer) is then made once, not once per worker.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import importlib
import multiprocessing
import os
import pickle
import shutil
import signal
import socket
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

# A worker that cannot even start this many times in a row means every worker will fail.
MAX_START_FAILURES = 3


@dataclass(frozen=True)
class TaskFailed:
    """What a task became when it raised, timed out, or its worker died (twice)."""

    message: str


class WorkerPool:
    """Runs `func(payload)` for many tasks in `jobs` worker processes.

    Each worker calls `initializer(*initargs)` once. A task that raises becomes a TaskFailed
    with the exception's text; one that runs over `timeout` seconds is stopped (its worker is
    killed and replaced) and fails; one whose worker dies is tried `retries` more times, then
    fails. A worker is replaced after `tasks_per_worker` tasks. Whatever a worker leaves in its
    temporary folder is removed when the pool closes, even if the worker was killed.

    With a `template`, the initializer runs once, in the template, and each worker is a fork of
    it; the pool owns the template and closes it. Should the template fail, workers are started
    as without one.
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
        retries: int = 1,
        start_method: str | None = None,
        preload: Sequence[str] = (),
        template: Template | None = None,
    ) -> None:
        self.func = func
        self.jobs = max(1, jobs)
        self.initializer = initializer
        self.initargs = tuple(initargs)
        self.timeout = timeout
        self.tasks_per_worker = max(1, tasks_per_worker)
        self.retries = retries
        self.template = template
        self._init_error: str | None = None  # what the initializer raised in the template
        self.context = multiprocessing.get_context(start_method or default_start_method())
        if self.context.get_start_method() == "forkserver" and preload:
            self.context.set_forkserver_preload(list(preload))
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
        if self.template is not None:
            self.template.close()
            self.template = None
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
            while len(self.workers) < wanted and self._start():
                pass
            if self._init_error is not None:  # every worker would start as the template did: every task fails
                while pending:
                    yield pending.popleft().key, TaskFailed(f"a worker process could not start: {self._init_error}")
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
        """Start one more worker; False when none can start (the initializer failed in the template)."""
        if self.template is not None:
            try:
                if not self.template.initialised:
                    self._init_error = self.template.initialise(self.initializer, self.initargs)
                if self._init_error is not None:
                    return False
                conn, process = self.template.fork(self.func, self.scratch)
            except OSError:  # the template has died or stopped answering: start workers as without one
                self.template.close()
                self.template = None
            else:
                self.started += 1
                self.workers.append(_Worker(process, conn, started=time.monotonic()))
                return True
        parent, child = self.context.Pipe()
        ours = None if self.context.get_start_method() == "forkserver" else os.getpid()  # a fork server's workers are its children
        process = self.context.Process(
            target=_worker_main,
            args=(child, self.func, self.initializer, self.initargs, self.scratch, ours),
            name=f"letters-worker-{self.started}",
            daemon=True,
        )
        process.start()
        child.close()  # the worker holds the only other end: its death reads as end-of-file here
        _parent_ends.add(parent)
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
        if task.attempts <= self.retries:
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
# Parent ends of every live worker's pipe; a forked worker closes the copies it inherits, so that
# each pipe's reader sees end-of-file as soon as its own process (and no other) is gone.
_parent_ends: set[Connection] = set()


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
        _parent_ends.discard(self.conn)
        self.conn.close()
        self.process.close()


_SCRATCH_PREFIX = "letters-workers-"


def _remove_orphaned_scratch() -> None:
    """Scratch folders of pools whose process was killed before it could remove them."""
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


def default_jobs() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_start_method() -> str:
    """fork when it is safe (no other threads): quickest, and workers inherit what is imported.

    With other threads running (a preview server, say), a forked child could inherit a lock held
    by one of them; then a fork server starts the workers instead.
    """
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


# --- the template: workers forked warm ------------------------------------------------------


class Template:
    """A process that makes the workers' slow start once, then forks each worker, warm, from itself.

    A worker that renders PDFs spends a third of a second starting: importing WeasyPrint and
    laying out its first page. Each worker paid it, and each replacement again. The template
    imports `preload` from the moment it is created (while whoever created it carries on), runs
    the pool's initializer once, and forks every worker ready to work, in milliseconds.

    Workers are the template's children, not ours. For each, it sends our end of the worker's
    socket and a pidfd: something to wait on for its death, and to signal without any risk of
    reaching another process with a reused pid. It reaps a worker only when we ask, once the
    worker has ended, and takes its workers with it when it ends (so does it when we do).
    Needs fork and pidfds (Linux); `Template.supported()` says whether this system has them.
    """

    def __init__(self, preload: Sequence[str] = ()) -> None:
        self.preload = tuple(preload)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = multiprocessing.get_context("fork").Process(
            target=_template_main, args=(theirs, ours, self.preload, os.getpid()), name="letters-template", daemon=True
        )
        self.process.start()
        theirs.close()
        ours.settimeout(_startup_limit(0))  # a template that never answers is given up, not waited on for ever
        self.sock = ours
        self.initialised = False

    @staticmethod
    def supported() -> bool:
        """Fork is safe here (no other threads), and this system has pidfds."""
        return default_start_method() == "fork" and hasattr(os, "pidfd_open") and hasattr(socket, "send_fds")

    def initialise(self, initializer: Callable[..., None] | None, initargs: Sequence[Any]) -> str | None:
        """Run the pool's initializer in the template: None, or what it raised."""
        error, _ = self._ask("init", initializer, tuple(initargs))
        self.initialised = True
        return error

    def fork(self, func: Callable[[Any], Any], scratch: str) -> tuple[Connection, _Forked]:
        """A new worker running `func`: our end of its connection, and a handle on its process."""
        pid, fds = self._ask("fork", func, scratch)
        return Connection(fds[0]), _Forked(pid, fds[1], self)

    def reap(self, pid: int) -> int | None:
        """The exit code of a worker that has ended, once it is collected; None if it cannot be."""
        try:
            return self._ask("reap", pid)[0]
        except OSError:
            return None

    def close(self) -> None:
        """End the template, and with it any worker still running. It holds nothing to save: it is killed."""
        with contextlib.suppress(OSError):
            self.sock.close()
        self.process.kill()
        self.process.join()

    def _ask(self, *request: Any) -> tuple[Any, list[int]]:
        """Its answer to one request, with the fds that came with it; OSError if it cannot answer."""
        try:
            message = pickle.dumps(request)
        except Exception as exc:  # a function defined in a function, say: only a fork could take it
            raise OSError(f"cannot be sent to the template: {exc}") from exc
        self.sock.sendall(message)
        data, fds, _flags, _address = socket.recv_fds(self.sock, 1 << 16, 2)
        if not data:
            raise OSError("the template process has ended")
        status, value = pickle.loads(data)
        if status != "ok":
            raise OSError(f"the template could not do it: {value}")
        return value, fds


class _Forked:
    """A worker forked by the template: what the pool uses of a multiprocessing.Process."""

    def __init__(self, pid: int, pidfd: int, template: Template) -> None:
        self.pid, self.sentinel, self.template = pid, pidfd, template
        self.exitcode: int | None = None
        self._reaped = False

    def is_alive(self) -> bool:
        return not self._reaped and not wait([self.sentinel], 0)

    def kill(self) -> None:
        if not self._reaped:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self.sentinel, signal.SIGKILL)

    def join(self, timeout: float | None = None) -> None:
        if not self._reaped and wait([self.sentinel], timeout):
            self.exitcode, self._reaped = self.template.reap(self.pid), True

    def close(self) -> None:
        os.close(self.sentinel)


_early: Template | None = None


def start_early_template(preload: Sequence[str]) -> None:
    """Start a template now, before this process imports what its own work needs, for the
    first pool that wants one (see take_early_template): the two starts then overlap."""
    global _early
    if _early is None and Template.supported():
        _early = Template(preload)


def take_early_template(preload: Sequence[str]) -> Template | None:
    """The template started early with these modules, if it still runs; the caller owns it."""
    global _early
    template, _early = _early, None
    if template is not None and (template.preload != tuple(preload) or not template.process.is_alive()):
        template.close()
        return None
    return template


def template_for(preload: Sequence[str]) -> Template | None:
    """The template started early with these modules, or else a new one where this system allows
    (see Template.supported); None where it does not. The caller owns it."""
    return take_early_template(preload) or (Template(preload) if Template.supported() else None)


def _template_main(sock: socket.socket, ours: socket.socket, preload: tuple[str, ...], parent: int) -> None:
    ours.close()  # the pool's end: the pool closing it must read here as end-of-file
    for other in _parent_ends:
        other.close()
    _parent_ends.clear()
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for module in preload:
        with contextlib.suppress(Exception):  # whoever needs what failed to import meets the error, with its reason
            importlib.import_module(module)
    while True:
        try:
            data = sock.recv(1 << 16)
        except OSError:
            return
        if not data:  # the pool has closed
            return
        reply, fds = _answer(sock, data)
        try:
            if fds:
                socket.send_fds(sock, [pickle.dumps(reply)], fds)
            else:
                sock.sendall(pickle.dumps(reply))
        except OSError:
            return
        finally:
            for fd in fds:
                os.close(fd)


def _answer(sock: socket.socket, data: bytes) -> tuple[tuple[str, Any], list[int]]:
    """In the template: ("ok", result) and the fds that go with it, or ("broken", why) when it cannot."""
    try:
        kind, *args = pickle.loads(data)
    except Exception as exc:  # a function this process cannot find (defined after it was forked)
        return ("broken", _describe(exc)), []
    if kind == "init":
        initializer, initargs = args
        try:
            if initializer is not None:
                initializer(*initargs)
        except BaseException as exc:
            return ("ok", _describe(exc)), []
        return ("ok", None), []
    if kind == "fork":
        return _fork_worker(sock, *args)
    return ("ok", _reap(*args)), []


def _reap(pid: int) -> int | None:
    try:
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    except ChildProcessError:  # not ours, or collected already
        return None


def _fork_worker(sock: socket.socket, func: Callable[[Any], Any], scratch: str) -> tuple[tuple[str, Any], list[int]]:
    """In the template: fork one worker; ("ok", its pid) and [our end of its connection, its pidfd]."""
    ours, theirs = socket.socketpair()
    template = os.getpid()
    gc.freeze()  # what the template holds is never collected: a worker's collector need not touch (and so copy) it
    try:
        pid = os.fork()
    except OSError as exc:
        ours.close()
        theirs.close()
        return ("broken", _describe(exc)), []
    if pid == 0:
        code = 1
        try:
            sock.close()
            ours.close()
            _worker_main(Connection(theirs.detach()), func, None, (), scratch, template)
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    theirs.close()
    return ("ok", pid), [ours.detach(), os.pidfd_open(pid)]


# --- inside a worker process --------------------------------------------------------------


def _worker_main(conn: Connection, func: Callable, initializer: Callable | None, initargs: tuple, scratch: str, parent: int | None) -> None:
    for other in _parent_ends:
        other.close()
    _parent_ends.clear()
    _die_with_parent(parent)
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
            return
        except Exception as exc:  # the result could not be pickled
            conn.send(("error", _describe(exc)))


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _die_with_parent(parent: int | None) -> None:
    """Ask Linux to kill this process when its parent dies (SIGKILL included); exit now if `parent` has."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the worker stops at its next read instead
        return
    if parent is not None and os.getppid() != parent:  # it died before we asked: nobody would kill us
        os._exit(1)
