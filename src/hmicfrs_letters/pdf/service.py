"""The one path to a verified PDF, for the build, `check`, `approve`, the overview and the preview alike.

A document's PDF comes from the content-addressed cache when this very HTML was rendered before;
otherwise a worker process renders it under the time limit and checks its own text against the
HTML, and only then is it kept in the cache. Whoever asks, the same check and the same time limit
apply, and a PDF that failed the check is never cached. This process never imports WeasyPrint.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hmicfrs_letters.core.errors import Problem
from hmicfrs_letters.core.files import writing
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.pdf import HTML_DOCUMENTS_PER_WORKER, LETTER_TIME_LIMIT, TASKS_PER_WORKER, WARM_UP, WORKER_MODULES, worker
from hmicfrs_letters.pdf.cache import PdfCache, environment_digest
from hmicfrs_letters.pdf.worker import Job, Made
from hmicfrs_letters.pool import TaskFailed, WorkerPool, default_jobs, start_fork_server

__all__ = ["LETTER_TIME_LIMIT", "Job", "Made", "PdfService", "start_worker_server"]


def start_worker_server(templates_dir: Path) -> None:
    """Start the fork server now, for a process that will fork many workers (the preview, a test run):
    it lays out a page with these templates' stylesheet and fonts before it forks any (pdf.preload), so
    that each worker's first letter is as quick as its others. Where the fork server runs already, it is
    left as it is."""
    os.environ[WARM_UP] = str(templates_dir)
    try:
        start_fork_server(WORKER_MODULES)
    finally:
        os.environ.pop(WARM_UP, None)


class PdfService:
    """Makes documents' HTML and PDFs in worker processes, with one cache, for one project.

    `make` may be called many times, from several threads at once (the preview): each call runs
    in a pool of its own, taken from those left idle by earlier calls or started anew, so a slow
    document holds up only the call that asked for it; at most as many calls at once as there are
    cores, and one call at a time makes a given document (the others then find it in the cache).
    `close` ends every worker.
    """

    def __init__(
        self,
        project: Project,
        cache_dir: Path,
        *,
        jobs: int | None = None,
        timeout: float = LETTER_TIME_LIMIT,
        letter_template: str | None = None,
        pdf: bool = True,
        rebuild: bool = False,
        tasks_per_worker: int = TASKS_PER_WORKER,
    ) -> None:
        self.project = project
        self.cache = PdfCache(cache_dir, environment_digest(project.templates_dir / "assets"))
        self.jobs = jobs or default_jobs()
        self.timeout = timeout
        self.pdf, self.rebuild = pdf, rebuild
        self.tasks_per_worker = tasks_per_worker
        self._start_args = (project.templates_dir, letter_template, self.cache.folder, self.cache.environment, pdf, rebuild)
        self._idle: list[WorkerPool] = []
        self._lock = threading.Lock()
        self._closed = False
        self._calls = threading.BoundedSemaphore(default_jobs())
        self._making: dict[str, threading.Lock] = {}  # a lock for each document being made, by its HTML's key

    def __enter__(self) -> PdfService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the idle workers now, and those still at work when their call ends."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for pool in idle:
            pool.close()

    def make(self, jobs: Iterable[tuple[Any, Job]], keep: bool = True) -> Iterator[tuple[Any, Made]]:
        """Yield (key, Made) for each (key, Job), in the order they finish; a failure is a Made with its problem.

        `keep=False` for a passing look (a letter as someone types it): new PDFs are not kept in the cache.
        """
        todo: dict[Any, Job] = {}
        for key, job in jobs:
            cached = self._cached(job)
            if cached is not None:
                yield key, cached
            else:
                todo[key] = job
        if not todo:
            return
        if keep and len(todo) == 1 and (job := next(iter(todo.values()))).html is not None:
            with self._making_one(self.cache.key(job.html, job.standard)):
                ((key, job),) = todo.items()
                cached = self._cached(job)  # made by another call while this one waited
                yield from [(key, cached)] if cached is not None else self._run(todo, keep)
            return
        yield from self._run(todo, keep)

    @contextmanager
    def _making_one(self, key: str) -> Iterator[None]:
        with self._lock:
            gate = self._making.setdefault(key, threading.Lock())
        with gate:
            yield
        with self._lock:
            self._making.pop(key, None)

    def _run(self, todo: dict[Any, Job], keep: bool) -> Iterator[tuple[Any, Made]]:
        self._calls.acquire()
        try:
            pool = self._take(len(todo))
        except BaseException:
            self._calls.release()
            raise
        finished = False
        try:
            for key, output in pool.run(todo.items()):
                if isinstance(output, TaskFailed):
                    output = Made(problem=Problem(todo[key].source, output.message))
                yield key, output
                if output.rendered and keep:  # kept once whoever asked has it (and written it out, in a build)
                    with writing(self.project.shown(self.cache.path(output.key))):
                        self.cache.put(output.key, output.pdf, output.pages)
            finished = True
        finally:
            with self._lock:
                # A pool left part way may have workers holding documents nobody will collect.
                reuse = finished and not self._closed and len(self._idle) < default_jobs()
                if reuse:
                    self._idle.append(pool)
            if not reuse:
                pool.close()
            self._calls.release()

    def _cached(self, job: Job) -> Made | None:
        """The document made from the cache alone, when its HTML is known and its PDF is there."""
        if job.html is None or self.rebuild or not self.pdf:
            return None
        key = self.cache.key(job.html, job.standard)
        cached = self.cache.get(key)
        return None if cached is None else Made(job.html, *cached, key=key)

    def _take(self, documents: int) -> WorkerPool:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        workers = documents if self.pdf else -(-documents // HTML_DOCUMENTS_PER_WORKER)
        return WorkerPool(
            worker.make,
            jobs=min(self.jobs, workers),
            initializer=worker.start,
            initargs=self._start_args,
            timeout=self.timeout,
            tasks_per_worker=self.tasks_per_worker,
            preload=WORKER_MODULES,
        )
