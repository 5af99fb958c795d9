"""Bulk orchestration: which letters, made in parallel, written, indexed, summarised.

Each letter succeeds or fails alone: a problem in one force's file, template or PDF never stops
the others. A build writes every letter's HTML and PDF, the index, the national overview and,
last, the audit manifest.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from filelock import FileLock

from hmicfrs_letters.build.manifest import MANIFEST, write_manifest
from hmicfrs_letters.build.overview import render_overview
from hmicfrs_letters.build.pages import page_limit_problem
from hmicfrs_letters.build.report import BuildReport, LetterResult
from hmicfrs_letters.core.approval import AGAIN, html_fingerprint
from hmicfrs_letters.core.errors import Problem
from hmicfrs_letters.core.files import NameTooLong, remove_stale_temps, write_atomic, writing
from hmicfrs_letters.core.models import FAILED, Assessment
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.validate import Batch
from hmicfrs_letters.pdf.service import LETTER_TIME_LIMIT, TASKS_PER_WORKER, Job, Made, PdfService

FORMATS = ("html", "pdf")
# The hand-over folder of a final build, under out/<assessment>/, and the new one while it is made.
FINAL, STAGING_PREFIX, FINAL_LOCK = "final", ".final-", ".final.lock"
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
    """Build the letters of these recipients (all by default) into out/<assessment>/, with index, overview and manifest.

    Each letter is made in a worker process (`jobs` of them, the cores by default), under a time
    limit of `timeout` seconds; its PDF comes from the cache when its HTML and assets are
    unchanged. A write that fails (output/ read-only or full) stops the build with a LetterError;
    what was written before stays whole. A template that does not compile is a LetterError too.

    A final build (the caller has checked that every letter is approved) goes into a new folder
    that replaces out/<assessment>/final/ whole, and only when every letter in it was made and
    verified; otherwise the new folder is removed and the old final/ is left as it was.
    """
    out_root = (out or batch.project.output_dir).resolve()
    folder = out_root / batch.assessment.slug
    if not final:
        return _build_into(folder, batch, slugs, formats, out_root, jobs, rebuild, progress, timeout, tasks_per_worker, final)
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(folder / FINAL_LOCK):  # one final build of an assessment at a time
        for stale in folder.glob(f"{STAGING_PREFIX}*"):  # left by a final build that was killed
            shutil.rmtree(stale, ignore_errors=True)
        staging = _new_folder(folder, STAGING_PREFIX)
        try:
            report = _build_into(staging, batch, slugs, formats, out_root, jobs, rebuild, progress, timeout, tasks_per_worker, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        target = folder / FINAL
        if report.failed or report.problems:
            shutil.rmtree(staging, ignore_errors=True)
            report.problems.append(
                Problem(batch.project.shown(target), "final build failed: nothing of it was kept, and the folder is as it was before")
            )
        else:
            with writing(batch.project.shown(target)):
                _swap_in(staging, target)
        report.out_dir = target
    return report


def _build_into(
    out_dir: Path,
    batch: Batch,
    slugs: Sequence[str],
    formats: Sequence[str],
    out_root: Path,
    jobs: int | None,
    rebuild: bool,
    progress: Progress | None,
    timeout: float,
    tasks_per_worker: int,
    final: bool,
) -> BuildReport:
    started = time.perf_counter()
    project, assessment = batch.project, batch.assessment
    items = batch.select(slugs)
    templates = Templates(project.templates_dir)
    templates.compile(assessment.template)
    overview = render_overview(templates, batch)

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
            _keep(result, made, formats, output, assessment, final)
            if progress:
                progress(result)

    if not final:
        _remove_what_no_letter_stands_for(batch, report, output)
    output.write(out_dir / "index.html", render_index(templates, batch, report, only_built=final))
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
            self._changing(write_atomic(path, data))

    def remove(self, path: Path) -> None:
        with writing(self.project.shown(path)):
            self._changing(path.exists())
            path.unlink(missing_ok=True)

    def _changing(self, changed: bool) -> None:
        if changed and not self.changed:
            (self.out_dir / MANIFEST).unlink(missing_ok=True)
            self.changed = True


def _keep(result: LetterResult, made: Made, formats: Sequence[str], output: _Output, assessment: Assessment, final: bool) -> None:
    """Write what a worker made of one letter. A letter that fails gets no PDF; a name too long for
    the file system fails this letter alone."""
    if made.problem:
        result.problems.append(made.problem)
    if made.pdf is not None:
        result.pages = made.pages
        over = page_limit_problem(assessment, result.letter, result.item.shown, made.pages)
        result.problems += [over] if over else []
    record = result.letter.approved if result.letter else None
    if final and made.html is not None and (record is None or html_fingerprint(made.html, assessment.wording_sha256) != record.sha256):
        # What the worker made must be what was approved: checked on the very HTML written.
        result.problems.append(Problem(result.item.shown, f"the letter made is not the letter approved; {AGAIN}"))
    try:
        if made.html is not None and "html" in formats:
            html = output.out_dir / "html" / f"{result.slug}.html"
            output.write(html, made.html)
            result.html = html
        if made.pdf is not None and not result.failed:
            pdf = output.out_dir / "pdf" / f"{result.slug}.pdf"
            output.write(pdf, made.pdf)
            result.pdf, result.rendered = pdf, made.rendered
    except NameTooLong as exc:
        result.problems += exc.problems


def _remove_what_no_letter_stands_for(batch: Batch, report: BuildReport, output: _Output) -> None:
    """The PDF of a letter that failed (and its HTML, unless made now), and the files of a recipient no longer in the data."""
    out_dir = report.out_dir
    stale = []
    for result in report.failed:
        stale.append(out_dir / "pdf" / f"{result.slug}.pdf")
        if result.html is None:
            stale.append(out_dir / "html" / f"{result.slug}.html")
    known = {item.slug for item in batch.letters}
    for kind in ("html", "pdf"):
        stale += [path for path in (out_dir / kind).glob(f"*.{kind}") if path.stem not in known]
    for path in stale:
        output.remove(path)


def _new_folder(parent: Path, prefix: str) -> Path:
    """A new empty folder, made with the user's umask (mkdtemp would make it 0700)."""
    while True:
        folder = parent / f"{prefix}{secrets.token_hex(4)}"
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue


