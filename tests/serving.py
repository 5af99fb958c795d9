"""The preview server running for real, in a thread, on a free loopback port; and the browser to
look at it with: Debian's Chromium, driven by Playwright (its own browser download is not used)."""

from __future__ import annotations

import re
import signal
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from hmicfrs_letters.core.project import Project
from hmicfrs_letters.preview.server import Server

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"  # `npm ci` (make test does)
# Headless, as root, on a machine without a network: no sandbox, no GPU, and none of the
# background connections Chromium otherwise makes at start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium(playwright: Playwright) -> Browser:
    """Debian's headless Chromium (`scripts/system-deps.sh browser` installs it)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@contextmanager
def watched_page(browser: Browser) -> Iterator[Page]:
    """A desktop-sized page that fails the test on any script error or refused resource (a CSP violation, say)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and not _expected(msg) else None)
    yield page
    context.close()
    assert errors == [], f"the page reported: {errors}"


def _expected(msg: ConsoleMessage) -> bool:
    # A page answered with a refusal the test asks for (422: a letter that cannot be shown or saved;
    # 409: a save that meets a change on disk); the event stream reconnecting once a test has
    # stopped the server with the page still open (refused: nothing listens any more).
    return (
        re.search(r"status of (409|422)\b", msg.text) is not None
        or msg.location.get("url", "").endswith("/events")
        or "ERR_CONNECTION_REFUSED" in msg.text
    )


@contextmanager
def headless_chromium() -> Iterator[Browser]:
    """Chromium for a module's tests; the test fails, saying how to install it, where it is missing."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `scripts/system-deps.sh browser` (make test does)")
    with sync_playwright() as playwright:
        browser = chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def running(project: Path, host: str = "127.0.0.1", **options) -> Iterator[Server]:
    """`letters serve --port 0` on this project, with its file watcher; stopped on exit. `options` go to Server."""
    server = Server(Project.at(project), None, host, 0, **options)
    engine = server.uvicorn()
    thread = threading.Thread(target=engine.run, kwargs={"sockets": [server.socket]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not engine.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the preview server did not start"
        time.sleep(0.02)
    # The watcher is set up in the first turn of the event loop after start-up, so once a page has
    # been served, every later save is seen.
    urllib.request.urlopen(server.url, timeout=20).read()
    try:
        yield server
    finally:
        engine.handle_exit(signal.SIGINT, None)
        thread.join(20)
