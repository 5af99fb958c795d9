"""Series as they really are (tests/fixtures/series, frs-2023): two letters to one recipient, a date
per letter, letters to some recipients only, and an assessment that `extends` another."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader
from typer.testing import CliRunner

from conftest import built_series
from editing import edit
from hmicfrs_letters.cli import app
from hmicfrs_letters.pdf.verify import pdf_text

OUT = "output/frs-2023"
LETTERS = "data/assessments/frs-2023"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A project with the fixture series, frs-2023 built (every PDF's text checked as it is made)."""
    return built_series(tmp_path_factory, "frs-2023")


def text(root: Path, letter: str) -> str:
    return pdf_text((root / OUT / "pdf" / f"{letter}.pdf").read_bytes())


def test_two_letters_to_one_recipient_each_by_its_id_and_with_its_own_date(built):
    assert sorted(p.stem for p in (built / OUT / "pdf").glob("*.pdf")) == ["essex", "london", "london-revisit", "mid-and-west-wales"]
    london, revisit = text(built, "london"), text(built, "london-revisit")
    assert "London Fire Brigade 10 May 2023" in london and "London Fire Brigade 14 May 2024" in revisit
    assert "We revisited the brigade" in revisit and "We revisited" not in london
    assert "17 to 28 April 2023" in text(built, "essex") and "3 July 2023" in text(built, "essex")
    html = (built / OUT / "html" / "london-revisit.html").read_text()
    assert '<time datetime="2024-05-14">14 May 2024</time>' in html and 'content="2024-05-14"' in html


def test_extends_takes_the_other_assessments_settings_and_overrides_those_it_gives(built):
    london = text(built, "london")
    assert "FIRE AND RESCUE SERVICE INSPECTION 2023: LONDON FIRE BRIGADE" in london.upper()
    assert "Fire and rescue service inspection 2023" in london  # its own subject
    assert "fire.inspections@example.gov.uk" in london and "Roy Wilsher" in london  # the 2022 series' sender and signatory


def test_the_index_and_overview_give_each_letters_date_and_no_series_date(built):
    index = (built / OUT / "index.html").read_text()
    assert "Letters of several dates: 4 letters" in index and "Letters dated" not in index
    for date in ("10 May 2023", "14 May 2024", "3 July 2023"):
        assert f'data-label="Dated">{date}</td>' in index
    overview = (built / OUT / "overview.html").read_text()
    assert "National overview of the letters to 3 services." in overview
    assert "each letter its own" in (built / "output" / "index.html").read_text()


def test_a_series_of_some_recipients_warns_of_none_missing_unless_it_writes_to_every_one(series):
    runner = CliRunner()
    result = runner.invoke(app, ["--project", str(series), "check", "--no-pages", "--assessment", "frs-2023"])
    assert "no letter file" not in result.output  # Cleveland has none: the series is the letters it has
    edit(series / "data" / "assessments" / "frs-2023.yaml", "date:\n", "date:\nevery_recipient: true\n")
    result = runner.invoke(app, ["--project", str(series), "check", "--no-pages", "--assessment", "frs-2023"])
    assert "data/assessments/frs-2023: warning: no letter file for service 'cleveland' (cleveland.yaml)" in result.output


def test_recipient_selects_every_letter_to_it_and_an_id_one_letter(series):
    def built(*names: str) -> list[str]:
        shutil.rmtree(series / OUT, ignore_errors=True)
        chosen = [arg for name in names for arg in ("-r", name)]
        result = CliRunner().invoke(app, ["--project", str(series), "build", "-a", "frs-2023", "--format", "html", *chosen])
        assert result.exit_code == 0, result.output
        return sorted(path.stem for path in (series / OUT / "html").glob("*.html"))

    assert built("london") == ["london", "london-revisit"]
    assert built("london-revisit") == ["london-revisit"]
    assert built("essex", "london-revisit") == ["essex", "london-revisit"]


def test_new_starts_a_second_letter_to_a_recipient_under_an_id_of_its_own(series):
    result = CliRunner().invoke(app, ["--project", str(series), "new", "essex-2024", "--to", "essex", "-a", "frs-2023"])
    assert result.exit_code == 0, result.output
    assert f"Wrote {LETTERS}/essex-2024.yaml (draft)" in result.output and "`letters approve essex-2024`" in result.output
    written = yaml.safe_load((series / LETTERS / "essex-2024.yaml").read_text())
    assert written["recipient"] == "essex" and written["status"] == "draft" and "date" in written  # the series gives no date
    result = CliRunner().invoke(app, ["--project", str(series), "new", "essex-2025", "--to", "essexx", "-a", "frs-2023"])
    assert result.exit_code == 1 and "no service 'essexx'; did you mean 'essex'?" in result.output


