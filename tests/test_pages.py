"""The page limit: a letter over its assessment's page_limit is an error naming the force and its page count."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SOME_LETTERS, keep_letters
from editing import edit
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.render import render_letter
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.validate import load_batch
from hmicfrs_letters.pdf.cache import PdfCache, environment_digest

CLEVELAND = "data/assessments/apsp-2017/cleveland.yaml"


def set_page_limit(project: Path, limit: int) -> None:
    edit(project / "data" / "assessments" / "apsp-2017.yaml", "page_limit: 2", f"page_limit: {limit}")


def test_every_letter_fits_the_limit_of_two_pages(letters):
    result = letters("check")
    assert result.exit_code == 0, result.output
    assert "pages" not in result.output


def test_check_names_the_force_and_its_page_count(letters, project):
    set_page_limit(project, 1)
    result = letters("check")
    assert result.exit_code == 1
    assert (
        f"{CLEVELAND}: Cleveland Police: the letter has 2 pages, over the limit of 1 "
        "(page_limit in data/assessments/apsp-2017.yaml); shorten the findings"
    ) in result.output.splitlines()
    assert f"{len(SOME_LETTERS)} errors" in result.output
    # The check writes nothing but the PDFs it made into the build's cache, for the next build.
    written = [p.relative_to(project / "output").parts[:2] for p in (project / "output").rglob("*") if p.is_file()]
    assert set(written) == {(".cache", "pdf")}


def test_check_without_pages_skips_the_count(letters, project):
    set_page_limit(project, 1)
    assert letters("check", "--no-pages").exit_code == 0


def test_build_fails_a_letter_over_the_limit(letters, project):
    set_page_limit(project, 1)
    result = letters("build", "-j", "1", "-f", "cleveland", "--format", "pdf")
    assert result.exit_code == 1
    assert f"Error: {CLEVELAND}: Cleveland Police: the letter has 2 pages, over the limit of 1" in result.output
    assert "0 failed" not in result.output and "1 failed" in result.output
    assert "failed" in (project / "output" / "apsp-2017" / "index.html").read_text()


def test_check_takes_page_counts_from_the_build_cache(letters, project):
    """A letter built as it is now is not laid out again: its count comes from the cache."""
    batch = load_batch(Project.at(project))
    item = next(i for i in batch.letters if i.slug == "cleveland")
    html = render_letter(Templates(project / "templates"), batch.assessment, item.letter, item.shown)
    assets = project / "templates" / "assets"
    cache = PdfCache(project / "output" / ".cache" / "pdf", environment_digest(assets))
    cache.put(cache.key(html), b"%PDF-1.7 stand-in", 5)  # a count no layout would give
    result = letters("check")
    assert f"{CLEVELAND}: Cleveland Police: the letter has 5 pages, over the limit of 2" in result.output
    assert "42 errors" not in result.output and "1 error, " in result.output


def test_letters_are_laid_out_in_worker_processes_not_in_the_checking_one(project):
    """Counting the 43 letters' pages takes 1.8 s rather than 3.9 s on 2 cores; the check itself never imports WeasyPrint."""
    set_page_limit(project, 1)
    script = (
        "import atexit, sys; atexit.register(lambda: print('weasyprint imported:', 'weasyprint' in sys.modules)); "
        "from hmicfrs_letters.launch import main; main()"
    )
    done = subprocess.run([sys.executable, "-c", script, "--project", str(project), "check"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert done.stdout.count("the letter has 2 pages, over the limit of 1") == len(SOME_LETTERS)
    assert done.stdout.strip().endswith("weasyprint imported: False")


@pytest.mark.empty_cache
def test_a_letter_whose_pdf_fails_its_text_check_is_an_error_of_check_with_the_reason(letters, project):
    """`letters check` makes each PDF as a build does, so what would fail the build fails the check."""
    total = keep_letters(project, 4, "cleveland")  # every letter is laid out again: four show it
    css = project / "templates" / "base" / "letter.css"
    css.write_text(css.read_text() + "\n.sign-off p:first-child { text-transform: uppercase; }\n")
    result = letters("check")
    assert result.exit_code == 1
    assert (
        f"{CLEVELAND}: PDF rendering failed: PdfTextMismatch: the PDF's text lacks 1 passage of the letter, first: 'Yours sincerely'; "
        "the stylesheet changes the words the PDF holds: `text-transform: uppercase` in `.sign-off p:first-child`"
    ) in result.output.splitlines()
    assert f"{total} errors" in result.output
    assert not list((project / "output" / ".cache" / "pdf").rglob("*"))  # no PDF that failed is cached
