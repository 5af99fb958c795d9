"""The preview server's routes, through Starlette's TestClient: pages, PDFs, errors, safety."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import signal
import socket
import subprocess
import sys
import urllib.request

import httpx2
import pytest
from markupsafe import escape
from pypdf import PdfReader
from starlette.testclient import TestClient
from typer.testing import CliRunner

from conftest import SOME_LETTERS, letter_file
from hmicfrs_letters.cli import app as cli
from hmicfrs_letters.core.errors import LetterError
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.render import render_letter
from hmicfrs_letters.core.validate import load_batch
from hmicfrs_letters.preview.app import create_app
from hmicfrs_letters.preview.server import is_loopback, listen
from hmicfrs_letters.preview.state import Preview
from hmicfrs_letters.workflow.series import Workflow
from serving import running

CLEVELAND_FINDINGS = "We were pleased to find that your plans submitted in response to our recommendation"


@pytest.fixture
def preview(project) -> Preview:
    return Preview(Project.at(project))


@pytest.fixture
def client(preview) -> TestClient:
    return TestClient(create_app(preview, allowed_hosts=["testserver"], watching=False))


def check_lines(project, slug: str) -> list[str]:
    """What `letters check` prints about one force's file."""
    result = CliRunner().invoke(cli, ["--project", str(project), "check"])
    return [line for line in result.stdout.splitlines() if line.startswith(f"data/assessments/apsp-2017/{slug}.yaml:")]


def save(preview: Preview, path, text: str):
    """Write a file and tell the preview, as its watcher does."""
    path.write_text(text)
    return preview.reload([path])


def rows(html: str) -> list[str]:
    return [line for line in html.splitlines() if line.startswith('<th scope="row" role="rowheader">')]


# --- index ---------------------------------------------------------------------------------


def test_index_lists_every_force_with_outcome_status_and_problems(client, project):
    response = client.get("/")
    assert response.status_code == 200
    assert len(rows(response.text)) == len(SOME_LETTERS)
    assert '<a href="/apsp-2017/letters/cleveland">Cleveland Police</a>' in response.text
    assert f"Letters dated 2 October 2017: {len(SOME_LETTERS)} forces, 2 approved," in response.text
    # Kent: pending and draft, and the three warnings `letters check` prints for it.
    assert len(check_lines(project, "kent")) == 3
    kent = response.text[response.text.index(">Kent Police<") :].split("</tr>")[0]
    assert 'data-label="Outcome">Pending</td>' in kent and ">Draft</span>" in kent and "0 errors, 3 warnings" in kent
    assert 'data-label="Next step">Write the findings</td>' in kent


def test_index_says_each_letters_next_step_in_words(client, preview, project):
    page = client.get("/").text
    step = {re.search(r'rowheader">(?:<a [^>]*>)?([^<]+)', r)[1]: r for r in page.split('<tr role="row" data-name')[1:]}
    assert 'data-label="Next step">Approved</td>' in step["Cleveland Police"]
    assert 'data-label="Next step">Ready to approve</td>' in step["Cumbria Constabulary"]
    path = letter_file(project, "cleveland")
    save(preview, path, path.read_text().replace("Your plans", "Their plans", 1))
    assert 'data-label="Next step">Changed since approval: approve again</td>' in client.get("/").text


def test_index_search_finds_a_letter_by_part_of_its_name_without_a_script(client):
    page = client.get("/")
    assert '<input type="search" id="letter-search" name="q" value=""' in page.text
    found = rows(client.get("/", params={"q": "kent"}).text)
    assert len(found) == 1 and "Kent Police" in found[0]
    assert len(rows(client.get("/", params={"q": "north york"}).text)) == 1
    assert f'Showing <span id="shown-count">0</span> of {len(SOME_LETTERS)}' in client.get("/", params={"q": "atlantis"}).text


