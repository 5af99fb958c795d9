"""Letters in a language and in two (issue 20 item 9): dates in the letter's language by babel,
`languages: [cy, en-GB]`, `translated: true` fields given in each language, and what templates get
of them (`languages`, the `date` filter); the fixture series' bilingual frs-2023-cy."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from conftest import built_series
from editing import edit
from hmicfrs_letters.cli import app
from hmicfrs_letters.core.languages import known_language, long_date
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.validate import load_batch
from hmicfrs_letters.pdf import tagging

OUT = "output/frs-2023-cy"
LETTERS = "data/assessments/frs-2023-cy"
LETTER = f"{LETTERS}/mid-and-west-wales.yaml"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A project with the fixture series, its letters in Welsh and English built."""
    return built_series(tmp_path_factory, "frs-2023-cy")


def letters(root: Path, *args: str):
    return CliRunner().invoke(app, ["--project", str(root), *args])


def check(root: Path) -> list[str]:
    return letters(root, "check", "--no-pages", "--assessment", "frs-2023-cy").output.splitlines()


def test_a_letter_in_welsh_and_english_prints_the_welsh_then_the_english_and_its_pdf_is_in_welsh(built):
    pdf = PdfReader(built / OUT / "pdf" / "mid-and-west-wales.pdf")  # read by pypdf, not the engine's own PDFium
    text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pdf.pages))
    assert pdf.trailer["/Root"]["/Lang"] == "cy"
    assert "2 Hydref 2023" in text and "October" not in text  # the date the layout prints, in the letter's own language
    welsh = text.index("Fe wnaethom arolygu eich gwasanaeth rhwng 4 i 15 Medi 2023.")
    english = text.index("We inspected your service from 4 to 15 September 2023.")
    assert welsh < text.index("Mae'r gwasanaeth yn cadw pobl yn ddiogel rhag tân.") < english
    assert english < text.index("The service keeps people safe from fire.")
    assert "cyn i ni gyhoeddi ein hadroddiad ar 7 Tachwedd 2023." in text and "before we publish our report on 7 November 2023." in text
    html = (built / OUT / "html" / "mid-and-west-wales.html").read_text()
    assert '<html lang="cy">' in html and '<div lang="cy">' in html and '<div lang="en-GB">' in html
    assert '"Tudalen " counter(page) " o " counter(pages)' in html  # the page numbers' words, of the letter's own language


def test_the_english_parts_structure_elements_say_their_language_in_the_pdf(built):
    data = (built / OUT / "pdf" / "mid-and-west-wales.pdf").read_bytes()
    assert tagging.problems(data) == []  # still tagged as PDF/UA asks
    with pikepdf.open(io.BytesIO(data)) as pdf:
        found: dict[str, list[str]] = {}

        def walk(element) -> None:
            kids = element.get("/K")
            for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
                if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
                    if "/Lang" in kid:
                        found.setdefault(str(kid.Lang), []).append(str(kid.S))
                    walk(kid)

        walk(pdf.Root.StructTreeRoot)
    # The English body (a /Div), the English half of the subject and of the salutation (a /Span each); the Welsh body's /Div.
    assert sorted(found["en-GB"]) == ["/Div", "/Span", "/Span"] and found["cy"] == ["/Div"]


def test_dates_are_written_by_babel_as_the_letters_always_wrote_them_in_english():
    for month in range(1, 13):
        day = dt.date(2017, month, 2)
        assert long_date(day) == long_date(day, "en-GB") == f"{day.day} {day:%B %Y}"  # the seed letters' form, byte for byte
    assert long_date(dt.date(2017, 10, 2), "cy") == "2 Hydref 2017" and long_date(dt.date(2023, 7, 27), "cy") == "27 Gorffennaf 2023"
    assert long_date("[Date]", "cy") == "[Date]"  # a field's placeholder as it is
    assert known_language("cy") and known_language("en-GB") and not known_language("xx-YY")


def test_templates_get_a_date_filter_taking_a_language_and_long_date_still_works(project):
    templates = Templates(project / "templates")
    render = templates.env.from_string("{{ d | date }}; {{ d | date('cy') }}; {{ d | long_date('cy') }}; {{ d | long_date }}").render
    assert render(d=dt.date(2022, 7, 27)) == "27 July 2022; 27 Gorffennaf 2022; 27 Gorffennaf 2022; 27 July 2022"


def test_languages_and_translated_fields_are_read_as_the_letter_gives_them(series):
    batch = load_batch(Project.at(series), "frs-2023-cy")
    assessment = batch.assessment
    assert assessment.languages == ("cy", "en-GB") and assessment.language == "cy"
    assert assessment.field("strengths").translated and not assessment.field("report_date").translated
    (item,) = batch.letters
    assert item.letter.in_languages(assessment) == ("cy", "en-GB")
    assert item.letter.value("inspection_dates") == {"cy": "4 i 15 Medi 2023", "en-GB": "4 to 15 September 2023"}


