"""The preview server under abuse: idle and slow clients past the open-file limit, host names,
slow PDFs, a FIFO in a letter's place, data/ removed and restored. Traffic goes to loopback only;
every loop is bounded in count and time."""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from conftest import letter_file
from hmicfrs_letters.cli import app as cli
from hmicfrs_letters.core.errors import LetterError
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.preview.app import create_app
from hmicfrs_letters.preview.forms import MAX_FORM_BYTES
from hmicfrs_letters.preview.server import allowed_hosts, max_connections
from hmicfrs_letters.preview.state import Preview
from serving import running


def get(url: str, timeout: float = 20, host: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def eventually(check, seconds: float = 10.0, every: float = 0.1):
    """Poll until check() is truthy, at most `seconds`; returns its last value."""
    deadline = time.monotonic() + seconds
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(every)
    return value


# --- host names ----------------------------------------------------------------------------------------


def test_serving_beyond_loopback_needs_allowed_host_names(project):
    with pytest.raises(LetterError) as refused:
        allowed_hosts("0.0.0.0")
    assert str(refused.value) == (
        "--host 0.0.0.0: other machines can reach this address: "
        "name the host names the preview may answer to with --allow-host NAME (repeatable)"
    )
    result = CliRunner().invoke(cli, ["--project", str(project), "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert result.output == f"Error: {refused.value}\n"
    for name in ("*", "*.example.org", "exa mple.org", "letters.example.org/x"):
        with pytest.raises(LetterError, match="not a host name or an IP address"):
            allowed_hosts("0.0.0.0", [name])


def test_the_host_check_stays_on_beyond_loopback(project):
    names = allowed_hosts("0.0.0.0", ["Letters.Example.org", "192.168.1.10", "fe80::1"])
    assert names == ["127.0.0.1", "localhost", "[::1]", "letters.example.org", "192.168.1.10", "[fe80::1]"]
    client = TestClient(create_app(Preview(Project.at(project)), names, watching=False))
    for host in ("letters.example.org:8000", "192.168.1.10:8000", "[fe80::1]:8000", "localhost:8000"):
        assert client.get("/", headers={"host": host}).status_code == 200, host
    for host in ("attacker.example", "letters.example.org.attacker.example", "0.0.0.0:8000", "evil"):
        assert client.get("/", headers={"host": host}).status_code == 400, host


def test_a_loopback_address_answers_to_its_own_printed_address(project):
    with running(project, host="127.0.0.2") as server:
        assert server.url.startswith("http://127.0.0.2:")
        assert get(server.url)[0] == 200
        assert get(server.url, host="attacker.example")[0] == 400


# --- idle and slow clients ------------------------------------------------------------------------------

SERVE = """
import sys
from pathlib import Path
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.preview.server import Server
server = Server(Project.at(Path(sys.argv[1])), None, "127.0.0.1", 0, request_seconds=float(sys.argv[2]))
print(server.url, flush=True)
server.run()
"""
OPEN_FILES = 256  # the server takes (256 - 64) // 2 = 96 connections at once
IDLE = 300  # more sockets than the server may have files open


def test_idle_and_slow_clients_past_the_open_file_limit_do_not_starve_real_ones(project):
    def lower_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))

    command = [sys.executable, "-c", SERVE, str(project), "2"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=lower_limit)
    sockets: list[socket.socket] = []
    try:
        url = server.stdout.readline().strip()
        port = int(url.rsplit(":", 1)[1].strip("/"))
        for _ in range(IDLE):  # connected, never asking
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        slow = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(5)]
        sockets += slow
        for client in slow:  # a byte at a time, never a whole request
            client.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        for _ in range(10):  # answered, each, while the idle and slow ones still hold their sockets
            assert get(url, timeout=10)[0] == 200
            for client in slow:
                with contextlib.suppress(OSError):
                    client.sendall(b"x")
            time.sleep(0.2)
        for client in slow:  # cut off once their two seconds are up
            client.settimeout(10)
            with contextlib.suppress(OSError):
                while client.recv(4096):
                    pass
    finally:
        for client in sockets:
            client.close()
        server.send_signal(signal.SIGINT)
        _, log = server.communicate(timeout=30)
    assert "Traceback" not in log and len(log) < 100_000, log[-3000:]
    lines = log.splitlines()
    print(f"\nidle and slow clients: {len(lines)} log lines, {len(log):,} bytes; first: {lines[:1]}, last: {lines[-1:]}")
    assert any(line.endswith(": closed a connection: no whole request within 2 s") for line in lines), log[-3000:]
    assert any("the most this server takes" in line for line in lines), log[-3000:]


# --- slow PDFs -------------------------------------------------------------------------------------------


