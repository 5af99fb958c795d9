"""From draft to issued letter: `letters new`, `letters approve` and `letters build --final`, with their refusals."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import letter_file
from editing import edit
from hmicfrs_letters.cli import app
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.validate import load_batch
from textutil import pdf_text

LETTERS = "data/assessments/apsp-2017"
OUTCOMES = "insufficient-information, plans-not-commenced, implementation-started, all-in-place"


def read_letter(project: Path, slug: str):
    item = next(i for i in load_batch(Project.at(project)).letters if i.slug == slug)
    assert item.errors == []
    return item.letter


# --- letters new -----------------------------------------------------------------------------


def test_new_writes_a_draft_with_the_outcomes_standard_findings(letters, project):
    letter_file(project, "kent").unlink()
    result = letters("new", "--force", "kent", "--outcome", "plans-not-commenced")
    assert result.exit_code == 0, result.output
    assert f"Wrote {LETTERS}/kent.yaml (draft)" in result.output
    letter = read_letter(project, "kent")
    standard = load_batch(Project.at(project)).assessment.category("plans-not-commenced").standard_findings
    assert (letter.outcome, letter.status) == ("plans-not-commenced", "draft")
    assert letter.text("findings").split() == standard.split()  # wrapped for an editor; Markdown reads the breaks as spaces
    text = letter_file(project, "kent").read_text()
    assert text.startswith("# Kent Police. Started by `letters new`")
    assert "\nfindings: |\n" in text  # a literal block: what is typed is what is read
    assert max(len(line) for line in text.splitlines()) <= 100  # wrapped for an editor


def test_new_without_outcome_is_pending_with_a_placeholder(letters, project):
    letter_file(project, "kent").unlink()
    assert letters("new", "--force", "kent").exit_code == 0
    letter = read_letter(project, "kent")
    assert (letter.outcome, letter.status, letter.text("findings")) == ("pending", "draft", "")
    result = letters("check", "--no-pages")
    assert result.exit_code == 0
    assert f"{LETTERS}/kent.yaml:5: warning: outcome pending" in result.output


def test_new_takes_over_a_placeholder_with_no_findings(letters, project):
    assert read_letter(project, "kent").text("findings") == ""  # as shipped: pending, no findings
    result = letters("new", "--force", "kent", "--outcome", "all-in-place")
    assert result.exit_code == 0, result.output
    assert read_letter(project, "kent").outcome == "all-in-place"


def test_new_refuses_a_letter_whose_findings_are_written_unless_restarted(letters, project):
    before = letter_file(project, "cleveland").read_bytes()
    result = letters("new", "--force", "cleveland", "--outcome", "all-in-place")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {LETTERS}/cleveland.yaml: already has 'findings' written; edit it, or start again with `letters new --restart`, which replaces it\n"
    )
    assert letter_file(project, "cleveland").read_bytes() == before
    result = letters("new", "--force", "cleveland", "--outcome", "all-in-place", "--restart")
    assert result.exit_code == 0, result.output
    letter = read_letter(project, "cleveland")
    assert (letter.outcome, letter.status) == ("all-in-place", "draft")


def test_paragraphs_and_a_list_survive_new_edit_and_build(letters, project):
    assert letters("new", "--force", "kent", "--outcome", "plans-not-commenced").exit_code == 0
    path = letter_file(project, "kent")
    text = path.read_text().rstrip("\n")
    path.write_text(text + "\n\n  We noted three points:\n\n  - the unit's capacity;\n  - its IT monitoring;\n  - its partners.\n")
    result = letters("build", "--force", "kent", "--format", "html")
    assert result.exit_code == 0, result.output
    html = (project / "output" / "apsp-2017" / "html" / "kent.html").read_text()
    findings = html[html.index('<section class="findings"') : html.index("</section>")]
    assert findings.count("<p>") == 2 and findings.count("<ul>") == 1 and findings.count("<li>") == 3
    assert "folded block" not in letters("check", "--no-pages").output


def test_a_folded_block_with_paragraphs_or_a_list_is_a_warning_naming_the_line(letters, project):
    path = letter_file(project, "cumbria")
    path.write_text(path.read_text().rstrip("\n") + "\n\n  A second paragraph, run into the first.\n")
    result = letters("check", "--no-pages")
    assert result.exit_code == 0
    line = path.read_text().splitlines().index("") + 1
    assert (
        f"{LETTERS}/cumbria.yaml:{line}: warning: 'findings' is a folded block (>), so its paragraphs and list items run together "
        "as one paragraph; write it as a literal block ('findings: |') to keep them"
    ) in result.output.splitlines()


def test_new_refuses_an_unknown_force_or_outcome(letters, project):
    result = letters("new", "--force", "kentt")
    assert result.exit_code == 1
    assert result.output == "Error: data/recipients/police-forces.yaml: no force 'kentt'; did you mean 'kent'?\n"
    letter_file(project, "kent").unlink()
    result = letters("new", "--force", "kent", "--outcome", "all-in-plac")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: data/assessments/apsp-2017.yaml: unknown outcome 'all-in-plac'; did you mean 'all-in-place'?; expected one of: {OUTCOMES}\n"
    )
    assert not letter_file(project, "kent").exists()


# --- letters approve -------------------------------------------------------------------------


def test_approve_writes_the_status_and_an_approval_record_and_nothing_else(letters, project):
    path = letter_file(project, "cumbria")
    before = path.read_text().splitlines()
    result = letters("approve", "cumbria")
    assert result.exit_code == 0, result.output
    today = dt.date.today().isoformat()
    assert f"{LETTERS}/cumbria.yaml: approved by Test Approver on {today}" in result.output  # git's user.name by default
    after = path.read_text().splitlines()
    status = before.index("status: draft")
    assert after[:status] == before[:status] and after[status + 5 :] == before[status + 1 :]  # comments, order and wrapping kept
    assert after[status : status + 4] == ["status: approved", "approved:", "  by: Test Approver", f"  on: {today}"]
    assert re.fullmatch(r"  sha256: [0-9a-f]{64}", after[status + 4])
    record = read_letter(project, "cumbria").approved
    assert (record.by, record.on) == ("Test Approver", dt.date.today())
    assert letters("approve", "cumbria").output.startswith(f"{LETTERS}/cumbria.yaml: already approved by Test Approver on {today}")
    assert letters("check", "--no-pages").exit_code == 0


def test_approve_by_names_the_approver_and_without_a_name_refuses(letters, project, monkeypatch):
    result = letters("approve", "cumbria", "--by", "Zoë Billingham: HMI")
    assert result.exit_code == 0, result.output
    assert read_letter(project, "cumbria").approved.by == "Zoë Billingham: HMI"
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    result = letters("approve", "durham")
    assert result.exit_code == 1
    assert result.output == f"Error: {LETTERS}: who approves? give --by NAME (git has no user.name here)\n"
    assert read_letter(project, "durham").status == "draft"


def test_a_change_after_approval_fails_check_final_and_is_approved_again(letters, project):
    assert letters("approve", "cumbria", "--by", "Jane Smith").exit_code == 0
    today = dt.date.today().isoformat()
    edit(letter_file(project, "cumbria"), "Your plans submitted", "Your plan submitted")  # one word
    changed = f"{LETTERS}/cumbria.yaml:3: changed since it was approved by Jane Smith on {today}: approve it again or set it back to draft"
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    assert changed in result.output.splitlines()
    final = letters("build", "--final", "--force", "cumbria")
    assert final.exit_code == 1
    assert f"1 letter is not approved: cumbria (changed since it was approved by Jane Smith on {today})" in final.output
    assert not (project / "output" / "apsp-2017" / "final").exists()
    again = letters("approve", "cumbria", "--by", "Ann Other")
    assert again.exit_code == 0, again.output
    assert f"approved again by Ann Other on {today} (it had changed since it was approved by Jane Smith on {today})" in again.output
    assert letters("check", "--no-pages").exit_code == 0


def test_a_status_approved_set_by_hand_is_an_error(letters, project):
    edit(letter_file(project, "cumbria"), "status: draft", "status: approved")
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    assert (
        f"{LETTERS}/cumbria.yaml:3: 'status: approved' without an approval record; approve it with `letters approve cumbria`, "
        "or set it back to draft"
    ) in result.output.splitlines()
    final = letters("build", "--final", "--force", "cumbria")
    assert "1 letter is not approved: cumbria (no approval record)" in final.output
    # A record copied from another letter does not match this one either.
    cleveland = letter_file(project, "cleveland").read_text()
    record = cleveland[cleveland.index("approved:") : cleveland.index("findings:")]
    edit(letter_file(project, "cumbria"), "status: approved\n", "status: approved\n" + record)
    assert "cumbria.yaml:3: changed since it was approved by HMICFRS" in letters("check", "--no-pages").output


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("national strategy", "[national strategy](https://example.org/a)"),  # then its target changes, below
        ("outcome: plans-not-commenced", "outcome: plans-not-commenced\nrecipient_name: Michelle Skeer QPM"),  # the addressee
        ("the National Police Chiefs' Council", "the National Police Chiefs’ Council"),  # a curly quote
    ],
)
def test_the_approval_covers_addressees_links_and_quotes(letters, project, old, new):
    path = letter_file(project, "cumbria")
    if "https" in new:
        edit(path, old, new)
        old, new = "https://example.org/a", "https://example.org/b"
    assert letters("approve", "cumbria").exit_code == 0
    edit(path, old, new)
    assert re.search(r"cumbria.yaml:\d+: changed since it was approved", letters("check", "--no-pages").output)


def test_approve_keeps_the_files_mode_line_endings_bom_and_markers(letters, project):
    path = letter_file(project, "cumbria")
    text = path.read_text()
    path.write_bytes(("\ufeff---\n" + text + "...\n").replace("\n", "\r\n").encode("utf-8"))
    path.chmod(0o640)
    before = path.read_bytes()
    assert letters("approve", "cumbria").exit_code == 0
    after = path.read_bytes()
    assert after.startswith(b"\xef\xbb\xbf---\r\n") and after.endswith(b"\r\n...\r\n") and b"\n" not in after.replace(b"\r\n", b"")
    assert (
        after.replace(b"status: approved\r\napproved:", b"status: draft\r\nX").split(b"X")[0]
        == before.split(b"status: draft")[0] + b"status: draft\r\n"
    )
    assert oct(path.stat().st_mode & 0o777) == "0o640"
    assert read_letter(project, "cumbria").approved is not None
    assert letters("check", "--no-pages").exit_code == 0


def test_approve_says_why_per_letter(letters, project):
    kent = letter_file(project, "kent").read_bytes()
    result = letters("approve", "cumbria", "kent")
    assert result.exit_code == 1
    assert f"{LETTERS}/cumbria.yaml: approved" in result.output
    assert (
        f"Error: {LETTERS}/kent.yaml: not approved: the outcome is pending; set 'outcome' to one of: {OUTCOMES}; "
        "'findings' is not written\n"
    ) in result.output
    assert "1 approved, 1 refused" in result.output
    assert letter_file(project, "kent").read_bytes() == kent
    assert read_letter(project, "cumbria").status == "approved"


def test_approve_refuses_a_placeholder(letters, project):
    edit(letter_file(project, "cumbria"), "Your plans submitted", "Your plans submitted on [date] TODO")
    result = letters("approve", "cumbria")
    assert result.exit_code == 1
    assert f"Error: {LETTERS}/cumbria.yaml: not approved: 'findings' holds a placeholder: '[date]', 'TODO'" in result.output
    assert read_letter(project, "cumbria").status == "draft"


def test_check_warns_of_a_drafts_placeholders_and_strict_makes_them_errors(letters, project):
    edit(letter_file(project, "cumbria"), "Your plans submitted", "Your plans submitted on [date] TODO")
    warning = (
        f"{LETTERS}/cumbria.yaml:4: warning: 'findings' holds a placeholder: '[date]', 'TODO'; "
        "`letters approve` refuses the letter until it is replaced"
    )
    result = letters("check", "--no-pages")
    assert result.exit_code == 0
    assert warning in result.output.splitlines()
    strict = letters("check", "--no-pages", "--strict")
    assert strict.exit_code == 1
    assert warning in strict.output.splitlines()


def test_a_markdown_link_is_not_a_placeholder(letters, project):
    edit(letter_file(project, "cumbria"), "national strategy", "[national strategy](https://www.npcc.police.uk/)")
    assert letters("approve", "cumbria").exit_code == 0


def test_approve_refuses_a_letter_over_the_page_limit(letters, project):
    edit(project / "data" / "assessments" / "apsp-2017.yaml", "page_limit: 2", "page_limit: 1")
    result = letters("approve", "cumbria")
    assert result.exit_code == 1
    assert (
        f"Error: {LETTERS}/cumbria.yaml: not approved: Cumbria Constabulary: the letter has 2 pages, over the limit of 1 (" in result.output
    )


def test_approve_refuses_while_the_wording_is_not_approved(letters, project):
    edit(project / "templates" / "apsp-2017" / "letter.html.j2", "In December 2016, we", "In December 2016 we")
    result = letters("approve", "cumbria")
    assert result.exit_code == 1
    assert "not approved: the fixed wording is not the approved wording (see `letters check`)" in result.output


def test_an_approved_letter_with_a_placeholder_fails_the_check(letters, project):
    edit(letter_file(project, "cleveland"), "We were pleased", "We were [very] pleased")
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    assert (
        f"{LETTERS}/cleveland.yaml:8: approved, but 'findings' holds a placeholder: '[very]'; fix it or set 'status: draft'"
        in result.output
    )


# --- letters build --final -------------------------------------------------------------------


@pytest.mark.empty_cache
def test_final_build_refuses_drafts_and_pending_listing_them(letters, project):
    result = letters("build", "--final", "--force", "cleveland", "--force", "cumbria", "--force", "kent")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {LETTERS}: final build refused: 2 letters are not approved: cumbria (draft), kent (draft, pending); "
        "approve them with `letters approve SLUG...`, or build without --final\n"
    )
    assert not (project / "output").exists()


def test_final_build_refuses_when_the_wording_changed(letters, project):
    edit(project / "templates" / "base" / "letter.html.j2", "Yours sincerely", "Yours, sincerely")
    result = letters("build", "--final", "--force", "cleveland")
    assert result.exit_code == 1
    assert "data/assessments/apsp-2017.yaml:13: final build refused: the fixed wording is not the approved wording" in result.output


def test_from_new_to_a_verified_final_build(letters, project):
    letter_file(project, "kent").unlink()
    assert letters("new", "--force", "kent", "--outcome", "implementation-started").exit_code == 0
    assert letters("approve", "kent").exit_code == 0
    result = letters("build", "--final", "-j", "1", "--force", "kent", "--force", "cleveland")
    assert result.exit_code == 0, result.output
    out = project / "output" / "apsp-2017" / "final"
    for slug in ("kent", "cleveland"):
        assert 'class="watermark"' not in (out / "html" / f"{slug}.html").read_text()
        assert "DRAFT" not in pdf_text(out / "pdf" / f"{slug}.pdf")
    assert "Kent Police" in pdf_text(out / "pdf" / "kent.pdf")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["final"] is True
    assert manifest["letters"]["kent"]["approved"]["by"] == "Test Approver"
    verified = letters("verify", "--final", "--force", "kent", "--force", "cleveland")
    assert verified.exit_code == 0, verified.output
    assert "Verified 2 PDFs, 0 problems" in verified.output


@pytest.mark.parametrize("command", [["new"], ["approve"], ["approve-wording"], ["verify"], ["diff"]])
def test_every_new_command_has_help_with_an_example(command):
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output
