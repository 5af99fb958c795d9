"""Who saved a letter and who approves it (issue 19, item 8): each save from the preview records
its `edited: {by, on}`; an assessment with `approval: {second_person: true}` lets no one approve
a letter they saved last, on the command line or on the page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from starlette.testclient import TestClient

from conftest import letter_file
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.validate import read_letter_bytes
from hmicfrs_letters.preview.app import create_app
from hmicfrs_letters.preview.state import Preview
from hmicfrs_letters.workflow.series import Workflow

ORIGIN = "http://testserver"
CUMBRIA = "/apsp-2017/letters/cumbria"
LETTERS = "data/assessments/apsp-2017"


@pytest.fixture
def preview(project) -> Preview:
    return Preview(Project.at(project))


def browser(preview, name: str | None = None, user: str | None = None) -> TestClient:
    """A browser on the preview: one that gave `name` before, on a server started with `--user user`."""
    app = create_app(preview, allowed_hosts=["testserver"], watching=False)
    app.state.user = user
    client = TestClient(app, follow_redirects=False)
    if name:
        client.cookies.set("letters-approver", name.replace(" ", "%20"))
    return client


def hidden(page: str) -> dict[str, str]:
    form = page[page.index('<form id="editor"') :].split("</form>")[0]
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form))


def post(client: TestClient, data: dict):
    return client.post(CUMBRIA, data=data, headers={"origin": ORIGIN})


def save(client: TestClient, findings: str, **extra: str):
    return post(client, {**hidden(client.get(CUMBRIA).text), "action": "save", "field:findings": findings, **extra})


def state_of(project, slug: str):
    with Workflow.load(Project.at(project)) as work:
        return work.state(read_letter_bytes(work.batch, slug, letter_file(project, slug).read_bytes()))


def require_second_person(project) -> None:
    path = project / "data" / "assessments" / "apsp-2017.yaml"
    path.write_text(path.read_text() + "approval:\n  second_person: true\n")


def test_a_save_records_who_saved_the_letter_and_when_and_the_page_says_so(preview, project):
    client = browser(preview, "Sam Writer")
    assert 'value="Sam Writer"' in client.get(CUMBRIA).text.split('id="control-saved-by"')[1].split(">")[0]
    response = save(client, "Plans reviewed in full.")
    assert response.status_code == 303, response.text
    text = letter_file(project, "cumbria").read_text()
    today = dt.date.today()
    assert f"status: draft\nedited:\n  by: Sam Writer\n  on: {today.isoformat()}\n" in text
    page = client.get(CUMBRIA).text
    assert f'<dt>Last saved</dt><dd>by Sam Writer on <time datetime="{today.isoformat()}">' in page
    # The next save, by someone else, replaces the record.
    other = browser(preview)
    response = save(other, "Plans reviewed again.", by="Jo  Other")
    assert response.status_code == 303, response.text
    assert "Jo%20Other" in response.headers["set-cookie"] and "HttpOnly" in response.headers["set-cookie"]
    text = letter_file(project, "cumbria").read_text()
    assert text.count("edited:") == 1 and "  by: Jo Other\n" in text and "Sam Writer" not in text


def test_a_save_from_a_browser_that_gave_no_name_asks_for_it_and_writes_nothing(preview, project):
    client = browser(preview)
    before = letter_file(project, "cumbria").read_bytes()
    page = client.get(CUMBRIA).text
    assert '<input id="control-saved-by" name="by" type="text" autocomplete="name" value=""' in page
    response = save(client, "Typed without a name.")
    assert response.status_code == 422
    assert "Not saved: saving needs your name." in response.text
    assert "Enter your name: the letter records who last saved it." in response.text
    assert ">Typed without a name.</textarea>" in response.text  # nothing typed is lost
    assert letter_file(project, "cumbria").read_bytes() == before


def test_a_server_started_with_a_user_records_that_user_whatever_a_form_says(preview, project):
    client = browser(preview, user="Pat Doe")
    page = client.get(CUMBRIA).text
    assert "Saving as <strong>Pat Doe</strong>." in page and 'id="control-saved-by"' not in page
    response = save(client, "Saved by the server's user.", by="Mallory")
    assert response.status_code == 303 and "set-cookie" not in response.headers
    text = letter_file(project, "cumbria").read_text()
    assert "edited:\n  by: Pat Doe\n" in text and "Mallory" not in text


def test_the_edited_record_is_about_the_letter_not_in_it(letters, project):
    """Like `approved:`: adding or changing it leaves the letter's HTML, its approval and its state as they were."""
    assert letters("approve", "cumbria", "--by", "Jane Smith").exit_code == 0
    path = letter_file(project, "cumbria")
    before = state_of(project, "cumbria")
    text = path.read_text()
    path.write_text(text.replace("status: approved\n", "status: approved\nedited:\n  by: Sam Writer\n  on: 2026-11-30\n"))
    after = state_of(project, "cumbria")
    assert after.item.letter.edited.by == "Sam Writer" and after.item.letter.edited.on == dt.date(2026, 11, 30)
    assert (after.status, after.html, after.approval) == (before.status, before.html, None)
    result = letters("check", "--no-pages")
    assert result.exit_code == 0, result.output
    listed = letters("list", "--json")
    assert '"approved"' in listed.output and '"changed"' not in listed.output
    assert letters("approve", "cumbria", "--by", "Jane Smith").output.startswith(f"{LETTERS}/cumbria.yaml: already approved")