def test_index_filters_and_sorts(client, preview, project):
    approved = client.get("/", params={"status": "approved"}).text
    assert [r.split(">")[2].split("<")[0] for r in rows(approved)] == ["Cleveland Police", "North Yorkshire Police"]
    assert f'Showing <span id="shown-count">2</span> of {len(SOME_LETTERS)} letters' in approved
    pending = rows(client.get("/", params={"outcome": "pending"}).text)
    assert 0 < len(pending) < len(SOME_LETTERS) and not any("Cleveland" in r for r in pending)

    save(preview, letter_file(project, "gwent"), "outcome: pending\nstatus: draft\nfindings: ''\nsummary: x\n")
    by_problems = rows(client.get("/", params={"sort": "problems"}).text)
    assert "Gwent Police" in by_problems[0]
    assert rows(client.get("/", params={"status": "invalid"}).text) == [by_problems[0]]
    assert rows(client.get("/", params={"sort": "nonsense"}).text) == rows(client.get("/").text)


def test_problem_counts_are_those_of_letters_check(project, preview):
    save(preview, letter_file(project, "kent"), "outcome: started\nstatus: aproved\nfindings: ''\n")
    series = preview.get("apsp-2017")
    shown = {p for view in series.all_views() for p in view.problems} | set(series.general_problems())
    assert shown == set(Workflow(load_batch(Project.at(project))).check(pages=False))
    assert len(series.view("kent").problems) == len(check_lines(project, "kent")) == 2


# --- a letter --------------------------------------------------------------------------------


def test_letter_page_shows_its_problems_a_pdf_link_and_the_letter_frame(client, project):
    page = client.get("/apsp-2017/letters/kent")
    assert page.status_code == 200
    for line in check_lines(project, "kent"):  # each in plain words, its `letters check` line behind "Details"
        assert f'<p class="technical-line">{escape(line)}</p></details>' in page.text
    assert '<li class="warning"><span class="visually-hidden">Warning: </span>The outcome is not chosen yet:' in page.text
    assert '<a href="/apsp-2017/letters/kent.pdf">PDF<span class="visually-hidden"> of the letter to Kent Police</span></a>' in page.text
    assert (
        '<iframe id="letter" title="The letter to Kent Police" src="/apsp-2017/letters/kent.html" sandbox="allow-same-origin">' in page.text
    )
    assert "No problems" in client.get("/apsp-2017/letters/cleveland").text


def test_letter_page_shows_the_approval_its_pages_and_what_approve_would_say(client, preview, project):
    kent = client.get("/apsp-2017/letters/kent").text
    assert "<dt>Status</dt><dd>Draft</dd>" in kent
    assert "<dt>Pages</dt><dd>2 of at most 2</dd>" in kent
    assert "It cannot be approved yet:" in kent
    assert '<li class="check failed"><span class="visually-hidden">Not passed: </span>Write the findings.</li>' in kent
    cumbria = client.get("/apsp-2017/letters/cumbria").text
    assert "Every check passes: it is ready to approve." in cumbria

    assert CliRunner().invoke(cli, ["--project", str(project), "approve", "cumbria", "--by", "Jane Smith"]).exit_code == 0
    path = letter_file(project, "cumbria")
    preview.reload([path])
    approved = client.get("/apsp-2017/letters/cumbria").text
    today = dt.date.today()
    assert "<dt>Status</dt><dd>Approved</dd>" in approved
    assert f'<dt>Approved</dt><dd>by Jane Smith on <time datetime="{today.isoformat()}">' in approved
    assert "The approval stands: this is the letter as approved." in approved and "changed since approval" not in approved

    save(preview, path, path.read_text().replace("Your plans submitted", "Your plan submitted"))
    changed = client.get("/apsp-2017/letters/cumbria").text
    assert '<span class="badge changed">Changed since approval: not approved</span>' in changed  # said in words, not by colour alone
    assert "<dt>Status</dt><dd>Changed since approval: not approved</dd>" in changed
    assert "<dt>Last approved</dt><dd>by Jane Smith" in changed
    assert escape(f"changed since it was approved by Jane Smith on {today.isoformat()}") in changed  # among its problems' details
    assert f"Changed since it was approved by Jane Smith on {today:%-d %B %Y}: approve it again" in changed  # in plain words
    assert "Every check passes: it is ready to approve." in changed  # approving it again is what it needs


