"""The preview's web application: its routes over one Preview, and live reload.

Its own pages (pages/: templates, stylesheet, script) ship inside the package: a project holds
only its letters' data and templates. A file watcher reloads what changed and tells the open
pages through Server-Sent Events, naming the letters affected, so only those are rendered again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import webbrowser
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import watchfiles
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.models import PENDING, Category
from hmicfrs_letters.core.status import Status
from hmicfrs_letters.preview import editor, forms
from hmicfrs_letters.preview.responses import HEADERS, LETTER_CSP, SecurityHeaders, page, problems_page, view_of
from hmicfrs_letters.preview.state import SORTS, Change, Preview, select

RELOAD_JS = Path(__file__).parent / "pages" / "reload.js"
# Changes are grouped while files keep changing for STEP_MS (an editor's save is several
# events within a few milliseconds), and for at most DEBOUNCE_MS.
STEP_MS, DEBOUNCE_MS = 30, 250
# How often the watched folders are checked for having been removed or replaced.
RECHECK_MS = 500
KEEPALIVE_SECONDS = 15.0


class Broadcast:
    """Hands each change to every open page's event stream."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[str | None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[asyncio.Queue[str | None]]:
        self._loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    def publish(self, message: str | None) -> None:
        for queue in self._queues:
            queue.put_nowait(message)

    def close_soon(self) -> None:
        """End every stream (from any thread, or a signal handler): an open stream would hold up shutdown."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.publish, None)


async def watch(preview: Preview, broadcast: Broadcast, stop: asyncio.Event) -> None:
    """Reload on every change under data/ and templates/, and tell the pages, until `stop` is set.

    A watch follows the folder it was set on: data/ deleted and put back (a checkout, a restore)
    is another folder, which it would never see. So the folders' identities are checked every
    RECHECK_MS, and on each change; when one has gone or been replaced, everything is reloaded
    and the watch set again, once both folders are there.
    """
    project = preview.project
    roots = (project.data_dir, project.templates_dir)
    everything = (*roots, project.templates_dir / "assets")
    while not stop.is_set():
        watched = _identity(roots)
        if watched is None:  # a folder is missing (the pages say so): wait for it to come back
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RECHECK_MS / 1000)
            if _identity(roots) is not None:
                await _reload(preview, broadcast, everything)
            continue
        try:
            async for changes in watchfiles.awatch(
                *roots, step=STEP_MS, debounce=DEBOUNCE_MS, stop_event=stop, rust_timeout=RECHECK_MS, yield_on_timeout=True
            ):
                if changes:
                    await _reload(preview, broadcast, [Path(path) for _, path in changes])
                if _identity(roots) != watched:
                    await _reload(preview, broadcast, everything)
                    break
        except (OSError, RuntimeError):  # the watcher lost a folder as it was being set up: set it again, shortly
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RECHECK_MS / 1000)


def _identity(roots: Sequence[Path]) -> tuple[tuple[int, int], ...] | None:
    """Which folders these are (device and inode), or None when one is missing."""
    try:
        return tuple((info.st_dev, info.st_ino) for info in (root.stat() for root in roots))
    except OSError:
        return None


async def _reload(preview: Preview, broadcast: Broadcast, paths: Sequence[Path]) -> None:
    try:
        change = await run_in_threadpool(preview.reload, list(paths))
    except Exception:  # a bug met while reloading must not end live reload for every page: log it, go on
        logging.getLogger("uvicorn.error").exception("reloading after a change failed")
        return
    if change is not None:
        broadcast.publish(change.event())


def home(request: Request) -> Response:
    """Every assessment the preview shows; straight to its letters when there is only one."""
    preview = request.app.state.preview
    if preview.only is not None:
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/{preview.only.slug}/{query}", headers=HEADERS)
    return page(request, "home.html.j2", series=list(preview.series.values()))


def index(request: Request) -> Response:
    """One assessment's letters, filtered and sorted as the query asks."""
    preview = request.app.state.preview
    try:
        series = preview.get(request.path_params["assessment"])
    except LetterError as exc:
        return problems_page(request, exc.problems, 404)
    several = len(preview.series) > 1
    if series.batch is None:
        return page(
            request, "index.html.j2", 500, series=series, several=several, assessment=None, failure=series.failure, problems=series.failure
        )
    filters = {name: request.query_params.get(name, "")[:200] for name in ("q", "outcome", "status", "sort")}
    views = series.all_views()
    assessment = series.batch.assessment
    return page(
        request,
        "index.html.j2",
        series=series,
        several=several,
        assessment=assessment,
        words=series.batch.recipients,
        date=series.batch.date,
        failure=[],
        views=views,
        rows=select(views, **filters, assessment=assessment),
        general=series.general_problems(),
        outcomes=[*assessment.categories, Category(PENDING, "Pending")] if assessment.graded else [],
        statuses=[str(status) for status in Status],
        sorts=SORTS,
        filters=filters,
    )


