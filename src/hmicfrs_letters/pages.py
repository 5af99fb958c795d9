"""The page limit: how many pages each letter has, and which letters are over their assessment's limit.

Counting pages means laying the letter out. `letters check` and `letters approve` take the
count from the build's PDF cache when the letter was built as it is now, lay out only the
letters that changed (in worker processes, as a build does), and remember every count for the
life of the process; they never write.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from hmicfrs_letters.cache import PdfCache, environment_digest
from hmicfrs_letters.errors import Problem
from hmicfrs_letters.launch import WORKER_MODULES
from hmicfrs_letters.models import Assessment, Letter
from hmicfrs_letters.project import Project
from hmicfrs_letters.validate import Batch
from hmicfrs_letters.workers import TaskFailed, WorkerPool, default_jobs, template_for

# Page counts by cache key (the HTML and everything else the PDF depends on), for this process.
_counted: dict[str, int] = {}
_MAX_COUNTED = 20_000


def page_counts(project: Project, htmls: Mapping[str, str], out: Path | None = None) -> dict[str, int | TaskFailed]:
    """The page count of each letter's HTML, by slug: from memory, the PDF cache, or laid out in
    worker processes (a TaskFailed, with its reason, for a letter that could not be)."""
    assets = project.templates_dir / "assets"
    cache = PdfCache((out or project.output_dir).resolve() / ".cache" / "pdf", environment_digest(assets))
    keys = {slug: cache.key(html) for slug, html in htmls.items()}
    found: dict[str, int | TaskFailed] = {}
    todo: dict[str, str] = {}
    for slug, key in keys.items():
        if key in found or key in todo:
            continue
        if key in _counted:
            found[key] = _counted[key]
        elif (cached := cache.get(key)) is not None:
            found[key] = cached[1]
        else:
            todo[key] = htmls[slug]
    found.update(_lay_out(assets, todo))
    counted = {key: n for key, n in found.items() if isinstance(n, int)}
    if len(_counted) + len(counted) > _MAX_COUNTED:
        _counted.clear()
    _counted.update(counted)
    return {slug: found[key] for slug, key in keys.items()}


def _lay_out(assets: Path, htmls: Mapping[str, str]) -> dict[str, int | TaskFailed]:
    """The page count of each of these HTML documents, by key, each laid out in a worker process
    (under the same time limit as a build's letters); the checking process never imports WeasyPrint."""
    if not htmls:
        return {}
    pool = WorkerPool(
        _count_pages,
        jobs=min(default_jobs(), len(htmls)),
        initializer=_start_counting,
        initargs=(assets,),
        preload=WORKER_MODULES,
        template=template_for(WORKER_MODULES),
    )
    with pool:
        return dict(pool.run(htmls.items()))


_renderer = None


def _start_counting(assets: Path) -> None:
    global _renderer
    from hmicfrs_letters.pdf import PdfRenderer

    _renderer = PdfRenderer(assets)
    _renderer.warm_up()


def _count_pages(html: str) -> int:
    return _renderer.count_pages(html)


def page_limit_problem(assessment: Assessment, letter: Letter | None, shown: str, pages: int | TaskFailed | None) -> Problem | None:
    """An error when the letter has more pages than its assessment allows, or they could not be counted."""
    if isinstance(pages, TaskFailed):
        return Problem(shown, f"its pages could not be counted: {pages.message}")
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