def test_letter_frame_is_the_letter_as_built(client, preview):
    batch = preview.get("apsp-2017").batch
    (cleveland,) = batch.select(["cleveland"])
    response = client.get("/apsp-2017/letters/cleveland.html")
    assert response.status_code == 200
    assert response.text == render_letter(preview.templates, batch.assessment, cleveland.letter, cleveland.shown)
    assert CLEVELAND_FINDINGS in response.text
    assert "script-src" not in response.headers["content-security-policy"]  # a letter runs no script


@pytest.mark.empty_cache
def test_pdf_is_rendered_on_request_and_cached_by_content(client, preview, project):
    first = client.get("/apsp-2017/letters/cleveland.pdf")
    assert first.status_code == 200 and first.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(first.content))
    assert len(reader.pages) == 2
    assert "Cleveland Police" in reader.pages[0].extract_text()
    assert client.get("/apsp-2017/letters/cleveland.pdf").content == first.content
    assert preview.pdf_renders == 1
    # A fresh server finds it in the same cache as `letters build`.
    fresh = Preview(Project.at(project))
    assert TestClient(create_app(fresh, ["testserver"], watching=False)).get("/apsp-2017/letters/cleveland.pdf").content == first.content
    assert fresh.pdf_renders == 0


@pytest.mark.empty_cache
def test_the_previews_pdf_passes_the_builds_text_check_and_one_that_fails_is_never_cached(client, preview, project):
    """The preview makes PDFs along the build's one path: a stylesheet that changes the words fails it, and nothing is cached."""
    css = project / "templates" / "base" / "letter.css"
    save(preview, css, css.read_text() + "\n.sign-off p:first-child { text-transform: uppercase; }\n")
    response = client.get("/apsp-2017/letters/cleveland.pdf")
    assert response.status_code == 500
    assert (
        "data/assessments/apsp-2017/cleveland.yaml: PDF rendering failed: PdfTextMismatch: "
        "the PDF&#39;s text lacks 1 passage of the letter, first: &#39;Yours sincerely&#39;"
    ) in response.text
    assert not [p for p in (project / "output" / ".cache" / "pdf").rglob("*") if p.is_file()]
    assert preview.pdf_renders == 0


def test_no_pdf_for_a_letter_with_errors(client, preview, project):
    save(preview, letter_file(project, "cleveland"), "outcome: implementation-started\nstatus: approved\nfindings: ''\n")
    response = client.get("/apsp-2017/letters/cleveland.pdf")
    assert response.status_code == 422
    assert "approved, but &#39;findings&#39; is not written" in response.text
    assert preview.pdf_renders == 0


# --- bad edits and recovery ------------------------------------------------------------------


def test_broken_yaml_shows_the_check_line_and_recovers(client, preview, project):
    path = letter_file(project, "cleveland")
    good = path.read_text()
    change = save(preview, path, good.replace("status: approved", "status: [approved"))
    assert change.letters == {"apsp-2017/cleveland"} and not change.every_letter
    (line,) = check_lines(project, "cleveland")
    assert line.startswith("data/assessments/apsp-2017/cleveland.yaml:3:9: the '[' on line 3 is not closed")
    frame = client.get("/apsp-2017/letters/cleveland.html")
    assert frame.status_code == 422
    assert escape(line) in frame.text
    assert "1 error, 0 warnings" in client.get("/apsp-2017/letters/cleveland").text
    assert client.get("/").status_code == 200  # the others are still there

    save(preview, path, good)
    assert CLEVELAND_FINDINGS in client.get("/apsp-2017/letters/cleveland.html").text


def test_template_error_shows_its_place_for_every_letter_and_recovers(client, preview, project):
    template = project / "templates" / "apsp-2017" / "letter.html.j2"
    good = template.read_text()
    change = save(preview, template, good.replace("{{ assessment.contact.name }}", "{{ assessment.contact.nmae }}"))
    assert change.every_letter
    result = CliRunner().invoke(cli, ["--project", str(project), "check"])
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("templates/")]
    assert line == "templates/apsp-2017/letter.html.j2:34: 'hmicfrs_letters.core.models.Contact object' has no attribute 'nmae'"
    problem = client.get("/apsp-2017/letters/durham.html")
    assert problem.status_code == 422
    assert escape(line) in problem.text
    assert "invalid" in client.get("/apsp-2017/letters/durham").text

    save(preview, template, "{% block body %}{% endblok %}")
    syntax = client.get("/apsp-2017/letters/durham.html").text
    assert "templates/apsp-2017/letter.html.j2:1: Encountered unknown tag &#39;endblok&#39;." in syntax
    save(preview, template, good)
    assert "If you have any queries, please contact" in client.get("/apsp-2017/letters/durham.html").text


