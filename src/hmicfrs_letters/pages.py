"""The page limit: how many pages each letter has, and which letters are over their assessment's limit.

Counting pages means laying the letter out. `letters check` and `letters approve` take the
count from the build's PDF cache when the letter was built as it is now, lay out only the
letters that changed, and remember every count for the life of the process; they never write.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from hmicfrs_letters.cache import PdfCache, environment_digest
from hmicfrs_letters.errors import Problem
from hmicfrs_letters.models import Assessment, Letter
from hmicfrs_letters.project import Project
from hmicfrs_letters.validate import Batch

# Page counts by cache key (the HTML and everything else the PDF depends on), for this process.
_counted: dict[str, int] = {}
_MAX_COUNTED = 20_000


def page_counts(project: Project, htmls: Mapping[str, str], out: Path | None = None) -> dict[str, int]:
    """The page count of each letter's HTML, by slug: from memory, the PDF cache, or a layout."""
    assets = project.templates_dir / "assets"
    cache = PdfCache((out or project.output_dir).resolve() / ".cache" / "pdf", environment_digest(assets))
    renderer = None
    counts = {}
    for slug, html in htmls.items():
        key = cache.key(html)
        if key not in _counted:
            cached = cache.get(key)
            if cached is not None:
                pages = cached[1]
            else:
                if renderer is None:
                    from hmicfrs_letters.pdf import PdfRenderer  # WeasyPrint takes a third of a second to import

                    renderer = PdfRenderer(assets)
                pages = renderer.count_pages(html)
            if len(_counted) >= _MAX_COUNTED:
                _counted.clear()
            _counted[key] = pages
        counts[slug] = _counted[key]
    return counts


def page_limit_problem(assessment: Assessment, letter: Letter | None, shown: str, pages: int | None) -> Problem | None:
    """An error when the letter has more pages than its assessment allows."""
    if letter is None or pages is None or pages <= assessment.page_limit:
        return None
    return Problem(
        shown,
        f"{letter.force.name}: the letter has {pages} pages, over the limit of {assessment.page_limit} "
        f"(page_limit in data/assessments/{assessment.slug}.yaml); shorten the findings",
    )


def page_problems(batch: Batch, htmls: Mapping[str, str], out: Path | None = None) -> list[Problem]:
    """An error for each of these letters (HTML by slug) that is over the page limit."""
    counts = page_counts(batch.project, htmls, out)
    items = {item.slug: item for item in batch.letters}
    found = (page_limit_problem(batch.assessment, items[slug].letter, items[slug].shown, n) for slug, n in counts.items())
    return [problem for problem in found if problem]
