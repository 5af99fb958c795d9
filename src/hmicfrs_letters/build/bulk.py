"""Bulk orchestration: which letters, made in parallel, written, indexed, summarised.

Each letter succeeds or fails alone: a problem in one force's file, template or PDF never stops
the others. A build writes every letter's HTML and PDF, the index, the national overview and,
last, the audit manifest.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from hmicfrs_letters.build.manifest import MANIFEST, write_manifest
from hmicfrs_letters.build.overview import render_overview
from hmicfrs_letters.build.pages import page_limit_problem
from hmicfrs_letters.build.report import BuildReport, LetterResult
from hmicfrs_letters.core.files import NameTooLong, remove_stale_temps, write_atomic, writing
from hmicfrs_letters.core.models import FAILED
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.validate import Batch
from hmicfrs_letters.pdf.service import LETTER_TIME_LIMIT, TASKS_PER_WORKER, Job, Made, PdfService

FORMATS = ("html", "pdf")
INDEX_TEMPLATE = "base/index.html.j2"
_OVERVIEW = object()  # the overview's key among the documents a build makes


Progress = Callable[[LetterResult], None]


def build(
    batch: Batch,
    slugs: Sequence[str] = (),
    formats: Sequence[str] = FORMATS,
    out: Path | None = None,
    jobs: int | None = None,
    rebuild: bool = False,
    progress: Progress | None = None,
    timeout: float = LETTER_TIME_LIMIT,
    tasks_per_worker: int = TASKS_PER_WORKER,
    final: bool = False,
) -> BuildReport:
    """Build the letters of these forces (all by default) into out/<assessment>/, with index, overview and manifest.

    Each letter is made in a worker process (`jobs` of them, the cores by default), under a time
    limit of `timeout` seconds; its PDF comes from the cache when its HTML and assets are
    unchanged. A write that fails (output/ read-only or full) stops the build with a LetterError;
    what was written before stays whole. A template that does not compile is a LetterError too.
    """
    started = time.perf_counter()
    project, assessment = batch.project, batch.assessment
    items = batch.select(slugs)
    templates = Templates(project.templates_dir)
    templates.compile(assessment.template)
    overview = render_overview(templates, batch)

    out_root = (out or project.output_dir).resolve()
    out_dir = out_root / assessment.slug
    report = BuildReport(out_dir, [LetterResult(item, list(item.problems)) for item in items])
    todo = {r.slug: r for r in report.results if not r.failed}
    for result in report.results:
        if result.failed and progress:
            progress(result)

    want_pdf = "pdf" in formats
    service = PdfService(
        project,
        out_root / ".cache" / "pdf",
        jobs=jobs,
        timeout=timeout,
        letter_template=assessment.template,
        pdf=want_pdf,
        rebuild=rebuild,
        tasks_per_worker=tasks_per_worker,
    )
    remove_stale_temps(out_dir)
    remove_stale_temps(service.cache.folder)
    documents = [(_OVERVIEW, Job(project.shown(out_dir / "overview.pdf"), html=overview))] if want_pdf else []
    documents += [(slug, Job(r.item.shown, letter=(assessment, r.letter), pdf=want_pdf)) for slug, r in todo.items()]
    overview_pdf = None
    output = _Output(project, out_dir)
    with service:
        for key, made in service.make(documents):
            if key is _OVERVIEW:
                overview_pdf = made
                continue
            result = todo[key]
            _keep(result, made, formats, output)
            if progress:
                progress(result)

    for result in report.results:
        over = page_limit_problem(assessment, result.letter, result.item.shown, result.pages)
        result.problems += [over] if over else []
    output.write(out_dir / "index.html", render_index(templates, batch, report))
    output.write(out_dir / "overview.html", overview)
    if overview_pdf is not None:
        if overview_pdf.problem:
            report.problems.append(overview_pdf.problem)
        else:
            output.write(out_dir / "overview.pdf", overview_pdf.pdf)
    with writing(project.shown(out_dir / MANIFEST), then="the letters are written, but not the manifest that records them"):
        write_manifest(batch, report, final)
    report.seconds = time.perf_counter() - started
    return report


class _Output:
    """Writes a build's files. Once one of them has changed, the previous build's manifest no longer
    describes the output, and is removed: a build that stops part way leaves none that misleads."""

    def __init__(self, project: Project, out_dir: Path) -> None:
        self.project, self.out_dir = project, out_dir
        self.changed = False

    def write(self, path: Path, data: bytes | str) -> None:
        """Write one file atomically; LetterError (NameTooLong for its name alone) when it cannot be."""
        with writing(self.project.shown(path)):
            changed = write_atomic(path, data)
            if changed and not self.changed:
                (self.out_dir / MANIFEST).unlink(missing_ok=True)
                self.changed = True


def _keep(result: LetterResult, made: Made, formats: Sequence[str], output: _Output) -> None:
    """Write what a worker made of one letter; a name too long for the file system fails this letter alone."""
    if made.problem:
        result.problems.append(made.problem)
    try:
        if made.html is not None and "html" in formats:
            output.write(output.out_dir / "html" / f"{result.slug}.html", made.html)
            result.html = output.out_dir / "html" / f"{result.slug}.html"
        if made.pdf is not None:
            output.write(output.out_dir / "pdf" / f"{result.slug}.pdf", made.pdf)
            result.rendered = made.rendered
            result.pdf, result.pages = output.out_dir / "pdf" / f"{result.slug}.pdf", made.pages
    except NameTooLong as exc:
        result.problems += exc.problems


def render_index(templates: Templates, batch: Batch, report: BuildReport) -> str:
    """The index page of a build: every letter of the assessment, with its outcome, status and files."""
    by_slug = {r.slug: r for r in report.results}
    entries = []
    for item in batch.letters:
        result = by_slug.get(item.slug)
        html = report.out_dir / "html" / f"{item.slug}.html"
        pdf = report.out_dir / "pdf" / f"{item.slug}.pdf"
        status = result.status if result else item.status
        letter = item.letter
        outcome = batch.assessment.category(letter.outcome) if letter else None
        entries.append(
            {
                "name": letter.force.name if letter else item.slug,
                "outcome": outcome.label if outcome else None,
                "status": status,
                "html": None if status == FAILED or not html.exists() else f"html/{item.slug}.html",
                "pdf": None if status == FAILED or not pdf.exists() else f"pdf/{item.slug}.pdf",
                "error": "\n".join(str(p) for p in (result.problems if result else item.errors) if p.is_error),
            }
        )
    return templates.render(INDEX_TEMPLATE, {"assessment": batch.assessment, "entries": entries})
