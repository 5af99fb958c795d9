"""`letters serve`: every letter of an assessment in a browser, refreshed as its files change.

A thin layer over the core, like the CLI: load_batch reads the data, render_letter makes a
letter's HTML when a page first asks for it (kept until that letter's inputs change), and
PdfRenderer makes its PDF on request, kept in the content-addressed PdfCache that `letters build`
also uses. A file watcher reloads what changed and tells the open pages through Server-Sent
Events, naming the letters affected, so only those are rendered again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import json
import logging
import socket
import threading
import webbrowser
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
import watchfiles
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from hmicfrs_letters.cache import PdfCache, environment_digest
from hmicfrs_letters.check import check_batch
from hmicfrs_letters.errors import LetterError, Problem
from hmicfrs_letters.models import PENDING, STATUSES, Category
from hmicfrs_letters.project import SLUG, Project
from hmicfrs_letters.render import render_letter, render_page
from hmicfrs_letters.templates import make_environment, template_problem
from hmicfrs_letters.validate import Batch, LetterInput, load_batch

INVALID = "invalid"  # the status shown for a letter that cannot be read or rendered
SORTS = ("force", "outcome", "status", "problems")
# Changes are grouped while files keep changing for STEP_MS (an editor's save is several
# events within a few milliseconds), and for at most DEBOUNCE_MS.
STEP_MS, DEBOUNCE_MS = 30, 250
KEEPALIVE_SECONDS = 15.0
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")

# Drafts are confidential: pages are never cached, never framed by another site, never run a
# script they did not get from this server; letters themselves run no script at all.
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
_PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; frame-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_LETTER_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"


@dataclass(frozen=True)
class LetterView:
    """One letter as the preview shows it: its HTML when it could be rendered, and every problem `letters check` finds for it."""

    item: LetterInput
    name: str
    outcome: Category | None
    html: str | None
    problems: tuple[Problem, ...]

    @property
    def slug(self) -> str:
        return self.item.slug

    @property
    def outcome_key(self) -> str:
        return self.item.letter.outcome if self.item.letter else ""

    @property
    def status(self) -> str:
        return self.item.letter.status if self.item.letter and self.html is not None else INVALID

    @property
    def linkable(self) -> bool:
        return SLUG.fullmatch(self.slug) is not None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]


@dataclass(frozen=True)
class Change:
    """What one reload changed: a new version, and the letters whose pages must refresh."""

    version: int
    letters: frozenset[str] = frozenset()
    every_letter: bool = False

    def event(self) -> str:
        letters = "all" if self.every_letter else sorted(self.letters)
        return json.dumps({"version": self.version, "letters": letters})


class Preview:
    """The preview's state: the loaded batch, each letter as rendered, and a version that moves with them.

    Thread-safe: pages are rendered in Starlette's thread pool while the watcher reloads.
    """

    def __init__(self, project: Project, assessment: str | None = None) -> None:
        self.project = project
        self.assessment = project.resolve_assessment(assessment)
        self.version = 0
        self.renders: Counter[str] = Counter()  # HTML renders by letter
        self.pdf_renders = 0
        self._lock = threading.RLock()
        self._pdf_lock = threading.Lock()
        self._views: dict[str, LetterView] = {}
        self._general: list[Problem] | None = None
        self._renderer: Any = None
        self._cache: PdfCache | None = None
        self._assets_changed = False
        self.env = make_environment(project.templates_dir)
        self.batch, self.failure = self._load()

    def _load(self) -> tuple[Batch | None, list[Problem]]:
        try:
            return load_batch(self.project, self.assessment), []
        except LetterError as exc:
            return None, exc.problems

    # --- reloading ----------------------------------------------------------------------

    def reload(self, paths: Iterable[Path]) -> Change | None:
        """Take in changes to these files; the Change, or None when no page would look different."""
        paths = [Path(p) for p in paths]
        templates = any(p.is_relative_to(self.project.templates_dir) for p in paths)
        with self._lock:
            if any(p.is_relative_to(self.project.templates_dir / "assets") for p in paths):
                self._assets_changed = True  # the PDF stylesheet or fonts: a new renderer and cache digest
            if templates:
                self.env = make_environment(self.project.templates_dir)
            old_batch, old_failure = self.batch, self.failure
            if any(p.is_relative_to(self.project.data_dir) for p in paths):
                self.batch, self.failure = self._load()
            every, letters, index = _differences(old_batch, old_failure, self.batch, self.failure)
            if not (templates or every or letters or index):
                return None
            self.version += 1
            self._general = None
            if templates or every:
                self._views.clear()
                return Change(self.version, every_letter=True)
            for slug in letters:
                self._views.pop(slug, None)
            return Change(self.version, frozenset(letters))

    # --- what pages show ----------------------------------------------------------------

    def view(self, slug: str) -> LetterView:
        """One letter; LetterError when the assessment cannot be loaded or has no such letter."""
        with self._lock:
            batch = self._batch()
            if slug not in self._views:
                (item,) = batch.select([slug])
                self._views[slug] = self._render(batch, item)
            return self._views[slug]

    def views(self) -> list[LetterView]:
        with self._lock:
            return [self.view(item.slug) for item in self._batch().letters]

    def general_problems(self) -> list[Problem]:
        """Problems `letters check` finds outside the letters' own files: shared files and every template."""
        with self._lock:
            if self._general is None:
                self._general = check_batch(dataclasses.replace(self._batch(), letters=[]))
            return self._general

    def _batch(self) -> Batch:
        if self.batch is None:
            raise LetterError(self.failure)
        return self.batch

    def _render(self, batch: Batch, item: LetterInput) -> LetterView:
        force = batch.forces.get(item.slug)
        name = force.name if force else item.slug
        # In the file's order, as `letters check` prints them.
        problems = tuple(sorted(item.problems, key=lambda p: (p.line or 0, p.column or 0)))
        if item.letter is None:
            return LetterView(item, name, None, None, problems)
        outcome = batch.assessment.category(item.letter.outcome)
        self.renders[item.slug] += 1
        try:
            html = render_letter(self.env, batch.assessment, item.letter, item.shown)
        except Exception as exc:  # an error inside a template is this letter's problem, as in `letters check`
            problem = template_problem(exc, self.project.templates_dir, "templates")
            return LetterView(item, name, outcome, None, (*problems, problem))
        return LetterView(item, name, outcome, html, problems)

    def pdf(self, view: LetterView) -> bytes:
        """The letter's PDF, from the cache when this very HTML was rendered before."""
        assert view.html is not None
        with self._pdf_lock:
            if self._renderer is None or self._assets_changed:
                from hmicfrs_letters.pdf import PdfRenderer  # WeasyPrint is slow to import: only when a PDF is asked for

                self._assets_changed = False
                assets = self.project.templates_dir / "assets"
                self._renderer = PdfRenderer(assets)
                self._cache = PdfCache(self.project.output_dir / ".cache" / "pdf", environment_digest(assets))
            key = self._cache.key(view.html)
            cached = self._cache.get(key)
            if cached is not None:
                return cached[0]
            rendered = self._renderer.render(view.html)
            self.pdf_renders += 1
            self._cache.put(key, rendered.data, rendered.pages)
            return rendered.data