@pytest.mark.parametrize(
    ("record", "line", "said"),
    [
        ("edited: Sam Writer\n", 4, "edited should be a mapping of keys (by, on)"),
        ("edited:\n  by: Sam Writer\n  on: last week\n", 6, "'on' should be a date written as YYYY-MM-DD"),
        ("edited:\n  by: Sam Writer\n  at: 2026-11-30\n", 6, "unknown key 'at'"),
    ],
)
def test_a_bad_edited_record_is_one_line_naming_the_file_and_line(letters, project, record, line, said):
    path = letter_file(project, "cumbria")
    path.write_text(path.read_text().replace("status: draft\n", "status: draft\n" + record))
    result = letters("check", "--no-pages")
    assert result.exit_code != 0
    assert any(said_line.startswith(f"{LETTERS}/cumbria.yaml:{line}: {said}") for said_line in result.output.splitlines()), result.output


def test_second_person_the_cli_refuses_the_last_editor_and_lets_another_approve(letters, preview, project):
    require_second_person(project)
    assert save(browser(preview, "Jane Smith"), "Plans reviewed in full.").status_code == 303
    result = letters("approve", "cumbria", "--by", "jane  SMITH")
    assert result.exit_code != 0
    refusal = [line for line in result.output.splitlines() if "second person" in line or "someone else" in line]
    assert len(refusal) == 1 and refusal[0].startswith(f"Error: {LETTERS}/cumbria.yaml: not approved: Jane Smith saved it last, on "), (
        result.output
    )
    assert "status: draft" in letter_file(project, "cumbria").read_text()
    result = letters("approve", "cumbria", "--by", "Alex Reviewer")
    assert result.exit_code == 0, result.output
    assert "approved:\n  by: Alex Reviewer\n" in letter_file(project, "cumbria").read_text()


def test_second_person_the_page_refuses_the_last_editor_in_plain_words(preview, project):
    require_second_person(project)
    jane = browser(preview, "Jane Smith")
    assert save(jane, "Plans reviewed in full.").status_code == 303
    page = jane.get(CUMBRIA).text
    response = post(jane, {**hidden(page), "action": "approve", "by": "Jane Smith"})
    assert response.status_code == 422
    assert "This letter was last saved by Jane Smith: someone else must approve it." in response.text
    assert "status: draft" in letter_file(project, "cumbria").read_text()
    alex = browser(preview, user="Alex Reviewer")  # a server's user is not the last editor either way
    response = post(alex, {**hidden(alex.get(CUMBRIA).text), "action": "approve", "by": "Jane Smith"})
    assert response.status_code == 303, response.text
    assert "approved:\n  by: Alex Reviewer\n" in letter_file(project, "cumbria").read_text()