def test_a_translated_field_must_be_given_in_exactly_the_letters_languages(series):
    letter = series / LETTER
    edit(letter, "  en-GB: 4 to 15 September 2023\n", "  en-gb: 4 to 15 September 2023\n")
    edit(letter, "strengths:\n  cy: |\n    Mae'r gwasanaeth yn cadw pobl yn ddiogel rhag tân.\n  en-GB: |\n", "strengths: |\n")
    lines = check(series)
    assert f"{LETTER}:6: 'inspection_dates' gives 'en-gb', which is not one of the letter's languages; did you mean 'en-GB'?" in lines
    assert f"{LETTER}:8: 'strengths' is translated: give it in each of the letter's languages, as strengths: {{cy: …, en-GB: …}}" in lines
    letter.write_text(
        "date: 2023-10-02\nstatus: draft\ninspection_dates:\n  cy: 4 i 15 Medi 2023\nreport_date: 2023-11-07\n"
        "strengths:\n  cy: Da.\n  en-GB:\n"
    )
    lines = check(series)
    message = "'inspection_dates' has no 'en-GB': give it in each of the letter's languages, as inspection_dates: {cy: …, en-GB: …}"
    assert f"{LETTER}:3: {message}" in lines
    edit(letter, "  cy: 4 i 15 Medi 2023\n", "  cy: 4 i 15 Medi 2023\n  en-GB: 4 to 15 September 2023\n")
    lines = check(series)
    assert f"{LETTER}:7: warning: 'strengths' not written yet in en-GB: the letter shows a placeholder" in lines  # blank: a draft's gap
    # A letter of its own language gives a translated field as any other; a language no one knows is refused at its line.
    letter.write_text(
        "language: en-GB\ndate: 2023-10-02\nstatus: draft\ninspection_dates: 4 to 15 September 2023\nreport_date: 2023-11-07\n"
        "strengths: Good.\n"
    )
    assert check(series)[-1] == "0 errors, 2 warnings"
    edit(letter, "language: en-GB", "languages: [cy, xx-YY]")
    assert (
        f"{LETTER}:1: 'languages' holds 'xx-YY': not a language whose dates are known; write its tag as `lang` takes it, as en-GB or cy"
        in check(series)
    )


def test_an_assessments_languages_and_translated_fields_are_checked(series):
    assessment = series / "data/assessments/frs-2023-cy.yaml"
    edit(assessment, "languages: [cy, en-GB]", "language: en-GB\nlanguages: [cy, en-GB]")
    edit(assessment, "  strengths:\n", "  report_date:\n    type: date\n    translated: true\n  strengths:\n")
    lines = letters(series, "check", "--no-pages", "--assessment", "frs-2023-cy").output.splitlines()
    assert "data/assessments/frs-2023-cy.yaml:6: 'language' is 'en-GB' but 'languages' puts 'cy' first; give one of them" in lines
    assert "data/assessments/frs-2023-cy.yaml:14: only a 'text' or 'markdown' field of the letter itself may be 'translated'" in lines


def test_the_lock_holds_each_languages_placeholder_and_new_starts_each_language(series):
    result = letters(series, "approve-wording", "--assessment", "frs-2023-cy")
    assert result.exit_code == 0, result.output
    wording = (series / "data/assessments/frs-2023-cy.wording.txt").read_text()
    assert "rhwng {inspection_dates.cy}. Mae'r" in wording and "from {inspection_dates.en-GB}. This" in wording
    assert "\n{strengths.cy}\nWe inspected" in wording and "\n{strengths.en-GB}\nYours sincerely\n" in wording
    result = letters(series, "new", "--assessment", "frs-2023-cy", "--recipient", "cleveland")
    assert result.exit_code == 0, result.output
    started = (series / LETTERS / "cleveland.yaml").read_text()
    assert 'inspection_dates:\n  cy: ""\n  en-GB: ""\n' in started and "strengths:\n  cy: |\n  en-GB: |\n" in started
    lines = check(series)
    assert f"{LETTERS}/cleveland.yaml:11: warning: 'strengths' not written yet: the letter shows a placeholder" in lines
    assert lines[-1].startswith("0 errors")


def test_the_previews_index_sorts_by_date_and_its_form_leaves_a_translated_field_to_the_file(series):
    from starlette.testclient import TestClient

    from hmicfrs_letters.preview.app import create_app
    from hmicfrs_letters.preview.state import Preview

    client = TestClient(create_app(Preview(Project.at(series)), allowed_hosts=["testserver"], watching=False))
    index = client.get("/frs-2023/", params={"sort": "date"}).text
    rows = re.findall(r'data-label="Dated" data-sort-value="([0-9-]+)">([^<]+)</td>', index)
    # By date, not by the text shown: 3 July (essex) comes after 10 May (london), and 2 October before 14 May 2024.
    assert rows == [
        ("2023-05-10", "10 May 2023"),
        ("2023-07-03", "3 July 2023"),
        ("2023-10-02", "2 October 2023"),
        ("2024-05-14", "14 May 2024"),
    ]
    assert re.search(r'aria-sort="ascending"><a href="/frs-2023/\?[^"]*sort=date">Dated</a></th>', index)
    page = client.get("/frs-2023-cy/letters/mid-and-west-wales")
    assert page.status_code == 200 and 'name="field:report_date"' in page.text and 'name="field:strengths"' not in page.text
    assert "it cannot be changed here" in page.text and "Edit <code>strengths</code> in the letter's file" in page.text


def test_a_placeholder_says_to_be_written_in_the_language_of_its_part(series):
    (series / LETTERS / "cleveland.yaml").write_text(
        "date: 2023-10-02\nstatus: draft\ninspection_dates:\n  cy: 4 i 15 Medi 2023\n  en-GB: 4 to 15 September 2023\nreport_date: 2023-11-07\n"
    )
    result = letters(series, "build", "--assessment", "frs-2023-cy", "-r", "cleveland")
    assert result.exit_code == 0, result.output
    html = (series / OUT / "html" / "cleveland.html").read_text()
    welsh, english = html.split('<div lang="en-GB">')
    assert "<strong>[What the service does well: i&#39;w ysgrifennu.]</strong>" in welsh  # the words of templates/base/languages.yaml
    assert "<strong>[What the service does well: to be written.]</strong>" in english