def test_broken_shared_file_shows_on_every_page_and_recovers(client, preview, project):
    forces = project / "data" / "recipients" / "police-forces.yaml"
    good = forces.read_text()
    change = save(preview, forces, "recipients: [\n")
    assert change.every_letter
    result = CliRunner().invoke(cli, ["--project", str(project), "check"])
    (line,) = [x for x in result.output.splitlines() if x.startswith("data/recipients/police-forces.yaml:")]
    for url in ("/", "/apsp-2017/letters/kent", "/apsp-2017/letters/kent.html", "/apsp-2017/letters/kent.pdf"):
        response = client.get(url)
        assert response.status_code == 500, url
        assert line in response.text, url
    save(preview, forces, good)
    assert client.get("/apsp-2017/letters/kent").status_code == 200
    assert len(rows(client.get("/").text)) == len(SOME_LETTERS)


def test_unchanged_letters_are_not_rendered_again(preview, project):
    series = preview.get("apsp-2017")
    for slug in ("cleveland", "durham"):
        series.view(slug)
    path = letter_file(project, "cleveland")
    change = save(preview, path, path.read_text().replace("We were pleased", "We were delighted"))
    assert change.letters == {"apsp-2017/cleveland"}
    assert "We were delighted" in series.view("cleveland").html
    series.view("durham")
    assert preview.renders == {"apsp-2017/cleveland": 2, "apsp-2017/durham": 1}
    assert save(preview, path, path.read_text()) is None  # saved again unchanged: nothing to refresh
    assert json.loads(change.event()) == {"version": 1, "letters": ["apsp-2017/cleveland"]}