def test_without_second_person_the_last_editor_may_approve(preview, project):
    jane = browser(preview, "Jane Smith")
    assert save(jane, "Plans reviewed in full.").status_code == 303
    response = post(jane, {**hidden(jane.get(CUMBRIA).text), "action": "approve", "by": "Jane Smith"})
    assert response.status_code == 303, response.text


def test_a_bad_approval_setting_is_placed(letters, project):
    path = project / "data" / "assessments" / "apsp-2017.yaml"
    path.write_text(path.read_text() + "approval:\n  second_person: sometimes\n")
    result = letters("check", "--no-pages")
    assert result.exit_code != 0
    assert "data/assessments/apsp-2017.yaml:" in result.output and "second_person" in result.output


# --- letters serve --trust-user-header ----------------------------------------------------------


def proxied(preview, header: str = "x-remote-user") -> TestClient:
    """A browser reaching the preview through an authenticating proxy that names who is signed in in `header`."""
    app = create_app(preview, allowed_hosts=["testserver"], watching=False)
    app.state.user_header = header
    return TestClient(app, follow_redirects=False)


def test_behind_a_proxy_the_header_names_who_saves_and_approves_read_only(preview, project):
    client = proxied(preview)
    signed_in = {"X-Remote-User": "Jane Smith"}
    page = client.get(CUMBRIA, headers=signed_in).text
    assert "Saving as <strong>Jane Smith</strong>." in page and "Approving as <strong>Jane Smith</strong>." in page
    assert 'id="control-by"' not in page and 'id="control-saved-by"' not in page
    data = {**hidden(page), "action": "save", "field:findings": "Saved through the proxy.", "by": "Mallory"}
    response = client.post(CUMBRIA, data=data, headers={"origin": ORIGIN, **signed_in})
    assert response.status_code == 303 and "set-cookie" not in response.headers
    text = letter_file(project, "cumbria").read_text()
    assert "edited:\n  by: Jane Smith\n" in text and "Mallory" not in text
    page = client.get(CUMBRIA, headers={"X-Remote-User": "Alex Reviewer"}).text
    data = {**hidden(page), "action": "approve", "by": "Jane Smith"}
    response = client.post(CUMBRIA, data=data, headers={"origin": ORIGIN, "X-Remote-User": "Alex Reviewer"})
    assert response.status_code == 303, response.text
    assert "approved:\n  by: Alex Reviewer\n" in letter_file(project, "cumbria").read_text()


def test_behind_a_proxy_a_request_naming_no_one_changes_nothing(preview, project):
    client = proxied(preview)
    before = letter_file(project, "cumbria").read_bytes()
    page = client.get(CUMBRIA).text
    for action in ("save", "approve"):
        data = {**hidden(page), "action": action, "field:findings": "Anonymous.", "by": "Jane Smith"}
        response = client.post(CUMBRIA, data=data, headers={"origin": ORIGIN})
        assert response.status_code == 403 and "names no one in its x-remote-user header" in response.text
    assert letter_file(project, "cumbria").read_bytes() == before


def test_trust_user_header_is_refused_on_a_public_host_unless_allow_host_names_the_proxy(project, monkeypatch):
    from typer.testing import CliRunner

    from hmicfrs_letters.cli import app as cli
    from hmicfrs_letters.preview import server as serve

    real = serve.listen
    monkeypatch.setattr(serve, "listen", lambda host, port: real("127.0.0.1", 0))
    monkeypatch.setattr(serve.Server, "run", lambda self, open_browser=False: None)
    base = ["--project", str(project), "serve", "--trust-user-header", "X-Remote-User"]
    result = CliRunner().invoke(cli, [*base, "--host", "0.0.0.0"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [
        "Error: --trust-user-header X-Remote-User: other machines can reach --host 0.0.0.0 and could send the header themselves: "
        "name the proxy with --allow-host NAME"
    ]
    assert CliRunner().invoke(cli, [*base, "--host", "0.0.0.0", "--allow-host", "proxy.example.org"]).exit_code == 0
    assert CliRunner().invoke(cli, [*base, "--user", "Pat Doe"]).exit_code == 2
    assert CliRunner().invoke(cli, [*base[:-1], "X Remote User"]).exit_code == 2
