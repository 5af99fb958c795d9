"""Verified output: every PDF's text, read back, holds its letter verbatim; in the build and in `letters verify`."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import SOME_LETTERS, letter_file, make_project
from editing import edit
from hmicfrs_letters.cli import app
from hmicfrs_letters.core.text import letter_passages
from hmicfrs_letters.pdf.engine import PdfRenderer
from hmicfrs_letters.pdf.verify import PdfTextMismatch, check_rendered, pdf_text
from textutil import pdf_text as pages_text

OUT = "output/apsp-2017"


@pytest.fixture(scope="module")
def built_once(tmp_path_factory) -> Path:
    """A project with the letters of Cleveland and Kent built, once for this module."""
    root = make_project(tmp_path_factory.mktemp("built") / "project", SOME_LETTERS)
    result = CliRunner().invoke(app, ["--project", str(root), "build", "-j", "1", "-f", "cleveland", "-f", "kent"])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def built(project, built_once) -> Path:
    shutil.copytree(built_once / "output", project / "output", dirs_exist_ok=True)  # beside the fixture's cache
    return project / OUT


def test_verify_passes_on_a_fresh_build(letters, built):
    result = letters("verify", "-f", "cleveland", "-f", "kent")
    assert result.exit_code == 0, result.output
    assert result.output == "Verified 2 PDFs, 0 problems\n"


def test_verify_catches_a_pdf_whose_text_was_altered(letters, project, built):
    html = (built / "html" / "cleveland.html").read_text()
    altered = PdfRenderer(project / "templates" / "assets").render(html.replace("within six months", "within six weeks"))
    (built / "pdf" / "cleveland.pdf").write_bytes(altered.data)
    result = letters("verify", "-f", "cleveland", "-f", "kent")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {OUT}/pdf/cleveland.pdf: Cleveland Police: the PDF's text lacks 1 passage of the letter, "
        "first: 'To address this cause of concern, we recommend that within six months, all forces should h…'\n"
        f"Error: {OUT}/pdf/cleveland.pdf: Cleveland Police: the PDF is not the one the build wrote (its SHA-256 is not the manifest's)\n"
        "Verified 2 PDFs, 2 problems\n"
    )


def test_verify_catches_a_pdf_that_no_longer_says_what_the_data_says(letters, project, built):
    edit(letter_file(project, "cleveland"), "We were pleased", "We were delighted")
    result = letters("verify", "-f", "cleveland")
    assert result.exit_code == 1
    assert "Cleveland Police: the PDF's text lacks 1 passage of the letter, first: 'We were delighted" in result.output


def test_verify_reports_a_missing_or_unreadable_pdf(letters, built):
    (built / "pdf" / "kent.pdf").write_bytes(b"%PDF-1.7 not really")
    result = letters("verify", "-f", "cleveland", "-f", "kent", "-f", "sussex")
    assert result.exit_code == 1
    assert f"Error: {OUT}/pdf/kent.pdf: Kent Police: cannot read the PDF: " in result.output
    assert f"Error: {OUT}/pdf/sussex.pdf: Sussex Police: no PDF; run `letters build`" in result.output


@pytest.mark.empty_cache
def test_the_build_refuses_a_pdf_whose_text_does_not_match(letters, project):
    """A stylesheet that changes what the PDF says (capitals, here) fails the letter; its PDF is neither written nor cached."""
    css = project / "templates" / "base" / "letter.css"
    css.write_text(css.read_text() + "\n.sign-off p:first-child { text-transform: uppercase; }\n")
    result = letters("build", "-j", "1", "-f", "cleveland", "--rebuild")
    assert result.exit_code == 1
    assert (
        "Error: data/assessments/apsp-2017/cleveland.yaml: PDF rendering failed: PdfTextMismatch: "
        "the PDF's text lacks 1 passage of the letter, first: 'Yours sincerely'"
    ) in result.output
    assert not (project / OUT / "pdf" / "cleveland.pdf").exists()
    assert len([p for p in (project / "output" / ".cache" / "pdf").rglob("*") if p.is_file()]) == 1  # the overview's alone


def test_a_paragraph_over_a_page_break_and_lines_broken_at_hyphens_still_verify(letters, project):
    edit(project / "data" / "assessments" / "apsp-2017.yaml", "page_limit: 2", "page_limit: 4")
    words = " ".join(f"counter-corruption-{n} well-founded-{n}" for n in range(260))
    edit(letter_file(project, "kent"), 'findings: ""', f"findings: '{words}'")
    result = letters("build", "-j", "1", "-f", "kent", "--format", "pdf")
    assert result.exit_code == 0, result.output
    data = (project / OUT / "pdf" / "kent.pdf").read_bytes()
    raw = pages_text(project / OUT / "pdf" / "kent.pdf")
    assert "- " in raw.replace("Page 1 of", "")  # some lines did break after a hyphen
    assert "Page 2 of 3" not in pdf_text(data)
    assert "DRAFT" not in pdf_text(data)  # a running mark on every page is left out, like the footer


def test_passages_are_the_letters_blocks_and_lines_folded():
    html = '<p>Outside</p><article class="letter"><p>First “quoted”\n  one.</p><address>A<br>B</address></article>'
    assert [p.text for p in letter_passages(html)] == ['First "quoted" one.', "A", "B"]


# --- integrity both ways ---------------------------------------------------------------------------------


def test_a_pdf_with_a_page_of_another_letter_appended_fails_verify(letters, built):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for name in ("kent", "cleveland"):
        reader = PdfReader(built / "pdf" / f"{name}.pdf")
        for page in reader.pages if name == "kent" else reader.pages[:1]:
            writer.add_page(page)
    with open(built / "pdf" / "kent.pdf", "wb") as out:
        writer.write(out)
    result = letters("verify", "-f", "cleveland", "-f", "kent")
    assert result.exit_code == 1
    assert f"Error: {OUT}/pdf/kent.pdf: Kent Police: the PDF holds text that is not its letter's, first: '" in result.output
    assert f"Error: {OUT}/pdf/kent.pdf: Kent Police: the PDF has 3 pages; the build that wrote it counted 2" in result.output
    assert f"Error: {OUT}/pdf/kent.pdf: Kent Police: the PDF is not the one the build wrote" in result.output
    assert "cleveland.pdf" not in result.output


def test_verify_checks_the_html_against_the_manifest_and_the_data(letters, built):
    html = built / "html" / "cleveland.html"
    html.write_text(html.read_text().replace("<strong>", "<span>").replace("</strong>", "</span>"))
    result = letters("verify", "-f", "cleveland")
    assert result.exit_code == 1
    assert f"Error: {OUT}/html/cleveland.html: Cleveland Police: the HTML is not the one the build wrote" in result.output


def test_verify_without_the_builds_manifest_says_what_it_cannot_check(letters, built):
    (built / "manifest.json").unlink()
    result = letters("verify", "-f", "kent")
    assert result.exit_code == 1
    assert f"Error: {OUT}/manifest.json: cannot check the PDFs' pages and the files' hashes against the build's manifest" in result.output


def test_a_list_then_a_paragraph_over_a_page_break_builds(letters, project):
    """The bullets of a list are drawn after the rest of their page: read in the middle of a
    paragraph that runs on to the next page, they once failed a true PDF."""
    long = " ".join(["The force has made progress in several areas of its plan and has set out what it needs."] * 9)
    findings = f"The force submitted its plans on time.\\n\\n- it has reviewed its unit;\\n- it has bought new software.\\n\\n{long}"
    edit(letter_file(project, "kent"), 'findings: ""', f'findings: "{findings}"')
    result = letters("build", "-j", "1", "-r", "kent", "--format", "pdf")
    assert result.exit_code == 0, result.output
    assert (project / OUT / "pdf" / "kent.pdf").exists()


_WORDS = "the force has plans to seek intelligence on abuse of position counter-corruption unit 2017 and/or well-founded 'risk'".split()
_PARAGRAPH = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=220).map(lambda words: " ".join(words).capitalize() + ".")
_ITEM = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=40).map(" ".join)
_BLOCK = st.one_of(
    _PARAGRAPH,
    st.tuples(st.sampled_from(["-", "1."]), st.lists(_ITEM, min_size=1, max_size=5)).map(
        lambda pair: "\n".join(f"{pair[0]} {item}" for item in pair[1])
    ),
    st.tuples(st.sampled_from(["##", "###"]), _ITEM).map(" ".join),
    _PARAGRAPH.map(lambda p: "> " + p),
)


@pytest.fixture(scope="module")
def kent_letter(tmp_path_factory):
    """Kent's letter as the fixture project renders it, and a function giving its HTML with other findings."""
    from hmicfrs_letters.core.project import Project
    from hmicfrs_letters.core.render import render_letter
    from hmicfrs_letters.core.templates import Templates
    from hmicfrs_letters.core.validate import load_batch

    root = make_project(tmp_path_factory.mktemp("property") / "project", SOME_LETTERS)
    batch = load_batch(Project.at(root), "apsp-2017")
    kent = next(item for item in batch.letters if item.slug == "kent")
    templates = Templates(root / "templates")

    def html(findings: str) -> str:
        letter = dataclasses.replace(kent.letter, values={**kent.letter.values, "findings": findings})
        return render_letter(templates, batch.assessment, letter, kent.shown)

    return html, PdfRenderer(root / "templates" / "assets")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks=st.lists(_BLOCK, min_size=1, max_size=8), data=st.data())
def test_the_text_check_passes_every_true_pdf_and_fails_one_with_a_word_taken_out(kent_letter, blocks, data):
    """Paragraphs of every length, lists, headings and quotes, so page breaks in every place."""
    html, renderer = kent_letter
    page = html("\n\n".join(blocks))
    check_rendered(page, renderer.render(page).data)  # raises PdfTextMismatch on a false failure
    # A word of the longest block taken out (a shorter passage might be found in a longer one after it).
    which = max(range(len(blocks)), key=lambda n: len(blocks[n]))
    words = list(re.finditer(r"[A-Za-z0-9'/-]{2,}", blocks[which]))
    cut = words[data.draw(st.integers(0, len(words) - 1))]
    shorter = blocks[which][: cut.start()] + blocks[which][cut.end() :]
    altered = html("\n\n".join([*blocks[:which], shorter, *blocks[which + 1 :]]))
    with pytest.raises(PdfTextMismatch):
        check_rendered(page, renderer.render(altered).data)
