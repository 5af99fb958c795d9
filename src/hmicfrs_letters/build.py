"""Bulk orchestration: which letters, rendered in parallel, cached, written, summarised.

Each letter succeeds or fails alone: a problem in one force's file, template or PDF never stops
the others.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from hmicfrs_letters.cache import PdfCache, environment_digest
from hmicfrs_letters.errors import LetterError, Problem
from hmicfrs_letters.models import Letter
from hmicfrs_letters.output import remove_stale_temps, write_atomic
from hmicfrs_letters.pages import page_limit_problem
from hmicfrs_letters.render import render_letter, render_page
from hmicfrs_letters.templates import make_environment, template_problem
from hmicfrs_letters.validate import Batch, LetterInput
from hmicfrs_letters.verify import check_rendered

FORMATS = ("html", "pdf")
INDEX_TEMPLATE = "base/index.html.j2"
# A worker process is replaced after this many letters, so that any memory WeasyPrint keeps
# between documents is handed back (GOV.UK Notify's renderer does the same).
TASKS_PER_WORKER = 200


@dataclass
class LetterResult:
    """What became of one letter in a build."""

    item: LetterInput
    problems: list[Problem] = field(default_factory=list)
    html: Path | None = None
    pdf: Path | None = None
    pages: int | None = None
    rendered: bool = False

    @property
    def slug(self) -> str:
        return self.item.slug

    @property
    def letter(self) -> Letter | None:
        return self.item.letter

    @property
    def failed(self) -> bool:
        return any(p.is_error for p in self.problems)


@dataclass
class BuildReport:
    out_dir: Path
    results: list[LetterResult]
    seconds: float = 0.0

    @property
    def failed(self) -> list[LetterResult]:
        return [r for r in self.results if r.failed]

    @property
    def built(self) -> list[LetterResult]:
        return [r for r in self.results if not r.failed]

    @property
    def drafts(self) -> list[LetterResult]:
        return [r for r in self.built if r.letter and r.letter.is_draft]

    @property
    def rendered(self) -> int:
        return sum(r.rendered for r in self.results)


Progress = Callable[[LetterResult], None]


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def build(
    batch: Batch,
    slugs: Sequence[str] = (),
    formats: Sequence[str] = FORMATS,
    out: Path | None = None,
    jobs: int = 1,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> BuildReport:
    """Build the letters of these forces (all by default) into out/<assessment>/."""
    started = time.perf_counter()
    project, assessment = batch.project, batch.assessment
    items = batch.select(slugs)
    env = make_environment(project.templates_dir)
    try:
        env.get_template(assessment.template)
    except jinja2.TemplateError as exc:
        raise LetterError(template_problem(exc, project.templates_dir, "templates")) from None

    out_dir = (out or project.output_dir).resolve() / assessment.slug
    remove_stale_temps(out_dir)
    assets = project.templates_dir / "assets"
    cache = PdfCache((out or project.output_dir).resolve() / ".cache" / "pdf", environment_digest(assets))
    report = BuildReport(out_dir, [LetterResult(item, list(item.problems)) for item in items])
    to_render: list[tuple[LetterResult, str, str]] = []

    def finish(result: LetterResult) -> None:
        if progress:
            progress(result)

    for result in report.results:
        if result.failed:
            finish(result)
            continue
        try:
            html = render_letter(env, assessment, result.letter, result.item.shown)
        except Exception as exc:  # any error inside a template is that letter's failure
            result.problems.append(template_problem(exc, project.templates_dir, "templates"))
            finish(result)
            continue
        if "html" in formats:
            result.html = out_dir / "html" / f"{result.slug}.html"
            write_atomic(result.html, html)
        if "pdf" not in formats:
            finish(result)
            continue
        key = cache.key(html)
        cached = None if rebuild else cache.get(key)
        if cached is None:
            to_render.append((result, html, key))
            continue
        _write_pdf(result, out_dir, *cached)
        finish(result)

    for result, key, outcome in _render_all(to_render, assets, jobs):
        if isinstance(outcome, BaseException):
            result.problems.append(Problem(result.item.shown, f"PDF rendering failed: {type(outcome).__name__}: {outcome}"))
        else:
            pdf, pages = outcome
            cache.put(key, pdf, pages)
            result.rendered = True
            _write_pdf(result, out_dir, pdf, pages)
        finish(result)

    for result in report.results:
        over = page_limit_problem(assessment, result.letter, result.item.shown, result.pages)
        result.problems += [over] if over else []
    write_atomic(out_dir / "index.html", render_index(env, batch, report))
    report.seconds = time.perf_counter() - started
    return report


def _write_pdf(result: LetterResult, out_dir: Path, pdf: bytes, pages: int) -> None:
    result.pdf = out_dir / "pdf" / f"{result.slug}.pdf"
    result.pages = pages
    write_atomic(result.pdf, pdf)


def render_index(env: jinja2.Environment, batch: Batch, report: BuildReport) -> str:
    """The index page of a build: every letter of the assessment, with its outcome, status and files."""
    by_slug = {r.slug: r for r in report.results}
    entries = []
    for item in batch.letters:
        result = by_slug.get(item.slug)
        html = report.out_dir / "html" / f"{item.slug}.html"
        pdf = report.out_dir / "pdf" / f"{item.slug}.pdf"
        failed = result is not None and result.failed
        letter = item.letter
        outcome = batch.assessment.category(letter.outcome) if letter else None
        entries.append(
            {
                "name": letter.force.name if letter else item.slug,
                "outcome": outcome.label if outcome else None,
                "status": "failed" if failed or not letter else letter.status,
                "html": None if failed or not html.exists() else f"html/{item.slug}.html",
                "pdf": None if failed or not pdf.exists() else f"pdf/{item.slug}.pdf",
                "error": "\n".join(str(p) for p in (result.problems if result else item.errors) if p.is_error),
            }
        )
    return render_page(env, INDEX_TEMPLATE, assessment=batch.assessment, entries=entries)


# --- rendering PDFs, in this process or in worker processes --------------------------------

_renderer = None


def _init_worker(assets: Path) -> None:
    global _renderer
    from hmicfrs_letters.pdf import PdfRenderer

    _renderer = PdfRenderer(assets)


def _render_checked(renderer, html: str) -> tuple[bytes, int]:
    rendered = renderer.render(html)
    check_rendered(html, rendered.data)  # the PDF's text read back: raises unless it holds the letter
    return rendered.data, rendered.pages


def _render_pdf(html: str) -> tuple[bytes, int]:
    return _render_checked(_renderer, html)


def _render_all(work: list[tuple[LetterResult, str, str]], assets: Path, jobs: int):
    """Yield (result, cache key, (pdf, pages) or the exception) as each PDF is done."""
    if not work:
        return
    if jobs <= 1 or len(work) == 1:
        from hmicfrs_letters.pdf import PdfRenderer

        renderer = PdfRenderer(assets)
        for result, html, key in work:
            try:
                yield result, key, _render_checked(renderer, html)
            except Exception as exc:
                yield result, key, exc
        return
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["hmicfrs_letters.pdf"])
    with ProcessPoolExecutor(
        max_workers=min(jobs, len(work)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(assets,),
        max_tasks_per_child=TASKS_PER_WORKER,
    ) as pool:
        futures: dict[Future, tuple[LetterResult, str]] = {pool.submit(_render_pdf, html): (result, key) for result, html, key in work}
        from concurrent.futures import as_completed

        for future in as_completed(futures):
            result, key = futures[future]
            try:
                yield result, key, future.result()
            except Exception as exc:
                yield result, key, exc
