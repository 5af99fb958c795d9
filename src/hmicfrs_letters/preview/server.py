"""Serving the preview: an address to listen on (loopback unless asked otherwise), the host names
it answers to, and uvicorn, guarded against clients that hold connections without asking.

Each connection must send a whole request within REQUEST_SECONDS of connecting (or of its
previous response); connections are capped well inside the process's open-file limit, and at
the cap the connection that has waited longest without a whole request makes room for the new
one. Each connection closed or refused so is one line in the log, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import resource
import socket
import time
from collections.abc import Sequence
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.pdf import LETTER_TIME_LIMIT
from hmicfrs_letters.pdf.service import start_worker_server
from hmicfrs_letters.preview.app import Broadcast, create_app
from hmicfrs_letters.preview.state import Preview

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")
# A browser sends a request in milliseconds; a client that takes longer than this over one is
# holding the connection (a byte a second), not asking.
REQUEST_SECONDS = 10.0
_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?")
_log = logging.getLogger("uvicorn.error")


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach an address."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str, allow: Sequence[str] = ()) -> list[str]:
    """The Host header names the preview answers to; LetterError when serving beyond loopback without naming them.

    Always this machine's loopback names and the address it listens on (127.0.0.2 answers to
    127.0.0.2), then the names of `--allow-host`. Never any name: a page elsewhere could then read
    the drafts through DNS rebinding.
    """
    names = ["127.0.0.1", "localhost", "[::1]"]
    for name in allow:
        if not _HOST_NAME.fullmatch(name.lower()) and not _ip(name.strip("[]")):
            raise LetterError(
                Problem(f"--allow-host {name!a}", "not a host name or an IP address; name each host name the preview may answer to")
            )
    if not is_loopback(host) and not allow:
        raise LetterError(
            Problem(
                f"--host {host}",
                "other machines can reach this address: name the host names the preview may answer to with --allow-host NAME (repeatable)",
            )
        )
    address = _ip(host.strip("[]"))
    if address is not None and not address.is_unspecified:
        names.append(f"[{address}]" if address.version == 6 else str(address))
    names += [f"[{_ip(name.strip('[]'))}]" if ":" in name else name.lower() for name in allow]
    return list(dict.fromkeys(names))


# A header's name, as HTTP spells one (RFC 9110's token).
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")


def user_header_refusal(header: str | None, host: str, allow: Sequence[str] = (), user: str | None = None) -> Problem | None:
    """Why `--trust-user-header HEADER` may not be used so; None when it may (or is not asked for).

    The header is trusted only from the reverse proxy that authenticates people: on loopback, or
    on an address others can reach only with `--allow-host` naming the proxy. Anyone who could
    reach the server itself could otherwise send the header and approve as anyone.
    """
    if header is None:
        return None
    if not _HEADER_NAME.fullmatch(header):
        return Problem(f"--trust-user-header {header!a}", "not a header name: letters, digits and hyphens, as X-Remote-User")
    if user:
        return Problem(f"--trust-user-header {header}", "give --user or --trust-user-header, not both")
    if not is_loopback(host) and not allow:
        return Problem(
            f"--trust-user-header {header}",
            f"other machines can reach --host {host} and could send the header themselves: name the proxy with --allow-host NAME",
        )
    return None


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


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


def max_connections() -> int:
    """How many connections to serve at once: half of what the open-file limit leaves once the
    server's own files (workers' pipes, the watcher, templates being read) are counted."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1000
    return max(8, min(1000, (soft - 64) // 2))


class Server:
    """The preview app bound to its address, ready to run."""

    def __init__(
        self,
        project: Project,
        assessments: Sequence[str] | None = (),
        host: str = "127.0.0.1",
        port: int = 8000,
        allow_hosts: Sequence[str] = (),
        timeout: float = LETTER_TIME_LIMIT,
        request_seconds: float = REQUEST_SECONDS,
        user: str | None = None,
        user_header: str | None = None,
    ) -> None:
        refusal = user_header_refusal(user_header, host, allow_hosts, user)
        if refusal:
            raise LetterError(refusal)
        self.allowed_hosts = allowed_hosts(host, allow_hosts)
        self.preview = Preview(project, assessments, timeout=timeout)
        self.socket = listen(host, port)
        self.host = host
        self.port = self.socket.getsockname()[1]
        shown = f"[{host.strip('[]')}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}/"
        self.request_seconds = request_seconds
        self.user = " ".join((user or "").split())  # who approves from every browser; '' for each to say
        self.user_header = user_header.lower() if user_header else None  # the proxy's header naming who approves

    def uvicorn(self, open_browser: bool = False) -> uvicorn.Server:
        """The uvicorn server for the app; `.run(sockets=[self.socket])` serves until its `handle_exit`."""
        app = create_app(self.preview, self.allowed_hosts, open_url=self.url if open_browser else None)
        app.state.user = self.user
        app.state.user_header = self.user_header
        protocol = guarded_protocol(self.request_seconds, max_connections())
        config = uvicorn.Config(app, http=protocol, log_level="warning", access_log=False, timeout_graceful_shutdown=2)
        return _Uvicorn(config, app.state.broadcast)

    def run(self, open_browser: bool = False) -> None:
        """Serve until interrupted (Ctrl+C). The workers' fork server starts first, warmed with the project's
        templates: the preview forks a worker for many of its looks, and each then lays out its first sooner."""
        start_worker_server(self.preview.project.templates_dir)
        with contextlib.suppress(KeyboardInterrupt):  # uvicorn raises Ctrl+C again once it has shut down
            self.uvicorn(open_browser).run(sockets=[self.socket])


def guarded_protocol(request_seconds: float, most: int) -> type[H11Protocol]:
    """uvicorn's HTTP/1.1 protocol, with a time limit on each request and a cap on connections."""

    class Guarded(H11Protocol):
        _waiting_since: float | None = None  # when it started waiting for a whole request
        _received = False  # whether any of that request has arrived
        _timer: asyncio.TimerHandle | None = None
        _refused = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            if len(self.connections) >= most and not _evict_one(self.connections, most):
                self._refused, self.transport = True, transport
                _log.warning("%s: refused a connection: %d open, the most this server takes", _peer(transport), most)
                transport.abort()
                return
            super().connection_made(transport)
            self._wait_for_request()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._refused:
                return
            self._stop_waiting()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            self._received = True
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE and self.conn.their_state is not h11.SEND_BODY:
                self._stop_waiting()  # the whole request is in

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                self._wait_for_request()

        def _wait_for_request(self) -> None:
            self._stop_waiting()
            self._waiting_since, self._received = time.monotonic(), False
            self._timer = self.loop.call_later(request_seconds, self._too_slow)

        def _stop_waiting(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
            self._timer, self._waiting_since = None, None

        def _too_slow(self) -> None:
            self._timer = None
            if self.transport.is_closing():
                return
            if self._received:  # an idle connection is closed quietly: browsers open them ahead of need
                _log.warning("%s: closed a connection: no whole request within %g s", _peer(self.transport), request_seconds)
            self.transport.close()

        def evict(self) -> None:
            _log.warning(
                "%s: closed a connection that sent no whole request: %d open, the most this server takes", _peer(self.transport), most
            )
            self._stop_waiting()
            self.transport.abort()

    return Guarded


def _evict_one(connections: set[Any], most: int) -> bool:
    """Close the connection that has waited longest for a whole request, to make room; False when every one is busy."""
    waiting = [c for c in connections if getattr(c, "_waiting_since", None) is not None and not c.transport.is_closing()]
    if not waiting:
        return False
    oldest = min(waiting, key=lambda c: c._waiting_since)
    oldest.evict()
    connections.discard(oldest)  # counted out now: its connection_lost comes on a later turn of the loop
    return True


def _peer(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else "a client"


def not_cut_short(record: logging.LogRecord) -> bool:
    """False for uvicorn's traceback of a request cancelled because the server is stopping (a page's
    live look still being laid out at Ctrl+C, say): stopping is what was asked, not an error."""
    return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))


class _Uvicorn(uvicorn.Server):
    """Ends the pages' event streams as soon as shutdown begins, rather than waiting on them; logs
    the event loop's own errors (accept() out of file descriptors, say) as one line each, at most once a second."""

    def __init__(self, config: uvicorn.Config, broadcast: Broadcast) -> None:
        super().__init__(config)
        self.broadcast = broadcast
        self._logged: dict[str, float] = {}
        _log.addFilter(not_cut_short)  # once: the same function is not added twice

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        asyncio.get_running_loop().set_exception_handler(self._loop_error)
        await super().startup(sockets=sockets)

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if not isinstance(exc, OSError):
            loop.default_exception_handler(context)
            return
        message = f"{context.get('message', 'error')}: {exc}"
        now = time.monotonic()
        if now - self._logged.get(message, -1.0) >= 1.0:  # asyncio retries a failed accept() in a loop
            self._logged[message] = now
            _log.warning("%s", message)

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.broadcast.close_soon()
        super().handle_exit(sig, frame)
