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
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from filelock import FileLock

from hmicfrs_letters.build.manifest import MANIFEST, write_manifest
from hmicfrs_letters.build.overview import render_overview
from hmicfrs_letters.build.report import BuildReport, LetterResult
from hmicfrs_letters.core.errors import Problem
from hmicfrs_letters.core.files import NameTooLong, remove_stale_temps, write_atomic, writing
from hmicfrs_letters.core.models import FAILED
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.state import AGAIN, LetterState, assess
from hmicfrs_letters.core.status import STANDING
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.validate import Batch
from hmicfrs_letters.pdf.service import Job, Made, PdfService

FORMATS = ("html", "pdf")
# The hand-over folder of a final build, under out/<assessment>/, and the new one while it is made.
FINAL, STAGING_PREFIX, FINAL_LOCK = "final", ".final-", ".final.lock"
INDEX_TEMPLATE = "base/index.html.j2"
_OVERVIEW = object()  # the overview's key among the documents a build makes


Progress = Callable[[LetterResult], None]


def build(
    batch: Batch,
    templates: Templates,
    service: PdfService,
    slugs: Sequence[str] = (),
    formats: Sequence[str] = FORMATS,
    out: Path | None = None,
    progress: Progress | None = None,
    final: bool = False,
) -> BuildReport:
    """Build the letters of these recipients (all by default) into out/<assessment>/, with index, overview and manifest.

    Each letter is judged (core.state) and made in a worker process of `service`, under its time
    limit; its PDF comes from the cache when its HTML and assets are unchanged. A write that fails
    (output/ read-only or full) stops the build with a LetterError; what was written before stays
    whole. A template that does not compile is a LetterError too.

    A final build (the caller has checked that every letter is approved) goes into a new folder
    that replaces out/<assessment>/final/ whole, and only when every letter in it was made and
    verified; otherwise the new folder is removed and the old final/ is left as it was.
    """
    folder = (out or batch.project.output_dir).resolve() / batch.assessment.slug
    if not final:
        return _build_into(folder, batch, templates, service, slugs, formats, progress, final)
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(folder / FINAL_LOCK):  # one final build of an assessment at a time
        for stale in folder.glob(f"{STAGING_PREFIX}*"):  # left by a final build that was killed
            shutil.rmtree(stale, ignore_errors=True)
        staging = _new_folder(folder, STAGING_PREFIX)
        try:
            report = _build_into(staging, batch, templates, service, slugs, formats, progress, final)
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
    templates: Templates,
    service: PdfService,
    slugs: Sequence[str],
    formats: Sequence[str],
    progress: Progress | None,
    final: bool,
) -> BuildReport:
    started = time.perf_counter()
    project, assessment = batch.project, batch.assessment
    items = batch.select(slugs)
    templates.compile(assessment.template)
    want_pdf = "pdf" in formats
    remove_stale_temps(out_dir)
    remove_stale_temps(service.cache.folder)
    output = _Output(project, out_dir)

    results: dict[str, LetterResult] = {}
    for item in items:  # a file that cannot be read: nothing to send to a worker
        if item.letter is None:
            results[item.slug] = _tell(LetterResult(assess(templates, assessment, item)), progress)
    standard = assessment.standard(final)  # PDF/A-2a for a final build, unless the series chooses
    jobs = [
        (item.slug, Job(item.shown, letter=(assessment, item), pdf=want_pdf, standard=standard))
        for item in items
        if item.letter is not None
    ]
    by_slug = {item.slug: item for item in items}
    for slug, made in service.make(jobs):
        state = made.state or LetterState.unmade(by_slug[slug], assessment, made.problem)
        results[slug] = _tell(_keep(state, made, formats, output, final), progress)
    report = BuildReport(out_dir, [results[item.slug] for item in items])
    # The letters not built now are shown as they stand too, judged here.
    report.states = {
        item.slug: results[item.slug].state if item.slug in results else assess(templates, assessment, item) for item in batch.letters
    }
    overview = render_overview(templates, batch, report.states.values())
    overview_pdf = None
    if want_pdf:
        ((_, overview_pdf),) = service.make([(_OVERVIEW, Job(project.shown(out_dir / "overview.pdf"), html=overview, standard=standard))])
        if overview_pdf.problem:
            report.problems.append(overview_pdf.problem)

    if not final:
        _remove_what_no_letter_stands_for(batch, report, output)
    output.write(out_dir / "index.html", render_index(templates, batch, report, only_built=final))
    output.write(out_dir / "overview.html", overview)
    if overview_pdf is not None and overview_pdf.pdf is not None:
        output.write(out_dir / "overview.pdf", overview_pdf.pdf)
    with writing(project.shown(out_dir / MANIFEST), then="the letters are written, but not the manifest that records them"):
        write_manifest(batch, report, final)
    report.seconds = time.perf_counter() - started
    return report


def _tell(result: LetterResult, progress: Progress | None) -> LetterResult:
    if progress:
        progress(result)
    return result


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


def _keep(state: LetterState, made: Made, formats: Sequence[str], output: _Output, final: bool) -> LetterResult:
    """Write what a worker made of one letter. A letter that fails gets no PDF; a name too long for
    the file system fails this letter alone."""
    if made.pdf is not None:
        state = state.with_pages(made.pages)
    elif made.problem and made.state is not None:  # its PDF failed (a state made without the worker's holds its problem)
        state = state.with_pages(made.problem)
    result = LetterResult(state, rendered=made.rendered)
    if final and state.html is not None and state.status not in STANDING:
        # What the worker made must be what was approved: judged on the very HTML written.
        result.problems.append(Problem(state.item.shown, f"the letter made is not the letter approved; {AGAIN}"))
    try:
        if state.html is not None and "html" in formats:
            html = output.out_dir / "html" / f"{result.slug}.html"
            output.write(html, state.html)
            result.html = html
        if made.pdf is not None and not result.failed:
            pdf = output.out_dir / "pdf" / f"{result.slug}.pdf"
            output.write(pdf, made.pdf)
            result.pdf = pdf
    except NameTooLong as exc:
        result.problems += exc.problems
    return result


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
    entries = []
    for item in [r.item for r in report.results] if only_built else batch.letters:
        html = report.out_dir / "html" / f"{item.slug}.html"
        pdf = report.out_dir / "pdf" / f"{item.slug}.pdf"
        status = report.status(item.slug)
        result = next((r for r in report.results if r.slug == item.slug), None)
        errors = result.errors if result and result.failed else report.states[item.slug].errors
        letter = item.letter
        outcome = batch.assessment.category(letter.outcome) if letter else None
        failed = status == FAILED
        entries.append(
            {
                "name": item.name,
                "outcome": outcome.label if outcome else None,
                "status": status,
                "title": report.states[item.slug].title,  # "Issued on … to …"
                "html": None if failed or not html.exists() else f"html/{item.slug}.html",
                "pdf": None if failed or not pdf.exists() else f"pdf/{item.slug}.pdf",
                "error": "\n".join(str(p) for p in errors),
            }
        )
    counts = Counter(entry["status"] for entry in entries)
    # A hand-over folder says at the top whether it holds the whole series, naming what it leaves out.
    left_out = [(report.states[slug].name, why) for slug, why in report.left_out().items()] if only_built else []
    context = {"assessment": batch.assessment, "words": batch.recipients, "entries": entries, "counts": counts}
    return templates.render(INDEX_TEMPLATE, {**context, "final": only_built, "total": len(report.states), "left_out": left_out})
