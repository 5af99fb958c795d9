"""The page limit: how many pages each letter has, and the one message for a letter over its limit.

`letters check` and `letters approve` count a letter's pages by making its PDF along the one path
(pdf.service): from the build's cache when the letter was built as it is now, otherwise rendered
and checked in a worker process, as a build would, and kept in the cache for the next build.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from hmicfrs_letters.core.errors import Problem
from hmicfrs_letters.core.models import Assessment, Letter
from hmicfrs_letters.core.validate import Batch
from hmicfrs_letters.pdf.service import Job, PdfService


def page_counts(
    batch: Batch, htmls: Mapping[str, str], out: Path | None = None, service: PdfService | None = None
) -> dict[str, int | Problem]:
    """The page count of each letter's HTML, by slug; a Problem, with its reason, for a letter whose PDF could not be made.

    The PDFs are made by `service` when given (the preview's), else by a service of their own.
    """
    project = batch.project
    shown = {item.slug: item.shown for item in batch.letters}
    jobs = ((slug, Job(shown[slug], html=html)) for slug, html in htmls.items())
    if service is not None:
        return {slug: made.problem or made.pages for slug, made in service.make(jobs)}
    with PdfService(project, (out or project.output_dir).resolve() / ".cache" / "pdf") as own:
        return {slug: made.problem or made.pages for slug, made in own.make(jobs)}


def over_page_limit(assessment: Assessment, letter: Letter, pages: int) -> str | None:
    """Why a letter of this many pages is over its assessment's limit; None when it is not."""
    if pages <= assessment.page_limit:
        return None
    return (
        f"{letter.recipient.name}: the letter has {pages} pages, over the limit of {assessment.page_limit} "
        f"(page_limit in data/assessments/{assessment.slug}.yaml); shorten the findings"
    )


def page_limit_problem(assessment: Assessment, letter: Letter | None, shown: str, pages: int | Problem | None) -> Problem | None:
    """An error when the letter is over the page limit, or its PDF could not be made to count them."""
    if isinstance(pages, Problem):
        return pages
    if letter is None or pages is None:
        return None
    over = over_page_limit(assessment, letter, pages)
    return Problem(shown, over) if over else None


def page_problems(batch: Batch, htmls: Mapping[str, str]) -> list[Problem]:
    """An error for each of these letters (HTML by slug) that is over the page limit, or whose PDF fails."""
    items = {item.slug: item for item in batch.letters}
    found = (
        page_limit_problem(batch.assessment, items[slug].letter, items[slug].shown, n) for slug, n in page_counts(batch, htmls).items()
    )
    return [problem for problem in found if problem]