def test_a_letter_to_an_unknown_recipient_or_without_a_date_is_one_placed_error(series):
    edit(series / LETTERS / "london-revisit.yaml", "recipient: london", "recipient: londn")
    edit(series / LETTERS / "essex.yaml", "date: 2023-07-03\n", "")
    result = CliRunner().invoke(app, ["--project", str(series), "check", "--no-pages", "--assessment", "frs-2023"])
    assert result.exit_code == 1
    assert (
        f"{LETTERS}/london-revisit.yaml:2: 'recipient' is 'londn', which is not in data/recipients/fire-services.yaml; "
        "did you mean 'london'?"
    ) in result.output
    assert f"{LETTERS}/essex.yaml:1: missing required key 'date': the assessment gives no date, so each letter gives its own" in (
        result.output
    )
    assert "Traceback" not in result.output


def test_an_optional_field_left_empty_but_printed_is_named_by_check_and_approve(series):
    """frs-2022's template leaves `improvements` out when empty; printed whatever it holds, Essex's letter shows its placeholder."""
    template = series / "templates" / "frs-2022" / "letter.html.j2"
    edit(template, "{% if fields.improvements %}", "{% if true %}")
    runner = CliRunner()
    result = runner.invoke(app, ["--project", str(series), "check", "--no-pages", "--assessment", "frs-2022"])
    assert (
        "data/assessments/frs-2022/essex.yaml: warning: 'improvements' (Areas for improvement) is optional and not written, "
        "but the template prints it: the letter shows the placeholder '[Areas for improvement]'; write it, "
        "or have the template leave it out when empty"
    ) in result.output
    essex = series / "data" / "assessments" / "frs-2022" / "essex.yaml"
    essex.write_text(essex.read_text() + "word: service\n")  # every required field written
    result = runner.invoke(app, ["--project", str(series), "approve", "essex", "--by", "A. Tester", "-a", "frs-2022"])
    assert result.exit_code == 1
    assert "not approved:" in result.output and "the letter still shows a placeholder for 'improvements' (Areas for improvement)" in (
        result.output
    )


def test_the_preview_lists_each_letter_by_its_id_with_its_date(series):
    from starlette.testclient import TestClient

    from hmicfrs_letters.core.project import Project
    from hmicfrs_letters.preview.app import create_app
    from hmicfrs_letters.preview.state import Preview

    client = TestClient(create_app(Preview(Project.at(series)), allowed_hosts=["testserver"], watching=False))
    index = client.get("/frs-2023/").text
    assert "Letters of several dates" in index and "Letters dated" not in index
    assert '<a href="/frs-2023/letters/london-revisit">London Fire Brigade</a>' in index
    assert '<td role="cell" data-label="Dated" data-sort-value="2024-05-14">14 May 2024</td>' in index
    assert "no letter file" not in index
    assert "each letter its own" in client.get("/").text
    assert "We revisited the brigade" in client.get("/frs-2023/letters/london-revisit.html").text
    page = client.get("/frs-2023/letters/london-revisit")  # its form: the repeating group's items too (tests/test_editor_lists.py)
    assert page.status_code == 200 and 'name="field:strengths"' in page.text and 'name="field:causes-2-cause"' in page.text


def test_diff_calls_fixed_wording_only_what_differs_in_the_templates_text(series):
    def diff(assessment: str, first: str, second: str) -> list[str]:
        result = CliRunner().invoke(app, ["--project", str(series), "diff", first, second, "-a", assessment])
        assert result.exit_code == 0, result.output
        return result.output.splitlines()

    lines = diff("frs-2023", "london", "london-revisit")
    assert lines[:3] == ["@@ date", "- 10 May 2023", "+ 14 May 2024"]
    assert "@@ field" in lines and "+ Cause of concern 2" in lines  # a repeating group's items: a field section
    assert lines[-1] == "3 differences between london and london-revisit, 0 in the fixed wording"
    # Own addressees, salutation and signatory, a choice printed as it is, an optional field left out: none is fixed
    # wording (with the template's choice between two passages, its last paragraph, taken out).
    template = series / "templates" / "frs-2022" / "letter.html.j2"
    fixture = template.read_text()
    choice = fixture[fixture.index('{% if fields.word == "brigade" %}') : fixture.rindex("{% endblock %}")]
    template.write_text(fixture.replace(choice, ""))
    assert diff("frs-2022", "london", "essex")[-1] == "3 differences between london and essex, 0 in the fixed wording"
    # A choice between two passages of the template: the passage chosen is fixed wording.
    template.write_text(fixture)
    edit(template, "{{ fields.word }} from", '{% if fields.word == "brigade" %}brigade{% else %}service{% endif %} from')
    lines = diff("frs-2022", "london", "essex")
    assert "@@ fixed wording  <- not expected to differ" in lines
    assert lines[-1] == "3 differences between london and essex, 1 in the fixed wording"


