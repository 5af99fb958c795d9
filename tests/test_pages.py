"""The page limit: a letter over its assessment's page_limit is an error naming the force and its page count."""

from __future__ import annotations

from pathlib import Path

from editing import edit
from hmicfrs_letters import pages
from hmicfrs_letters.cache import PdfCache, environment_digest
from hmicfrs_letters.project import Project
from hmicfrs_letters.render import render_letter
from hmicfrs_letters.templates import make_environment
from hmicfrs_letters.validate import load_batch

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
    assert "43 errors" in result.output
    assert not (project / "output").exists()  # the check writes nothing, not even the cache


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


def test_check_takes_page_counts_from_the_build_cache(letters, project, monkeypatch):
    """A letter built as it is now is not laid out again: its count comes from the cache."""
    batch = load_batch(Project.at(project))
    item = next(i for i in batch.letters if i.slug == "cleveland")
    html = render_letter(make_environment(project / "templates"), batch.assessment, item.letter, item.shown)
    assets = project / "templates" / "assets"
    cache = PdfCache(project / "output" / ".cache" / "pdf", environment_digest(assets))
    cache.put(cache.key(html), b"%PDF-1.7 stand-in", 5)  # a count no layout would give
    monkeypatch.setattr(pages, "_counted", {})  # and the stand-in count is forgotten after the test
    result = letters("check")
    assert f"{CLEVELAND}: Cleveland Police: the letter has 5 pages, over the limit of 2" in result.output
    assert "42 errors" not in result.output and "1 errors" in result.output