# --- safety ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/apsp-2017/letters/..%2F..%2Fdata%2Fforces.yaml",
        "/apsp-2017/letters/..%2F..%2Fpyproject.toml.html",
        "/apsp-2017/letters/%2e%2e",
        "/apsp-2017/letters/%2e%2e.pdf",
        "/apsp-2017/letters/..%5C..%5Cpyproject.toml",
        "/_preview/..%2F..%2F..%2Fpyproject.toml",
        "/_preview/%2e%2e/%2e%2e/%2e%2e/pyproject.toml",
        "/data/recipients/police-forces.yaml",
        "/templates/preview/reload.js",
        "/templates/assets/pdf.css",
        "/%2e%2e/%2e%2e/etc/passwd",
        "//etc/passwd",
    ],
)
def test_no_file_outside_the_routes_is_served(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "recipients:" not in response.text and "root:" not in response.text and "[project]" not in response.text


def test_traversal_on_the_wire_is_404(project):
    """Raw request lines, as a hostile client would send them, with no client-side normalising."""
    with running(project) as server:
        for target in (
            "/../../pyproject.toml",
            "/apsp-2017/letters/../../data/recipients/police-forces.yaml",
            "/apsp-2017/letters/..%2f..%2fdata%2fforces.yaml",
        ):
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
                conn.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
                reply = b"".join(iter(lambda: conn.recv(65536), b""))
            assert reply.startswith(b"HTTP/1.1 404"), (target, reply[:100])
            assert b"recipients:" not in reply and b"[project]" not in reply


def test_letter_data_is_escaped_everywhere(client, preview, project):
    hostile = "<script>alert(1)</script>"
    forces = project / "data" / "recipients" / "police-forces.yaml"
    save(preview, forces, forces.read_text().replace("name: Kent Police", f"name: 'Kent {hostile}'"))
    save(preview, letter_file(project, "kent"), f"outcome: pending\nstatus: draft\nfindings: '{hostile} <img src=x onerror=alert(2)>'\n")
    save(preview, letter_file(project, "durham"), f"outcome: pending\nstatus: draft\nfindings: ''\n'{hostile}': 1\n")
    pages = [
        client.get(url).text
        for url in (
            "/",
            "/apsp-2017/letters/kent",
            "/apsp-2017/letters/kent.html",
            "/apsp-2017/letters/durham",
            "/apsp-2017/letters/durham.html",
        )
    ]
    pages.append(client.get("/apsp-2017/letters/nope<script>alert(3)</script>").text)
    for text in pages:
        assert "<script>alert" not in text and "<img src=x" not in text
        assert "&lt;script&gt;alert(" in text


def test_pages_refuse_a_foreign_host_and_carry_a_policy(preview):
    local = TestClient(create_app(preview, allowed_hosts=["127.0.0.1", "localhost"], watching=False), base_url="http://127.0.0.1:8000")
    assert local.get("/").status_code == 200
    assert local.get("/", headers={"host": "attacker.example"}).status_code == 400  # DNS rebinding
    page = local.get("/apsp-2017/letters/kent")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_unknown_letter_is_404_with_a_hint(client):
    response = client.get("/apsp-2017/letters/kentt")
    assert response.status_code == 404
    assert "no letter for force &#39;kentt&#39;; did you mean &#39;kent&#39;?" in response.text


# --- serving -----------------------------------------------------------------------------------


def test_saved_edit_reaches_open_pages_as_an_event(project):
    path = letter_file(project, "cleveland")
    with running(project) as server, httpx2.Client(timeout=10) as http, http.stream("GET", server.url + "events") as stream:
        lines = stream.iter_lines()
        assert next(lines) == "retry: 500"
        assert json.loads(next(lines).removeprefix("data: ")) == {"version": 0, "letters": "all"}
        path.write_text(path.read_text().replace("We were pleased", "We were delighted"))
        event = next(line for line in lines if line.startswith("data: "))
        assert json.loads(event.removeprefix("data: ")) == {"version": 1, "letters": ["apsp-2017/cleveland"]}
        assert "We were delighted" in http.get(server.url + "apsp-2017/letters/cleveland.html").text


def test_loopback_addresses():
    assert all(is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.10", "example.org"))


def test_a_busy_port_is_a_clear_error():
    with listen("127.0.0.1", 0) as taken, pytest.raises(LetterError) as caught:
        listen("127.0.0.1", taken.getsockname()[1])
    assert "cannot listen here: Address already in use; choose another --port or --host" in str(caught.value)


def test_serve_command_warns_when_not_on_loopback(project, monkeypatch):
    from hmicfrs_letters.preview import server as serve

    monkeypatch.setattr(serve, "listen", lambda host, port: listen("127.0.0.1", 0))
    monkeypatch.setattr(serve.Server, "run", lambda self, open_browser=False: None)
    result = CliRunner().invoke(cli, ["--project", str(project), "serve", "--host", "0.0.0.0", "--allow-host", "letters.example.org"])
    assert result.exit_code == 0, result.output
    assert "Warning: listening on 0.0.0.0: anyone who can reach this machine can read the drafts" in result.stderr
    assert "Previewing apsp-2017 at http://0.0.0.0:" in result.stdout
    quiet = CliRunner().invoke(cli, ["--project", str(project), "serve"])
    assert "Warning" not in quiet.stderr


def test_serve_command_runs_until_ctrl_c(project):
    command = [sys.executable, "-m", "hmicfrs_letters", "--project", str(project), "serve", "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert re.fullmatch(r"Previewing apsp-2017 at http://127\.0\.0\.1:\d+/ \(Ctrl\+C to stop\)\n", line)
        with urllib.request.urlopen(line.split()[3], timeout=30) as response:
            assert response.status == 200
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0 and err == ""


def test_serve_command_errors_and_help(project):
    result = CliRunner().invoke(cli, ["--project", str(project), "serve", "--assessment", "apsp-2071"])
    assert result.exit_code == 1
    assert "no assessment 'apsp-2071'; did you mean 'apsp-2017'?" in result.output
    help_text = CliRunner().invoke(cli, ["serve", "--help"]).output
    assert "Example" in help_text and "letters serve --port 8080 --open" in help_text