def test_a_letter_in_welsh_has_its_lang_date_and_page_numbers_in_welsh(built):
    html = (built / OUT / "html" / "mid-and-west-wales.html").read_text()
    assert '<html lang="cy">' in html and '<time datetime="2023-10-02">2 Hydref 2023</time>' in html
    assert '"Tudalen " counter(page) " o " counter(pages)' in html
    assert "2 Hydref 2023" in text(built, "mid-and-west-wales")
    assert PdfReader(built / OUT / "pdf" / "mid-and-west-wales.pdf").trailer["/Root"]["/Lang"] == "cy"
    london = (built / OUT / "html" / "london.html").read_text()
    assert '<html lang="en-GB">' in london and "10 May 2023" in london and '"Page " counter(page) " of " counter(pages)' in london


def test_a_group_that_repeats_is_a_list_of_items_the_template_loops_over(built):
    revisit = text(built, "london-revisit")
    assert "Cause of concern 1 The brigade does not inspect its high-risk buildings on time. Recommendations Set a date" in revisit
    assert "Cause of concern 2 Its staff do not all know how to raise a concern." in revisit
    assert "Cause of concern" not in text(built, "london")  # no causes written: no section


def test_a_list_fields_items_are_checked_and_the_lock_holds_its_fixed_words(series):
    runner = CliRunner()
    result = runner.invoke(app, ["--project", str(series), "approve-wording", "--assessment", "frs-2023"])
    assert result.exit_code == 0, result.output
    wording = (series / "data" / "assessments" / "frs-2023.wording.txt").read_text()
    assert "Cause of concern 1\n{causes.cause}\nRecommendations\n{causes.recommendations}\n" in wording
    edit(series / LETTERS / "london-revisit.yaml", "  - cause: |\n      Its staff", "  - caus: |\n      Its staff")
    result = runner.invoke(app, ["--project", str(series), "check", "--no-pages", "--assessment", "frs-2023"])
    assert result.exit_code == 1
    assert f"{LETTERS}/london-revisit.yaml:10: 'causes' item 2 has an unknown key 'caus'; did you mean 'cause'?" in result.output


# --- every fixed word under the lock: a choice between locked passages, a standard passage a letter replaces ------

FRS_2022 = "data/assessments/frs-2022.yaml"
VARIANTS_LINE = 11  # variants_sha256, once `approve-wording` has added it under wording_sha256
CHANGED = "differs from the approved wording (changes below); fix the templates, or run `letters approve-wording` if the change is approved"


def _approved_frs_2022(series: Path) -> CliRunner:
    runner = CliRunner()
    result = runner.invoke(app, ["--project", str(series), "approve-wording", "--assessment", "frs-2022"])
    assert result.exit_code == 0, result.output
    assert result.output.endswith("; 3 other paths through the templates in data/assessments/frs-2022.variants.txt\n")
    assert "\nvariants_sha256: " in (series / FRS_2022).read_text().split("\nsender:")[0]
    return runner


def _check_frs_2022(runner: CliRunner, series: Path):
    return runner.invoke(app, ["--project", str(series), "check", "--no-pages", "--assessment", "frs-2022"])