@pytest.mark.empty_cache  # the other letter is laid out too, by another worker, while the slow one runs
def test_a_slow_pdf_stops_at_the_time_limit_and_holds_up_no_other(project):
    # 6,600 paragraphs: a PDF of over 200 pages, about ten seconds of WeasyPrint's time.
    letter_file(project, "kent").write_text("outcome: pending\nstatus: draft\nfindings: |\n" + "  x\n\n" * 6600)
    with running(project, timeout=5) as server:
        slow: dict[str, tuple[int, str]] = {}

        def ask_slow() -> None:
            slow["kent"] = get(server.url + "apsp-2017/letters/kent.pdf", timeout=60)

        thread = threading.Thread(target=ask_slow)
        thread.start()
        time.sleep(0.3)
        assert get(server.url + "apsp-2017/letters/cleveland.pdf", timeout=60)[0] == 200
        assert thread.is_alive()  # answered while the slow one is still being laid out: not queued behind it
        thread.join(60)
    status, page = slow["kent"]
    assert status == 500
    assert "data/assessments/apsp-2017/kent.yaml: stopped after the time limit of 5 s; the worker was replaced" in page


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_stopping_the_server_while_a_live_look_is_laid_out_logs_no_traceback(project):
    findings = "x\n\n" * 6600  # a PDF of over 200 pages: ten seconds of layout, still under way at the stop
    kept, uvicorn_log = _Kept(), logging.getLogger("uvicorn.error")  # its configuration stops records reaching the root
    uvicorn_log.addHandler(kept)
    try:
        with running(project, timeout=30) as server:
            url = server.url + "apsp-2017/letters/kent"
            token = re.search(r'name="token" value="([^"]+)"', get(url)[1])[1]
            body = urllib.parse.urlencode({"token": token, "field:findings": findings}).encode()
            request = urllib.request.Request(url + "/live?part=pages", data=body, headers={"Origin": server.url.rstrip("/")})

            def ask() -> None:
                with contextlib.suppress(OSError):  # the connection is closed by the stop
                    urllib.request.urlopen(request, timeout=60).read()

            asked = threading.Thread(target=ask, daemon=True)
            asked.start()
            time.sleep(1.5)
        asked.join(30)
    finally:
        uvicorn_log.removeHandler(kept)
    assert not [r.getMessage() for r in kept.records if r.exc_info], "a traceback was logged at the stop"


# --- the file system under the server --------------------------------------------------------------------------


def test_a_fifo_in_a_letters_place_never_hangs_the_server(project):
    kent = letter_file(project, "kent")
    text = kent.read_text()
    with running(project) as server:
        kent.unlink()
        os.mkfifo(kent)
        try:
            page = eventually(lambda: "is a FIFO" in get(server.url + "apsp-2017/letters/kent", timeout=5)[1])
            assert page, "the FIFO's error never showed"
            assert get(server.url, timeout=5)[0] == 200
        finally:
            with contextlib.suppress(OSError):  # should anything be waiting on it, let it go
                os.close(os.open(kent, os.O_WRONLY | os.O_NONBLOCK))
        kent.unlink()
        kent.write_text(text)
        assert eventually(lambda: "is a FIFO" not in get(server.url + "apsp-2017/letters/kent", timeout=5)[1])
        assert get(server.url + "apsp-2017/letters/kent", timeout=5)[0] == 200


def test_data_removed_and_restored_under_the_server(project, tmp_path):
    backup = shutil.copytree(project / "data", tmp_path / "backup")
    with running(project) as server:
        assert get(server.url + "apsp-2017/letters/kent")[0] == 200
        shutil.rmtree(project / "data")
        assert eventually(lambda: get(server.url)[0] == 500)
        shutil.copytree(backup, project / "data")  # a restore: another folder of the same name
        assert eventually(lambda: get(server.url + "apsp-2017/letters/kent")[0] == 200)
        kent = letter_file(project, "kent")
        kent.write_text(kent.read_text().replace('findings: ""', 'findings: "Written after the restore."'))
        assert eventually(lambda: "Written after the restore." in get(server.url + "apsp-2017/letters/kent.html")[1])

        (project / "data").rename(project / "data.moved")  # moved away and back: the same folder, watched again
        assert eventually(lambda: get(server.url)[0] == 500)
        (project / "data.moved").rename(project / "data")
        kent.write_text(kent.read_text().replace("Written after the restore.", "Written after the move."))
        assert eventually(lambda: "Written after the move." in get(server.url + "apsp-2017/letters/kent.html")[1])


def test_connections_are_capped_inside_the_open_file_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, hard))
        assert max_connections() == 96
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert 8 <= max_connections() <= 1000


# --- no state shared between requests; limits before work ----------------------------------------------


def _token(server, slug: str = "kent") -> str:
    return re.search(r'name="token" value="([^"]+)"', get(f"{server.url}apsp-2017/letters/{slug}")[1])[1]


