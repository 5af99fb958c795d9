"""Hostile input: nothing in the YAML runs, executes in a page, reads a file or reaches a server."""

from __future__ import annotations

import dataclasses
import http.server
import os
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from conftest import letter_file
from hmicfrs_letters.core import findings
from hmicfrs_letters.core.errors import LetterError
from hmicfrs_letters.core.load import MAX_NODES, parse_yaml
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.validate import load_batch

KENT = "data/assessments/apsp-2017/kent.yaml"


@pytest.fixture
def listener():
    """A local HTTP server that counts every request it receives."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()


class _Markup(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.extend(attrs)


def assert_only_allowed_markup(html: str) -> None:
    """The real tags and attributes of this HTML (not text that looks like them) are on the allow-list."""
    parser = _Markup()
    parser.feed(html)
    assert parser.tags <= findings.ALLOWED_TAGS, parser.tags
    for name, value in parser.attributes:
        assert name in {"href", "rel"}, name
        if name == "href":
            assert urlsplit(value).scheme in {"", *findings.ALLOWED_SCHEMES}, value


def hostile_findings(base: str, secret: Path) -> str:
    return "\n\n".join(
        [
            "<script>alert(1)</script><img src=x onerror=alert(2)>",
            '<a href="javascript:alert(3)" onclick="alert(4)">click</a> [link](javascript:alert(5)) <javascript:alert(6)>',
            f'<iframe src="{base}/frame"></iframe>',
            f'<link rel="attachment" href="{secret.as_uri()}"> <link rel="stylesheet" href="{base}/style.css">',
            f'<div style="background: url({base}/bg.png)">styled</div> <style>body {{ background: url({base}/css.png) }}</style>',
            f"<img src='{base}/img.png'> <object data='{base}/obj'></object> <svg><image href='{base}/svg.png'/></svg>",
            f"[a link is not fetched]({base}/link) and **strong** text.",
        ]
    )


def test_hostile_findings_neither_execute_nor_fetch(letters, project, listener, tmp_path):
    base, requests = listener
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    path = letter_file(project, "kent")
    path.write_text(yaml.safe_dump({"outcome": "all-in-place", "status": "draft", "findings": hostile_findings(base, secret)}))

    result = letters("build", "--force", "kent", "--jobs", "1")
    assert result.exit_code == 0, result.output

    html = (project / "output" / "apsp-2017" / "html" / "kent.html").read_text()
    section = html[html.index('<section class="findings"') : html.index("</section>")]
    assert_only_allowed_markup(section.removeprefix('<section class="findings" aria-label="Findings">'))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section  # shown as the text that was typed
    assert f'<a href="{base}/link"' in section and "<strong>strong</strong>" in section

    pdf_path = project / "output" / "apsp-2017" / "pdf" / "kent.pdf"
    reader = PdfReader(pdf_path)
    assert "/Names" not in reader.trailer["/Root"] and b"/EmbeddedFile" not in pdf_path.read_bytes()
    for page in reader.pages:
        xobjects = page["/Resources"].get("/XObject", {})
        assert not [x for x in xobjects.values() if x.get_object().get("/Subtype") == "/Image"]
    assert b"TOP SECRET" not in pdf_path.read_bytes()
    time.sleep(0.2)
    assert requests == []


def test_markdown_image_of_a_local_file_is_refused(letters, project, listener):
    base, requests = listener
    letter_file(project, "kent").write_text(
        f"outcome: all-in-place\nstatus: draft\nfindings: '![x](file:///etc/passwd) ![y]({base}/y.png)'\n"
    )
    result = letters("build", "--force", "kent", "--jobs", "1")
    assert result.exit_code == 1
    assert f"Error: {KENT}:3: 'findings' may not contain images" in result.output
    assert requests == []


@pytest.mark.parametrize(
    "text",
    [
        "!!python/object/apply:os.system ['touch {marker}']",
        "!!python/object/new:subprocess.Popen [['touch', '{marker}']]",
        "!!python/name:os.system",
    ],
)
def test_yaml_tags_that_run_code_are_rejected(letters, project, tmp_path, text):
    marker = tmp_path / "ran"
    letter_file(project, "kent").write_text(f"outcome: pending\nstatus: draft\nfindings: {text.format(marker=marker)}\n")
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    assert f"{KENT}:3: the YAML tag '!!python/" in result.output
    assert not marker.exists()


def test_alias_bomb_is_refused_quickly(letters, project):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    lines.append("findings: *i")
    letter_file(project, "kent").write_text("\n".join(lines) + "\n")
    result = letters("check", "--no-pages")  # the billion values it names would not fit in memory
    assert result.exit_code == 1
    assert f"{KENT}: document is too large once its aliases are expanded (over {MAX_NODES:,} values)" in result.output


def test_a_20_mb_findings_value_is_refused_before_it_is_read(letters, project):
    letter_file(project, "kent").write_text("outcome: pending\nstatus: draft\nfindings: '" + "x" * 20_000_000 + "'\n")
    result = letters("build", "--force", "kent")
    assert result.exit_code == 1
    assert f"Error: {KENT}: file is too large (20,000,044 bytes; the limit is 1,000,000)" in result.output


def test_an_overlong_findings_paragraph_is_an_error(letters, project):
    letter_file(project, "kent").write_text("outcome: pending\nstatus: draft\nfindings: '" + "word " * 5000 + "'\n")
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    assert f"{KENT}:3: 'findings' is 25,000 characters long; the limit is 20,000" in result.output


@pytest.mark.parametrize("slug", ["../kent", "/etc/passwd", "kent\x00", "kent/../../x", "ｋｅｎｔ", "kent\u202e"])
def test_force_option_never_reaches_outside(letters, project, slug):
    result = letters("build", "--force", slug)
    assert result.exit_code == 1
    assert "no letter for force" in result.output
    assert not (project / "output" / "apsp-2017" / "pdf").exists()


@pytest.mark.parametrize("name", ["Kent", "kent..x", "ｋｅｎｔ", "kent\u202e", "-kent"])
def test_odd_letter_file_names_are_refused(letters, project, name):
    (letter_file(project, "kent").parent / f"{name}.yaml").write_text("outcome: pending\nstatus: draft\nfindings: ''\n")
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    assert "a letter file is named by its id (its force's slug" in result.output


def test_slugs_in_forces_yaml_cannot_name_paths(letters, project):
    forces = project / "data" / "recipients" / "police-forces.yaml"
    forces.write_text(forces.read_text().replace("slug: kent\n", "slug: ../../kent\n"))
    result = letters("build")
    assert result.exit_code == 1
    assert "slug '../../kent' may hold only lower-case letters, digits and single hyphens" in result.output


def test_letter_file_linking_outside_the_project_is_refused(letters, project, tmp_path):
    outside = tmp_path / "outside.yaml"
    outside.write_text("outcome: pending\nstatus: draft\nfindings: 'from outside'\n")
    path = letter_file(project, "kent")
    path.unlink()
    os.symlink(outside, path)
    result = letters("build", "--force", "kent")
    assert result.exit_code == 1
    assert f"Error: {KENT}: links to a file outside data/; the engine reads only files that are in it" in result.output


# --- property-based: any document, any findings: a letter or one of our own errors ----------

yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40), st.dates())
yaml_values = st.recursive(
    yaml_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12
)
letter_keys = st.sampled_from(["outcome", "status", "findings", "recipient_name", "copied_to_name", "outcom", "x"])
letter_docs = st.dictionaries(letter_keys, yaml_values | st.sampled_from(["pending", "draft", "approved", "all-in-place", ""]), max_size=6)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)  # each example checks a letter: 0.1 s
@given(doc=st.one_of(letter_docs, yaml_values))
def test_any_yaml_document_gives_a_letter_or_our_own_errors(project, doc):
    letter_file(project, "kent").write_text(yaml.safe_dump(doc, allow_unicode=True))
    from hmicfrs_letters.workflow.series import Workflow

    batch = load_batch(Project.at(project))
    (kent,) = batch.select(["kent"])
    # The check of this one letter, up to its HTML: the other 42 are the fixture's, and a PDF is made from escaped HTML.
    problems = Workflow(dataclasses.replace(batch, letters=[kent])).check(pages=False)
    if kent.letter is None:
        assert kent.errors and all(p.path == KENT for p in kent.errors)
    assert all(str(p) for p in problems)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40).map(lambda t: t.replace("\x00", "")))
def test_any_text_as_yaml_parses_or_is_our_error(text):
    try:
        parse_yaml(text, "x.yaml")
    except LetterError as exc:
        assert all(str(p).startswith("x.yaml") for p in exc.problems)


markdownish = st.lists(
    st.sampled_from([*"ab <>/='\"&*_[]()!#-`:\n", "script", "img", "javascript:", "{{", "}}", "http://", "onerror", "<a href="]),
    max_size=30,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(markdownish, max_size=6).map("".join))
def test_any_findings_text_yields_only_allowed_markup(text):
    assert_only_allowed_markup(str(findings.convert(text).html))


# --- every value parsed or refused at its line -------------------------------------------------------------

FORCES = "data/recipients/police-forces.yaml"
APSP = "data/assessments/apsp-2017.yaml"
# A value of each kind YAML builds and can fail to: (what is written, what the message says).
UNBUILDABLE = [
    ("2017-02-30", "'2017-02-30' is not a date (or time) that exists"),
    ("2017-10-02 25:61:00", "'2017-10-02 25:61:00' is not a date (or time) that exists"),
    ("9" * 5000, "a number 5,000 characters long"),
    ("0x" + "f" * 200, "a number 202 characters long"),
    ("!!binary aGVsbG8=", "the YAML tag '!!binary' is not allowed"),
    ("!!set {a}", "the YAML tag '!!set' is not allowed"),
    ("!custom x", "the YAML tag '!custom' is not allowed"),
]


@pytest.mark.parametrize(("value", "said"), UNBUILDABLE)
def test_a_value_yaml_cannot_build_in_a_letter_is_one_placed_line_and_the_others_build(letters, project, value, said):
    letter_file(project, "kent").write_text(f"outcome: pending\nstatus: draft\nfindings: {value}\n")
    result = letters("check", "--no-pages")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert [line for line in result.output.splitlines() if KENT in line] == [f"{KENT}:3: {line_of(result.output, KENT)}"]
    assert said in result.output
    result = letters("build", "--format", "html")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert (project / "output" / "apsp-2017" / "html" / "cleveland.html").is_file()
    assert not (project / "output" / "apsp-2017" / "html" / "kent.html").exists()


def line_of(output: str, path: str) -> str:
    """The message of the one line of the output that names this file, without its place."""
    (line,) = [line for line in output.splitlines() if path in line]
    return line.split(": ", 1)[1]


@pytest.mark.parametrize(
    ("path", "old", "line"),
    [
        (APSP, "date: 2017-10-02", 4),
        (FORCES, "nation: England\n  - slug: cheshire", 14),
    ],
)
def test_an_impossible_date_in_a_shared_file_is_one_line_naming_it(letters, project, path, old, line):
    file = project / path
    text = file.read_text()
    assert text.count(old) == 1
    file.write_text(text.replace(old, old.replace("2017-10-02", "2017-02-30").replace("nation: England", "nation: 2017-02-30")))
    for command in (["check", "--no-pages"], ["list"], ["build", "--format", "html"]):
        result = letters(*command)
        assert result.exit_code == 1 and "Traceback" not in result.output, command
        assert f"{path}:{line}: '2017-02-30' is not a date (or time) that exists" in result.output, command


def test_a_status_given_through_a_merge_key_is_refused_at_its_line(letters, project):
    letter_file(project, "kent").write_text("base: &base {status: draft}\n<<: *base\noutcome: pending\nfindings: Text.\n")
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    assert f"{KENT}:2: a merge key ('<<:') is not allowed" in result.output
    result = letters("approve", "kent", "--by", "Jane Smith")
    assert result.exit_code == 1 and "Traceback" not in result.output and "KeyError" not in result.output
    assert f"{KENT}: not approved: a merge key ('<<:') is not allowed" in result.output


def test_the_preview_keeps_serving_and_shows_a_bad_date_on_its_letter(project):
    from starlette.testclient import TestClient

    from hmicfrs_letters.preview.app import create_app
    from hmicfrs_letters.preview.state import Preview

    letter_file(project, "kent").write_text("outcome: pending\nstatus: draft\nfindings: 2017-02-30\n")
    client = TestClient(create_app(Preview(Project.at(project)), allowed_hosts=["testserver"], watching=False))
    index = client.get("/apsp-2017/")
    assert index.status_code == 200
    page = client.get("/apsp-2017/letters/kent")
    assert "2017-02-30&#39; is not a date (or time) that exists" in page.text or "2017-02-30' is not a date" in page.text
    assert client.get("/apsp-2017/letters/cleveland").status_code == 200


# --- every write read back -----------------------------------------------------------------------------------


def test_a_flow_style_letter_approved_stays_valid_and_approved(letters, project):
    path = letter_file(project, "cleveland")
    data = yaml.safe_load(path.read_text())
    del data["approved"]
    data["status"] = "draft"
    path.write_text(yaml.safe_dump(data, default_flow_style=True, width=10**6))
    assert path.read_text().startswith("{")
    result = letters("approve", "cleveland", "--by", "Jane Smith")
    assert result.exit_code == 0, result.output
    approved = yaml.safe_load(path.read_text())
    assert approved["status"] == "approved" and approved["approved"]["by"] == "Jane Smith"
    assert approved["findings"] == data["findings"] and approved["outcome"] == data["outcome"]
    copy = project / "data" / "assessments" / "apsp-2017" / ".approved" / "cleveland.yaml"
    assert yaml.safe_load(copy.read_text()) == approved
    result = letters("list", "--json")
    assert result.exit_code == 0
    assert '"status": "approved"' in result.output.split('"cleveland"', 1)[1].split("}", 1)[0]


def test_control_characters_in_the_approvers_name_are_refused_and_nothing_is_written(letters, project):
    before = letter_file(project, "cleveland").read_bytes()
    for name in ("Jane\x1b[31m Smith", "Jane\nSmith", "Jane\u2028Smith"):
        result = letters("approve", "cleveland", "--by", name)
        assert result.exit_code == 1 and "\x1b" not in result.output
        assert "the approver's name: holds U+" in result.output
    assert letter_file(project, "cleveland").read_bytes() == before


# --- the build never follows a link out of output/ ----------------------------------------------------------


@pytest.mark.parametrize("linked", ["apsp-2017", "apsp-2017/pdf", "apsp-2017/html"])
def test_a_symlinked_output_folder_leaves_the_outside_untouched(letters, project, tmp_path, linked):
    outside = tmp_path / "outside"
    outside.mkdir()
    for name in ("precious.pdf", "precious.html", "kent.pdf"):
        (outside / name).write_text("not the engine's")
    before = {path.name: path.read_bytes() for path in outside.iterdir()}
    link = project / "output" / linked
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside, target_is_directory=True)
    for command in (["build", "-f", "kent"], ["build", "--format", "html"]):
        result = letters(*command)
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert f"Error: output/{linked}: is a symbolic link: the build writes and removes files only in real folders" in result.output
        assert {path.name: path.read_bytes() for path in outside.iterdir()} == before


# --- limits before work ------------------------------------------------------------------------------------


def test_a_letter_far_over_the_page_limit_is_not_laid_out(letters, project):
    from hmicfrs_letters.workflow.series import Workflow

    letter_file(project, "kent").write_text("outcome: pending\nstatus: draft\nfindings: |\n" + "  x\n\n" * 6600)  # 229 pages laid out
    with Workflow.load(Project.at(project), chosen=["kent"]) as work:
        (state,) = work.with_pages(work.states())
        assert work._service is None  # no worker started: nothing laid out
    assert state.pages is None
    assert "Kent Police: far over the page limit of 2: its 6,6" in " ".join(p.message for p in state.errors)
    result = letters("check")
    assert result.exit_code == 1
    assert f"{KENT}: Kent Police: far over the page limit of 2" in result.output


# --- the approval covers the letter's structure --------------------------------------------------------------

STRUCTURED = "Your plans were **thorough**.\n\n## What we found\n\nThey covered:\n\n- a review of the unit;\n- new monitoring.\n"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("**thorough**", "thorough"),  # bold taken off
        ("- a review of the unit;\n- new monitoring.", "a review of the unit;\n\nnew monitoring."),  # a list made paragraphs
        ("## What we found", "### What we found"),  # a heading demoted
    ],
)
def test_a_change_of_structure_alone_voids_an_approval(letters, project, old, new):
    path = letter_file(project, "cumbria")
    findings = "".join(f"  {line}\n" if line else "\n" for line in STRUCTURED.splitlines())
    path.write_text(f"outcome: plans-not-commenced\nstatus: draft\nfindings: |\n{findings}")
    result = letters("approve", "cumbria", "--by", "Jane Smith")
    assert result.exit_code == 0, result.output
    assert _status(letters, "cumbria") == "approved"
    approved = path.read_text()
    edited = approved.replace(old.replace("\n", "\n  "), new.replace("\n", "\n  "))
    assert edited != approved
    path.write_text(edited)
    assert _status(letters, "cumbria") == "changed"


def _status(letters, slug: str) -> str:
    import json

    result = letters("list", "--json")
    rows = [row for row in json.loads(result.output)["letters"] if row["slug"] == slug]
    return rows[0]["status"]