def _differences(
    old: Batch | None, old_failure: list[Problem], new: Batch | None, new_failure: list[Problem]
) -> tuple[bool, set[str], bool]:
    """(every letter changed, the letters that changed, the index changed) between two loads."""
    if old is None or new is None:
        changed = (old is None) != (new is None) or old_failure != new_failure
        return changed, set(), changed
    if old.assessment != new.assessment or old.forces != new.forces:
        return True, set(), True
    before = {item.slug: item for item in old.letters}
    after = {item.slug: item for item in new.letters}
    letters = {slug for slug in before.keys() | after.keys() if before.get(slug) != after.get(slug)}
    return False, letters, bool(letters) or old.problems != new.problems


def select(views: Sequence[LetterView], outcome: str = "", status: str = "", sort: str = "force") -> list[LetterView]:
    """The index's rows: filtered by outcome key and status, then sorted."""
    rows = [v for v in views if (not outcome or v.outcome_key == outcome) and (not status or v.status == status)]
    keys = {
        "force": lambda v: v.name.casefold(),
        "outcome": lambda v: (v.outcome.label if v.outcome else "~" + v.outcome_key, v.name.casefold()),
        "status": lambda v: (v.status, v.name.casefold()),
        "problems": lambda v: (-len(v.errors), -len(v.warnings), v.name.casefold()),
    }
    return sorted(rows, key=keys.get(sort, keys["force"]))