def letter_html(request: Request) -> Response:
    """The letter itself, for the page's frame: no script, no form."""
    view = view_of(request, in_frame=True)
    if isinstance(view, Response):
        return view
    if view.html is None:
        return problems_page(request, view.errors, 422, in_frame=True)
    return HTMLResponse(view.html, headers={**HEADERS, "Content-Security-Policy": LETTER_CSP})


def letter_pdf(request: Request) -> Response:
    """The letter's PDF, made as a build makes it."""
    view = view_of(request)
    if isinstance(view, Response):
        return view
    if view.html is None or view.errors:
        return problems_page(request, view.errors, 422)
    try:
        pdf = request.app.state.preview.pdf(view)
    except LetterError as exc:  # as in `letters build`: this letter's failure, not the server's
        return problems_page(request, exc.problems, 500)
    filename = f"{view.assessment}-{view.slug}.pdf"
    return Response(pdf, media_type="application/pdf", headers={**HEADERS, "Content-Disposition": f'inline; filename="{filename}"'})


def script(request: Request) -> Response:
    return Response(RELOAD_JS.read_bytes(), media_type="text/javascript", headers=HEADERS)


async def events(request: Request) -> Response:
    """The live-reload stream: every change, naming the letters it touched."""
    preview, broadcast = request.app.state.preview, request.app.state.broadcast

    async def stream() -> AsyncIterator[str]:
        with broadcast.subscribe() as queue:
            # On (re)connecting a page learns the current version, and so whether it missed a change.
            yield f"retry: 500\ndata: {Change(preview.version, every_letter=True).event()}\n\n"
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if message is None:
                    return
                yield f"data: {message}\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream", headers={**HEADERS, "X-Accel-Buffering": "no"})


async def not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    return problems_page(request, [Problem(request.url.path, "no such page")], status)


# The .html and .pdf routes come first: "/{assessment}/letters/{slug}" would match "cleveland.pdf" too.
ROUTES = [
    Route("/", home),
    Route("/events", events),
    Route("/_preview/reload.js", script),
    Route("/{assessment}/", index),
    Route("/{assessment}/letters/{slug}.html", letter_html),
    Route("/{assessment}/letters/{slug}.pdf", letter_pdf),
    *editor.ROUTES,
]


def create_app(preview: Preview, allowed_hosts: Sequence[str] = ("*",), watching: bool = True, open_url: str | None = None) -> Starlette:
    """The preview's routes over one Preview; `watching` starts the file watcher with the app."""
    broadcast = Broadcast()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(watch(preview, broadcast, stop)) if watching else None
        if open_url:
            threading.Thread(target=webbrowser.open, args=(open_url,), daemon=True).start()
        try:
            yield
        finally:
            stop.set()
            if task:
                await task
            preview.close()

    # Checking the Host header keeps a web page elsewhere from reading drafts through DNS rebinding.
    middleware = [Middleware(SecurityHeaders), Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))]
    app = Starlette(routes=ROUTES, middleware=middleware, exception_handlers={404: not_found, 405: not_found}, lifespan=lifespan)
    app.state.preview = preview
    app.state.broadcast = broadcast
    app.state.guard = forms.Guard()
    return app
