"""The preview's responses: its own pages with their security headers, error pages, and the one lookup
of the letter a request names.

Drafts are confidential: pages are never cached, never framed by another site, never run a
script they did not get from this server; letters themselves run no script at all. No address
leaks to another site; within this one a page's posts carry their origin, which they must.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hmicfrs_letters.core.errors import LetterError, Problem, plain
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.preview.state import LetterView

# The preview's own pages: package data, the same for every project.
PAGES = Templates(Path(__file__).parent / "pages", shown="hmicfrs_letters/preview/pages")
PAGES.env.filters["plain"] = plain  # a problem's or a reason's plain words (core.errors)

HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; frame-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
LETTER_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"


class SecurityHeaders:
    """ASGI middleware: every response carries HEADERS, also those Starlette makes itself (the
    trusted-host check's 400, a redirect to the address with a slash, an error it answers for us).
    A header a response sets itself is kept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def page(request: Request, template: str, status: int = 200, csp: str = PAGE_CSP, **context: Any) -> Response:
    """One of the preview's pages, with the security headers."""
    html = PAGES.render(template, {"version": request.app.state.preview.version, **context})
    return HTMLResponse(html, status, headers={**HEADERS, "Content-Security-Policy": csp})


def problems_page(request: Request, problems: Sequence[Problem], status: int, in_frame: bool = False) -> Response:
    """The error page: these problems, each with its place."""
    csp = LETTER_CSP if in_frame else PAGE_CSP
    return page(request, "error.html.j2", status, csp=csp, problems=problems, in_frame=in_frame, missing=status == 404)


def view_of(request: Request, in_frame: bool = False) -> LetterView | Response:
    """The letter the request's address names, or the error page saying why there is none."""
    preview = request.app.state.preview
    try:
        series = preview.get(request.path_params["assessment"])
    except LetterError as exc:
        return problems_page(request, exc.problems, 404, in_frame)
    try:
        return series.view(request.path_params["slug"])
    except LetterError as exc:
        return problems_page(request, exc.problems, 404 if series.batch is not None else 500, in_frame)