def _swap_in(staging: Path, target: Path) -> None:
    """Put the new folder in the old one's place with two renames; the old one is removed after.

    A reader never sees a mixture of the two; for an instant between the renames, no folder.
    """
    old = None
    if target.exists():
        old = _new_folder(target.parent, STAGING_PREFIX + "old-")
        os.replace(target, old / FINAL)
    os.rename(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def render_index(templates: Templates, batch: Batch, report: BuildReport, only_built: bool = False) -> str:
    """The index page of a build: every letter of the assessment (or, `only_built`, of the build), with its outcome, status and files."""
    by_slug = {r.slug: r for r in report.results}
    entries = []
    for item in [r.item for r in report.results] if only_built else batch.letters:
        result = by_slug.get(item.slug)
        html = report.out_dir / "html" / f"{item.slug}.html"
        pdf = report.out_dir / "pdf" / f"{item.slug}.pdf"
        status = result.status if result else item.status
        letter = item.letter
        outcome = batch.assessment.category(letter.outcome) if letter else None
        entries.append(
            {
                "name": item.name,
                "outcome": outcome.label if outcome else None,
                "status": status,
                "html": None if status == FAILED or not html.exists() else f"html/{item.slug}.html",
                "pdf": None if status == FAILED or not pdf.exists() else f"pdf/{item.slug}.pdf",
                "error": "\n".join(str(p) for p in (result.problems if result else item.errors) if p.is_error),
            }
        )
    return templates.render(INDEX_TEMPLATE, {"assessment": batch.assessment, "words": batch.recipients, "entries": entries})