def test_the_lock_holds_both_passages_of_a_choice_and_the_standard_passage_of_an_optional_field(series):
    runner = _approved_frs_2022(series)
    variants = (series / "data/assessments/frs-2022.variants.txt").read_text()
    base = (series / "data/assessments/frs-2022.wording.txt").read_text()
    brigade = "Our report will also look at how the brigade works with the police and ambulance services."
    standard = "We will send a copy of this letter to {recipient.authority}."
    assert brigade not in base and standard not in base  # the base path: 'word' neutral (the else), 'closing' written
    assert "when 'word' is 'brigade':\n" in variants and f"\n  {brigade}\n" in variants
    assert "when 'closing' is not written:\n" in variants and f"\n  {standard}\n" in variants
    assert "when 'word' is 'service'" not in variants  # the base wording's own path: not again
    result = _check_frs_2022(runner, series)
    assert result.exit_code == 0 and "wording" not in result.output, result.output

    template = series / "templates/frs-2022/letter.html.j2"
    fixture = template.read_text()
    # A word changed in the passage only brigades' letters print: an error naming the path, with its word diff.
    edit(template, "the police and ambulance services", "the police, ambulance and coastguard services")
    result = _check_frs_2022(runner, series)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    said = f"{FRS_2022}:{VARIANTS_LINE}: the wording printed when 'word' is 'brigade' {CHANGED}"
    assert said in lines
    assert lines[lines.index(said) + 1] == (
        "  line 13: … how the brigade works with the [-police-] {+police, ambulance+} and [-ambulance-] {+coastguard+} services."
    )
    assert "fixed wording differs" not in result.output  # the base wording is as approved
    # A word changed in the standard passage a letter's own `closing` would replace (the `{% else %}`).
    template.write_text(fixture.replace("We will send a copy of this letter", "We shall send a copy of this letter"))
    result = _check_frs_2022(runner, series)
    assert result.exit_code == 1
    assert f"{FRS_2022}:{VARIANTS_LINE}: the wording printed when 'closing' is not written {CHANGED}" in result.output
    assert "  line 12: We [-will-] {+shall+} send a copy of this letter …" in result.output
    # A change to the wording every path prints is told once, as the base wording's.
    template.write_text(fixture.replace("We inspected your", "We visited your"))
    result = _check_frs_2022(runner, series)
    assert result.exit_code == 1
    assert result.output.count(CHANGED) == 1 and "the letters' fixed wording differs" in result.output
    # Approved again, every path is recorded anew.
    assert runner.invoke(app, ["--project", str(series), "approve-wording", "--assessment", "frs-2022"]).exit_code == 0
    assert "We visited your" in (series / "data/assessments/frs-2022.variants.txt").read_text()
    assert _check_frs_2022(runner, series).exit_code == 0


def test_without_the_approved_text_of_the_other_paths_a_change_still_fails(series):
    runner = _approved_frs_2022(series)
    (series / "data/assessments/frs-2022.variants.txt").unlink()
    assert _check_frs_2022(runner, series).exit_code == 0  # the fingerprint holds: the text is only for the diff
    edit(series / "templates/frs-2022/letter.html.j2", "the police and ambulance services", "the police services")
    result = _check_frs_2022(runner, series)
    assert result.exit_code == 1
    assert f"{FRS_2022}:{VARIANTS_LINE}: the wording the letters print on another path through the templates {CHANGED}" in result.output
    assert "(the approved text, data/assessments/frs-2022.variants.txt, is missing: no diff to show)" in result.output


def test_check_and_the_preview_say_which_standard_passage_a_letter_replaced(letters, series):
    from starlette.testclient import TestClient

    from hmicfrs_letters.core.project import Project
    from hmicfrs_letters.preview.app import create_app
    from hmicfrs_letters.preview.state import Preview

    result = letters("check", "--no-pages", "--assessment", "frs-2022")
    assert result.exit_code == 0, result.output
    note = "'closing' (Closing paragraph) replaces the standard passage “We will send a copy of this letter to Cleveland Fire Authority.”"
    assert f"data/assessments/frs-2022/cleveland.yaml:4: warning: {note}" in result.output.splitlines()
    assert result.output.count("replaces the standard passage") == 1  # London and Essex keep it
    client = TestClient(create_app(Preview(Project.at(series)), allowed_hosts=["testserver"], watching=False))
    page = client.get("/frs-2022/letters/cleveland").text
    assert "Closing paragraph replaces the standard passage “We will send a copy of this letter to Cleveland Fire Authority.”" in page
    assert "replaces the standard passage" not in client.get("/frs-2022/letters/essex").text
    # What Cleveland's letter prints instead, and what it no longer prints.
    html = client.get("/frs-2022/letters/cleveland.html").text
    assert "and to the four councils it serves." in html and "We will send a copy of this letter to Cleveland Fire Authority." not in html
    # Without its own closing paragraph, the letter replaces nothing.
    edit(series / "data/assessments/frs-2022/cleveland.yaml", "closing: We will send", "# closing: We will send")
    result = letters("check", "--no-pages", "--assessment", "frs-2022")
    assert result.exit_code == 0 and "replaces the standard passage" not in result.output, result.output