def _post(url: str, fields: dict[str, str] | bytes, origin: str | None, timeout: float = 30) -> tuple[int, str]:
    body = fields if isinstance(fields, bytes) else urllib.parse.urlencode(fields).encode()
    request = urllib.request.Request(url, data=body, headers={"Origin": origin} if origin else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def test_concurrent_live_looks_of_different_letters_each_get_their_own(project):
    slugs = ["kent", "cleveland", "durham", "essex", "gwent", "sussex", "metropolitan", "city-of-london"]
    # Reference links and emphasis: a Markdown converter keeps references between calls until reset.
    # Long enough that converting it spans several of the interpreter's thread switches.
    findings = {
        slug: "\n\n".join([f"Marker-{slug} *first* [link][{slug}] and **more** words.\n\n- item {slug}"] * 60)
        + f"\n\n[{slug}]: https://example.org/{slug}"
        for slug in slugs
    }
    with running(project) as server:
        token, origin = _token(server), server.url.rstrip("/")
        answers: list[tuple[str, int, str]] = []

        def ask(slug: str) -> None:
            for _ in range(6):
                url = f"{server.url}apsp-2017/letters/{slug}/live?part=letter"
                status, text = _post(url, {"token": token, "field:findings": findings[slug]}, origin)
                answers.append((slug, status, text))

        threads = [threading.Thread(target=ask, args=(slug,)) for slug in slugs * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    assert len(answers) == 6 * 2 * len(slugs)
    for slug, status, text in answers:
        assert status == 200, (slug, text[:500])
        html = json.loads(text)["html"]
        assert f"Marker-{slug}" in html and f"https://example.org/{slug}" in html, slug
        assert not [other for other in slugs if other != slug and f"Marker-{other}" in html], slug
        assert "control character" not in text


def test_a_template_that_loops_is_its_letters_error_and_holds_up_no_other(project):
    template = project / "templates" / "apsp-2017" / "findings.html.j2"
    with running(project, timeout=4) as server:
        version = server.preview.version
        template.write_text("{% if recipient.slug == 'kent' %}{% for i in range(10**12) %}{% endfor %}{% endif %}\n" + template.read_text())
        assert eventually(lambda: server.preview.version > version)
        slow: dict[str, tuple[int, str]] = {}
        thread = threading.Thread(target=lambda: slow.setdefault("kent", get(server.url + "apsp-2017/letters/kent.html", timeout=60)))
        thread.start()
        time.sleep(0.5)
        assert get(server.url + "apsp-2017/letters/cleveland.html", timeout=60)[0] == 200
        assert thread.is_alive()  # answered while kent's template still runs: the preview's lock is not held
        thread.join(60)
        # The template fixed: the letter renders again (nothing stuck behind the loop).
        template.write_text(template.read_text().split("\n", 1)[1])
        assert eventually(lambda: get(server.url + "apsp-2017/letters/kent.html")[0] == 200)
    status, page = slow["kent"]
    assert status == 422
    assert re.search(r"templates/apsp-2017/\S+\.j2(:\d+)?: the template took longer than 4 s", page), page[-600:]


def _announced(server, path: str, length: int, origin: str | None) -> tuple[int, str]:
    """A POST that announces a body of `length` bytes and sends only its first few: answered at once
    only when the server refuses it without reading the body (otherwise it waits, and this times out)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    try:
        connection.putrequest("POST", path)
        connection.putheader("Content-Type", "application/x-www-form-urlencoded")
        connection.putheader("Content-Length", str(length))
        if origin:
            connection.putheader("Origin", origin)
        connection.endheaders(b"token=")
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def test_a_cross_site_post_is_refused_before_its_body_is_read(project):
    with running(project) as server:
        origin = server.url.rstrip("/")
        for refused in (None, "http://evil.example"):  # refused on its headers: 400 MB announced, never read
            status, text = _announced(server, "/apsp-2017/letters/kent", 400_000_000, refused)
            assert status == 403 and "did not come from this server" in text
        # From our own origin, but larger than any letter's form: refused unread too.
        status, text = _announced(server, "/apsp-2017/letters/kent/live", MAX_FORM_BYTES + 1, origin)
        assert status == 403 and "larger than" in text
        # Sent without announcing its size (chunked): refused as it streams in, past the limit. The refusal
        # may close the connection before the client has written its last chunk (a broken pipe on the
        # client's side): then it is sent again, and one of three must read the refusal itself.
        for _ in range(3):
            request = urllib.request.Request(
                server.url + "apsp-2017/letters/kent/live", data=iter([b"token=", b"a" * MAX_FORM_BYTES, b"a"]), headers={"Origin": origin}
            )
            try:
                urllib.request.urlopen(request, timeout=20)
            except urllib.error.HTTPError as refused_late:
                assert refused_late.code == 403 and "larger than" in refused_late.read().decode()
                break
            except urllib.error.URLError as cut:
                assert isinstance(cut.reason, (BrokenPipeError, ConnectionResetError)), cut
        else:
            pytest.fail("the server's refusal of a chunked form past the limit was never read")


def test_starlettes_own_responses_carry_the_security_headers(project):
    with running(project) as server:
        for url, host in ((server.url + "apsp-2017", None), (server.url, "evil.example")):
            request = urllib.request.Request(url, headers={"Host": host} if host else {})
            opener = urllib.request.build_opener(_NoRedirect)
            try:
                response = opener.open(request, timeout=20)
                status, headers = response.status, response.headers
            except urllib.error.HTTPError as exc:
                status, headers = exc.code, exc.headers
            assert status in (307, 400), (url, status)
            assert headers["Cache-Control"] == "no-store" and headers["X-Content-Type-Options"] == "nosniff", (url, dict(headers))
            assert headers["Referrer-Policy"] == "same-origin"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