# --- the web application -------------------------------------------------------------------


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
    """Reload on every change under data/ and templates/, and tell the pages, until `stop` is set."""
    project = preview.project
    async for changes in watchfiles.awatch(project.data_dir, project.templates_dir, step=STEP_MS, debounce=DEBOUNCE_MS, stop_event=stop):
        try:
            change = await run_in_threadpool(preview.reload, [Path(path) for _, path in changes])
        except Exception:  # a bug met while reloading must not end live reload for every page: log it, go on
            logging.getLogger("uvicorn.error").exception("reloading after a change failed")
            continue
        if change is not None:
            broadcast.publish(change.event())


def create_app(preview: Preview, allowed_hosts: Sequence[str] = ("*",), watching: bool = True, open_url: str | None = None) -> Starlette:
    """The preview's routes over one Preview; `watching` starts the file watcher with the app."""
    broadcast = Broadcast()
    reload_js = preview.project.templates_dir / "preview" / "reload.js"

    def page(template: str, status: int = 200, csp: str = _PAGE_CSP, **context: Any) -> Response:
        try:
            html = render_page(preview.env, template, version=preview.version, **context)
        except Exception as exc:  # a broken preview template must not stop the server: show its problem
            problem = template_problem(exc, preview.project.templates_dir, "templates")
            lines = [str(problem), *(str(p) for p in context.get("problems", ()))]
            return PlainTextResponse("\n".join(lines) + "\n", 500, headers=_HEADERS)
        return HTMLResponse(html, status, headers={**_HEADERS, "Content-Security-Policy": csp})

    def problems_page(problems: Sequence[Problem], status: int, in_frame: bool = False) -> Response:
        return page(
            "preview/error.html.j2",
            status,
            csp=_LETTER_CSP if in_frame else _PAGE_CSP,
            problems=problems,
            in_frame=in_frame,
            missing=status == 404,
        )

    def view_or_error(request: Request, in_frame: bool = False) -> LetterView | Response:
        try:
            return preview.view(request.path_params["slug"])
        except LetterError as exc:
            return problems_page(exc.problems, 404 if preview.batch is not None else 500, in_frame)

    def index(request: Request) -> Response:
        query = request.query_params
        filters = {name: query.get(name, "") for name in ("outcome", "status", "sort")}
        if preview.batch is None:
            return page("preview/index.html.j2", 500, assessment=None, failure=preview.failure, problems=preview.failure)
        views = preview.views()
        return page(
            "preview/index.html.j2",
            assessment=preview.batch.assessment,
            failure=[],
            views=views,
            rows=select(views, **filters),
            general=preview.general_problems(),
            outcomes=[*preview.batch.assessment.categories, Category(PENDING, "Pending")],
            statuses=[*STATUSES, INVALID],
            sorts=SORTS,
            filters=filters,
        )

    def letter_page(request: Request) -> Response:
        view = view_or_error(request)
        if isinstance(view, Response):
            return view
        return page("preview/letter.html.j2", view=view)

    def letter_html(request: Request) -> Response:
        view = view_or_error(request, in_frame=True)
        if isinstance(view, Response):
            return view
        if view.html is None:
            return problems_page(view.errors, 422, in_frame=True)
        return HTMLResponse(view.html, headers={**_HEADERS, "Content-Security-Policy": _LETTER_CSP})

    def letter_pdf(request: Request) -> Response:
        view = view_or_error(request)
        if isinstance(view, Response):
            return view
        if view.html is None or view.errors:
            return problems_page(view.errors, 422)
        try:
            pdf = preview.pdf(view)
        except Exception as exc:  # as in `letters build`: this letter's failure, not the server's
            return problems_page([Problem(view.item.shown, f"PDF rendering failed: {type(exc).__name__}: {exc}")], 500)
        filename = f"{preview.assessment}-{view.slug}.pdf"
        return Response(pdf, media_type="application/pdf", headers={**_HEADERS, "Content-Disposition": f'inline; filename="{filename}"'})

    def script(request: Request) -> Response:
        try:
            return Response(reload_js.read_bytes(), media_type="text/javascript", headers=_HEADERS)
        except OSError:
            return problems_page([Problem(preview.project.shown(reload_js), "missing: the preview's live reload needs it")], 404)

    async def events(request: Request) -> Response:
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

        return StreamingResponse(stream(), media_type="text/event-stream", headers={**_HEADERS, "X-Accel-Buffering": "no"})

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        return problems_page([Problem(request.url.path, "no such page")], status)

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

    # The .html and .pdf routes come first: "/letters/{slug}" would match "cleveland.pdf" too.
    routes = [
        Route("/", index),
        Route("/letters/{slug}.html", letter_html),
        Route("/letters/{slug}.pdf", letter_pdf),
        Route("/letters/{slug}", letter_page),
        Route("/events", events),
        Route("/_preview/reload.js", script),
    ]
    # Checking the Host header keeps a web page elsewhere from reading drafts through DNS rebinding.
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={404: not_found, 405: not_found}, lifespan=lifespan)
    app.state.preview = preview
    app.state.broadcast = broadcast
    return app


