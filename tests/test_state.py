"""One rule set for a letter's state (core.state): every face of the engine says the same of a letter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from conftest import SOME_LETTERS, letter_file
from editing import edit
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.state import Status, assess
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.validate import load_batch
from hmicfrs_letters.preview.app import create_app
from hmicfrs_letters.preview.state import Preview
from textutil import pdf_text

OUT = Path("output") / "apsp-2017"
REWORDED = ("We were pleased", "We are pleased")  # one word of Cleveland's approved findings


def set_page_limit(project: Path, limit: int) -> None:
    path = project / "data" / "assessments" / "apsp-2017.yaml"
    text = path.read_text()
    path.write_text(text.replace(next(line for line in text.splitlines() if line.startswith("page_limit:")), f"page_limit: {limit}"))


@pytest.fixture
def reworded(project: Path) -> Path:
    edit(letter_file(project, "cleveland"), *REWORDED)
    return project


def test_the_rules_judge_each_status(project):
    edit(letter_file(project, "cleveland"), *REWORDED)
    edit(letter_file(project, "kent"), "status: draft", "status: approved")  # by hand, with no record
    letter_file(project, "sussex").write_text("status: [")
    batch = load_batch(Project.at(project))
    templates = Templates(project / "templates")
    states = {item.slug: assess(templates, batch.assessment, item) for item in batch.letters}
    assert states["north-yorkshire"].status is Status.APPROVED and states["north-yorkshire"].issuable
    assert states["cumbria"].status is Status.DRAFT and not states["cumbria"].issuable
    assert states["cleveland"].status is Status.CHANGED and not states["cleveland"].failed
    assert states["cleveland"].approval.message.startswith("changed since it was approved by HMICFRS")
    assert states["kent"].status is Status.CHANGED and "without an approval record" in states["kent"].approval.message
    assert states["sussex"].status is Status.INVALID and states["sussex"].html is None
    # The letter says so itself; the approved one carries no mark.
    assert "Changed since approval: not approved." in states["cleveland"].html
    assert "not approved" not in states["north-yorkshire"].html.lower()


def test_a_letter_changed_since_approval_is_changed_in_every_command(reworded, letters):
    project = reworded
    built = letters("build", "-r", "cleveland")
    assert built.exit_code == 0, built.output
    assert "Built 1 letter (0 drafts, 1 changed since approval, 1 PDF rendered)" in built.output
    assert "NOT APPROVED" in pdf_text(project / OUT / "pdf" / "cleveland.pdf")  # the PDF is marked
    index = " ".join((project / OUT / "index.html").read_text().split())
    assert f"1 approved, 1 changed since approval (not approved), {len(SOME_LETTERS) - 2} draft." in index
    assert '<tr class="status-changed" role="row"> <th scope="row" role="rowheader">Cleveland Police</th>' in index
    manifest = json.loads((project / OUT / "manifest.json").read_text())
    assert manifest["letters"]["cleveland"]["status"] == "changed"

    table = letters("list")
    assert [line.split() for line in table.output.splitlines() if line.startswith("cleveland")] == [
        ["cleveland", "implementation-started", "changed", "1"]
    ]
    listed = json.loads(letters("list", "--json").stdout)
    (entry,) = [entry for entry in listed["letters"] if entry["slug"] == "cleveland"]
    assert (entry["status"], entry["errors"]) == ("changed", 1)

    check = letters("check", "--no-pages")
    assert check.exit_code == 1 and "cleveland.yaml:3: changed since it was approved by HMICFRS" in check.output
    final = letters("build", "--final", "-r", "cleveland")
    assert final.exit_code == 1 and "cleveland (changed since it was approved by HMICFRS" in final.output

    preview = Preview(Project.at(project))
    client = TestClient(create_app(preview, allowed_hosts=["testserver"], watching=False))
    changed_rows = client.get("/apsp-2017/", params={"status": "changed"}).text
    assert "Cleveland Police" in changed_rows and "North Yorkshire Police" not in changed_rows
    page = client.get("/apsp-2017/letters/cleveland").text
    assert "<dt>Status</dt><dd>Changed since approval: not approved</dd>" in page
    assert "Changed since approval: not approved." in client.get("/apsp-2017/letters/cleveland.html").text
    preview.close()


def test_a_letter_over_its_page_limit_is_an_error_in_the_preview_as_in_check(project, letters):
    set_page_limit(project, 1)
    check = letters("check")
    over = "Kent Police: the letter has 2 pages, over the limit of 1"
    assert check.exit_code == 1 and any(over in line for line in check.output.splitlines() if "kent.yaml" in line)
    preview = Preview(Project.at(project))
    client = TestClient(create_app(preview, allowed_hosts=["testserver"], watching=False))
    page = client.get("/apsp-2017/letters/kent").text
    assert over in page
    views = {view.slug: view for view in preview.get("apsp-2017").all_views()}
    assert any(over in p.message for p in views["kent"].errors)  # the index counts it among the errors too
    preview.close()
