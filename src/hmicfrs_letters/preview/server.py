"""Serving the preview: an address to listen on (loopback unless asked otherwise), and uvicorn."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Sequence
from typing import Any

import uvicorn

from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.preview.app import Broadcast, create_app
from hmicfrs_letters.preview.state import Preview

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


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

    def __init__(self, project: Project, assessments: Sequence[str] | None = (), host: str = "127.0.0.1", port: int = 8000) -> None:
        self.preview = Preview(project, assessments)
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