# --- serving ---------------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach an address."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (port 0: any free port); LetterError when that is not possible."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)  # from here on connections wait for the server, rather than being refused
    except OSError as exc:
        raise LetterError(
            Problem(f"{host}:{port}", f"cannot listen here: {exc.strerror or exc}; choose another --port or --host")
        ) from None
    sock.set_inheritable(True)
    return sock


class Server:
    """The preview app bound to its address, ready to run."""

    def __init__(self, project: Project, assessment: str | None, host: str = "127.0.0.1", port: int = 8000) -> None:
        self.preview = Preview(project, assessment)
        self.socket = listen(host, port)
        self.host = host
        self.port = self.socket.getsockname()[1]
        shown = f"[{host.strip('[]')}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}/"
        self.allowed_hosts = ["127.0.0.1", "localhost", "::1", "[::1]"] if is_loopback(host) else ["*"]

    def uvicorn(self, open_browser: bool = False) -> uvicorn.Server:
        """The uvicorn server for the app; `.run(sockets=[self.socket])` serves until its `handle_exit`."""
        app = create_app(self.preview, self.allowed_hosts, open_url=self.url if open_browser else None)
        config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2)
        return _Uvicorn(config, app.state.broadcast)

    def run(self, open_browser: bool = False) -> None:
        """Serve until interrupted (Ctrl+C)."""
        with contextlib.suppress(KeyboardInterrupt):  # uvicorn raises Ctrl+C again once it has shut down
            self.uvicorn(open_browser).run(sockets=[self.socket])


class _Uvicorn(uvicorn.Server):
    """Ends the pages' event streams as soon as shutdown begins, rather than waiting on them."""

    def __init__(self, config: uvicorn.Config, broadcast: Broadcast) -> None:
        super().__init__(config)
        self.broadcast = broadcast

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.broadcast.close_soon()
        super().handle_exit(sig, frame)
