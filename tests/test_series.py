"""A second series from data and templates alone (tests/fixtures/series): a list of fire and rescue
services, two addressees, a salutation and signatory of a letter's own, fields inside fixed
paragraphs, two Markdown sections with headings, numbered paragraphs in CSS, the recipient's name
in capitals in the subject, no categories, no contact, a letterhead with e-mail and no fax.
The guide's "Adding a series" shows these very files (tests/test_docs.py holds it to that)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import add_series, make_project
from editing import edit
from hmicfrs_letters.cli import app
from hmicfrs_letters.pdf.verify import pdf_text
from textutil import html_lines

OUT = "output/frs-2022"


@pytest.fixture(scope="module")
def built(tmp_path_factory, built_cache) -> Path:
    """A project with both series (the police forces' of 2017 and the fire services'), built with `letters build`
    (the police letters' PDFs from the run's cache: the fire services' are laid out)."""
    root = add_series(make_project(tmp_path_factory.mktemp("series") / "project"))
    shutil.copytree(built_cache, root / "output" / ".cache")
    result = CliRunner().invoke(app, ["--project", str(root), "build"])
    assert result.exit_code == 0, result.output  # Cleveland Fire Brigade's letter is missing two fields: a draft, not an error
    return root


def text(root: Path, slug: str) -> str:
    return pdf_text((root / OUT / "pdf" / f"{slug}.pdf").read_bytes())


def test_one_build_makes_both_series_and_an_index_of_them(built):
    for assessment, count in (("apsp-2017", 43), ("frs-2022", 3)):
        assert len(list((built / "output" / assessment / "pdf").glob("*.pdf"))) == count
    home = (built / "output" / "index.html").read_text()
    assert 'href="apsp-2017/index.html"' in home and 'href="frs-2022/overview.html"' in home
    assert "Fire and rescue service inspection 2022" in home


def test_two_addressees_a_salutation_a_signatory_and_copies_of_the_letters_own(built):
    london = text(built, "london")
    for passage in (
        "Andy Roe Commissioner London Fire Brigade Fiona Twycross Deputy Mayor for Fire and Resilience Greater London Authority",
        "Copied to: Sadiq Khan, Mayor of London",
        "Dear Commissioner Roe and Deputy Mayor Twycross,",
        "Yours sincerely Matt Parr CB His Majesty's Inspector of Fire & Rescue Services",
    ):
        assert passage in london
    essex = text(built, "essex")
    assert "Essex County Fire and Rescue Service 27 July 2022 Dear Sir or Madam" in essex  # the layout's defaults
    assert "Roy Wilsher" in essex and "Matt Parr" not in essex  # the assessment's default signatory


def test_fields_inside_fixed_paragraphs_and_two_markdown_sections_with_headings(built):
    london, essex = text(built, "london"), text(built, "essex")
    assert (
        "We inspected your brigade from 9 to 27 May 2022. This letter gives you our findings before we publish our report on 27 July 2022."
        in london
    )
    assert "We inspected your service from 14 to 25 March 2022." in essex  # `word` takes its default
    assert "Preventing fires The brigade has improved how it targets its prevention work:" in london
    assert "Protecting the public through fire regulation The brigade should make sure" in london
    html = (built / OUT / "html" / "london.html").read_text()
    assert "<h2>Preventing fires</h2>" in html and "<ul>" in html and html.count("<h2>") == 2
    assert "Areas for improvement" not in (built / OUT / "html" / "essex.html").read_text()  # optional, not given: left out


def test_numbered_paragraphs_the_subject_in_capitals_and_the_letterhead_as_given(built):
    london = text(built, "london")
    assert "Fire and rescue service inspection 2022: LONDON FIRE BRIGADE" in london
    assert "1. We inspected your brigade" in london and "2. We will send a copy of this letter to London Fire Commissioner." in london
    assert "Email: fire.inspections@example.gov.uk" in london
    assert "Fax" not in london and "Direct line" not in london


def test_a_field_missing_from_a_draft_is_a_placeholder_naming_it_and_a_warning(built):
    cleveland = (built / OUT / "html" / "cleveland.html").read_text()
    assert (
        '<p class="placeholder" role="note" data-field="strengths"><strong>[What the service does well: to be written.]</strong></p>'
        in cleveland
    )
    assert "our report on [Date the report is published]." in text(built, "cleveland")
    assert '<mark class="placeholder-field" data-field="report_date">[Date the report is published]</mark>' in cleveland
    result = CliRunner().invoke(app, ["--project", str(built), "check", "--no-pages", "--assessment", "frs-2022"])
    assert "data/assessments/frs-2022/cleveland.yaml: warning: 'strengths' not written yet: the letter shows a placeholder" in result.output


def test_the_index_and_overview_say_service_and_show_no_outcomes(built):
    index = (built / OUT / "index.html").read_text()
    assert "letters to 3 services" in index and '<th scope="col" role="columnheader">Service</th>' in index
    shown = " ".join(line for line, _ in html_lines(index))
    assert "Outcome" not in shown and "force" not in shown.lower()
    overview = " ".join(line for line, _ in html_lines((built / OUT / "overview.html").read_text()))
    assert "outcome" not in overview.lower() and "force" not in overview.lower()
    assert "0 of 3 letters approved; 3 letters are still draft." in overview
    assert "Services Cleveland Fire Brigade, Essex County Fire and Rescue Service, London Fire Brigade." in overview


def test_a_field_missing_from_an_approved_letter_is_an_error_unless_it_is_optional(letters, series):
    result = letters("approve", "essex", "cleveland", "--by", "A. Inspector", "--assessment", "frs-2022")
    assert result.exit_code == 1
    assert "data/assessments/frs-2022/essex.yaml: approved by A. Inspector on " in result.output  # `improvements` is optional
    assert "Error: data/assessments/frs-2022/cleveland.yaml: not approved: 'report_date' is not written; 'strengths' is not written" in (
        result.output
    )
    edit(series / "data/assessments/frs-2022/cleveland.yaml", "status: draft", "status: approved")
    result = letters("check", "--no-pages", "--assessment", "frs-2022")
    assert result.exit_code == 1
    assert (
        "data/assessments/frs-2022/cleveland.yaml: approved, but 'report_date' is not written; fix it or set 'status: draft'"
    ) in result.output


def test_unknown_keys_name_the_nearest_declared_field_and_fields_are_type_checked(letters, series):
    path = series / "data/assessments/frs-2022/essex.yaml"
    path.write_text("status: draft\ninspection_date: soon\nword: fire station\nreport_date: next week\noutcome: good\n")
    lines = letters("check", "--no-pages", "--assessment", "frs-2022").output.splitlines()
    for line in (
        "data/assessments/frs-2022/essex.yaml:2: unknown key 'inspection_date'; did you mean 'inspection_dates'?",
        "data/assessments/frs-2022/essex.yaml:3: 'word' is 'fire station'; expected one of: service, brigade",
        "data/assessments/frs-2022/essex.yaml:4: 'report_date' should be a date written as YYYY-MM-DD",
        "data/assessments/frs-2022/essex.yaml:5: unknown key 'outcome'; expected one of: recipient, date, language, languages, status, addressees, "
        "salutation, signatory, copied_to, approved, edited, email, cc, issued, inspection_dates, word, report_date, strengths, improvements, "
        "closing",
    ):
        assert line in lines


def test_a_first_level_heading_is_refused_in_a_markdown_field(letters, series):
    edit(series / "data/assessments/frs-2022/essex.yaml", "## Responding", "# Responding")
    result = letters("check", "--no-pages", "--assessment", "frs-2022")
    assert result.exit_code == 1
    assert "'strengths' has a '#' heading: the subject is the letter's only one; use '##' to '####'" in result.output


def test_the_wording_lock_holds_the_template_with_fields_as_placeholders(letters, series):
    assert letters("approve-wording", "--assessment", "frs-2022").exit_code == 0
    wording = (series / "data/assessments/frs-2022.wording.txt").read_text()
    assert "We inspected your {word} from {inspection_dates}. This letter gives you our findings" in wording
    assert "Fire and rescue service inspection 2022: {RECIPIENT.NAME}" in wording
    edit(series / "data/assessments/frs-2022/essex.yaml", "14 to 25 March 2022", "21 to 25 March 2022")
    assert "fixed wording" not in letters("check", "--no-pages", "--assessment", "frs-2022").output  # a field's value: not the lock's
    edit(series / "templates/frs-2022/letter.html.j2", "We inspected your", "We visited your")
    result = letters("check", "--no-pages", "--assessment", "frs-2022")
    assert result.exit_code == 1
    assert "[-inspected-] {+visited+} your {word} from {inspection_dates}." in result.output


def test_new_writes_the_fields_of_a_series_without_outcomes(letters, series):
    (series / "data/assessments/frs-2022/london.yaml").unlink()
    result = letters("new", "--recipient", "london", "--assessment", "frs-2022")
    assert result.exit_code == 0, result.output
    text = (series / "data/assessments/frs-2022/london.yaml").read_text()
    assert "outcome" not in text and 'inspection_dates: ""' in text and "strengths: |" in text and "word:" not in text  # it has a default
    result = letters("new", "-r", "essex", "--assessment", "frs-2022", "--outcome", "good")
    assert result.exit_code == 1
    assert "this series has no outcomes (no 'categories')" in result.output


def test_recipient_is_the_option_and_force_a_hidden_alias(letters, series):
    assert "--recipient" in letters("build", "--help").output and "--force" not in letters("build", "--help").output
    for option in ("--recipient", "-r", "--force", "-f"):
        result = letters("build", "--assessment", "frs-2022", option, "london", "--format", "html")
        assert result.exit_code == 0, result.output
        assert "Built 1 letter" in result.output


def test_an_old_forces_file_says_where_the_list_moved(letters, project):
    (project / "data" / "forces.yaml").write_text("forces: []\n")
    result = letters("list")
    assert result.exit_code == 1
    assert "Error: data/forces.yaml: recipient lists have moved to data/recipients/<list>.yaml" in result.output


def test_the_preview_shows_every_series_in_the_lists_own_words(series):
    from starlette.testclient import TestClient

    from hmicfrs_letters.core.project import Project
    from hmicfrs_letters.preview.app import create_app
    from hmicfrs_letters.preview.state import Preview

    client = TestClient(create_app(Preview(Project.at(series)), allowed_hosts=["testserver"], watching=False))
    home = client.get("/").text
    assert '<a href="/apsp-2017/">HMICFRS assessment: Abuse of position for a sexual purpose</a>' in home
    assert '<a href="/frs-2022/">Fire and rescue service inspection 2022</a>' in home and "3 services" in home
    index = client.get("/frs-2022/").text
    assert "3 services, 0 approved" in index and '<a href="/frs-2022/letters/london">London Fire Brigade</a>' in index
    assert "Outcome" not in index
    assert "Dear Commissioner Roe and Deputy Mayor Twycross," in client.get("/frs-2022/letters/london.html").text
    assert client.get("/frs-2099/").status_code == 404
