"""Bulk orchestration: which letters, rendered in parallel, cached, written, summarised.

Each letter succeeds or fails alone: a problem in one force's file, template or PDF never stops
the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from hmicfrs_letters.cache import PdfCache, environment_digest
from hmicfrs_letters.errors import LetterError, Problem
from hmicfrs_letters.launch import WORKER_MODULES
from hmicfrs_letters.models import Assessment, Letter
from hmicfrs_letters.output import remove_stale_temps, write_atomic
from hmicfrs_letters.pages import page_limit_problem
from hmicfrs_letters.project import Project
from hmicfrs_letters.render import render_letter, render_page
from hmicfrs_letters.templates import make_environment, template_problem
from hmicfrs_letters.text import pdf_text
from hmicfrs_letters.validate import Batch, LetterInput
from hmicfrs_letters.verify import check_rendered
from hmicfrs_letters.workers import TaskFailed, Template, WorkerPool, take_early_template, template_for

FORMATS = ("html", "pdf")
INDEX_TEMPLATE = "base/index.html.j2"
# A worker process is replaced after this many letters, so that any memory WeasyPrint keeps
# between documents is handed back (GOV.UK Notify's renderer does the same).
TASKS_PER_WORKER = 500
# A letter takes a tenth of a second; one that takes a minute is stuck (a template that loops,
# a stylesheet that makes WeasyPrint spin): it fails alone and its worker is replaced.
LETTER_TIME_LIMIT = 60.0


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


def build(
    batch: Batch,
    slugs: Sequence[str] = (),
    formats: Sequence[str] = FORMATS,
    out: Path | None = None,
    jobs: int = 1,
    rebuild: bool = False,
    progress: Progress | None = None,
    timeout: float = LETTER_TIME_LIMIT,
    tasks_per_worker: int = TASKS_PER_WORKER,
    prerender: Sequence[str] = (),
) -> BuildReport:
    """Build the letters of these forces (all by default) into out/<assessment>/.

    Each letter is made in a worker process (`jobs` of them), under a time limit of `timeout`
    seconds; its PDF comes from the cache when its HTML and assets are unchanged. A write that
    fails (output/ read-only or full) stops the build with a LetterError; what was written
    before stays whole. `prerender`: the HTML of other documents (the overview) whose PDFs the
    same workers put into the cache, so that whoever writes them next finds them made.
    """
    started = time.perf_counter()
    project, assessment = batch.project, batch.assessment
    items = batch.select(slugs)
    env = make_environment(project.templates_dir)
    try:
        env.get_template(assessment.template)
    except jinja2.TemplateError as exc:
        raise LetterError(template_problem(exc, project.templates_dir, "templates")) from None

    out_root = (out or project.output_dir).resolve()
    out_dir = out_root / assessment.slug
    assets = project.templates_dir / "assets"
    cache = PdfCache(out_root / ".cache" / "pdf", environment_digest(assets))
    remove_stale_temps(out_dir)
    remove_stale_temps(cache.folder)
    report = BuildReport(out_dir, [LetterResult(item, list(item.problems)) for item in items])
    todo = {r.slug: r for r in report.results if not r.failed}
    for result in report.results:
        if result.failed and progress:
            progress(result)

    want_pdf = "pdf" in formats
    tasks: list[tuple[object, LetterTask | PageTask]] = [(n, PageTask(html, rebuild)) for n, html in enumerate(prerender) if want_pdf]
    tasks += [(slug, LetterTask(assessment, r.letter, r.item.shown, want_pdf, rebuild)) for slug, r in todo.items()]
    if tasks:
        with WorkerPool(
            _build_letter,
            jobs=jobs,
            initializer=_init_worker,
            initargs=(project.templates_dir, assessment.template, cache.folder, cache.environment, want_pdf),
            timeout=timeout,
            tasks_per_worker=tasks_per_worker,
            preload=WORKER_MODULES,
            template=_worker_template(want_pdf),
        ) as pool:
            for slug, output in pool.run(tasks):
                if slug not in todo:  # a prerendered document: into the cache, or left for its writer
                    if not isinstance(output, TaskFailed) and output.rendered:
                        with _writing(cache.path(output.key), project):
                            cache.put(output.key, output.pdf, output.pages)
                    continue
                result = todo[slug]
                if isinstance(output, TaskFailed):
                    result.problems.append(Problem(result.item.shown, output.message))
                else:
                    _keep(result, output, formats, out_dir, cache, project)
                if progress:
                    progress(result)

    for result in report.results:
        over = page_limit_problem(assessment, result.letter, result.item.shown, result.pages)
        result.problems += [over] if over else []
    with _writing(out_dir / "index.html", project):
        write_atomic(out_dir / "index.html", render_index(env, batch, report))
    report.seconds = time.perf_counter() - started
    return report


def _worker_template(pdf: bool) -> Template | None:
    """What to fork the workers from: a template that imports WeasyPrint once for them all when PDFs
    are due (the one the entry point started, if any); else this process, which has all they need."""
    if pdf:
        return template_for(WORKER_MODULES)
    early = take_early_template(WORKER_MODULES)
    if early is not None:
        early.close()
    return None


def _keep(result: LetterResult, output: LetterOutput, formats: Sequence[str], out_dir: Path, cache: PdfCache, project: Project) -> None:
    """Write what a worker made of one letter: its files, and a new PDF into the cache."""
    if output.problem:
        result.problems.append(output.problem)
    if output.html is not None and "html" in formats:
        result.html = out_dir / "html" / f"{result.slug}.html"
        with _writing(result.html, project):
            write_atomic(result.html, output.html)
    if output.pdf is not None:
        if output.rendered:
            result.rendered = True
            with _writing(cache.path(output.key), project):
                cache.put(output.key, output.pdf, output.pages)
        result.pdf, result.pages = out_dir / "pdf" / f"{result.slug}.pdf", output.pages
        with _writing(result.pdf, project):
            write_atomic(result.pdf, output.pdf)


@contextmanager
def _writing(path: Path, project: Project) -> Iterator[None]:
    """A write that fails (output/ read-only or full) is one clear error that stops the build."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise LetterError(Problem(project.shown(path), f"cannot write: {reason}; the build stopped, earlier output is unchanged")) from None


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


# --- inside a worker process: one letter from its records to HTML and PDF ---------------------


@dataclass(frozen=True)
class LetterTask:
    """Everything a worker needs to make one letter, besides the templates it loads once."""

    assessment: Assessment
    letter: Letter
    source: str
    pdf: bool
    rebuild: bool


@dataclass(frozen=True)
class PageTask:
    """Another document of the build, such as the overview: its HTML, to be made a PDF."""

    html: str
    rebuild: bool


@dataclass
class LetterOutput:
    """What a worker made of one letter; `rendered` when the PDF is new rather than cached."""

    html: str | None = None
    pdf: bytes | None = None
    pages: int | None = None
    key: str = ""
    rendered: bool = False
    problem: Problem | None = None


_env: jinja2.Environment | None = None
_templates_dir: Path = Path()
_cache: PdfCache | None = None
_renderer = None
_renderer_error: Exception | None = None  # why there is no renderer (WeasyPrint's libraries missing, say)


def _init_worker(templates_dir: Path, letter_template: str, cache_dir: Path, environment: str, pdf: bool) -> None:
    """Once per worker, or once in their template: everything a letter needs, made ready, so the first letter
    is as quick as the others (measured: 40 ms quicker in a worker forked after this)."""
    global _env, _templates_dir, _cache, _renderer, _renderer_error
    _env, _templates_dir = make_environment(templates_dir), templates_dir
    _env.get_template(letter_template)  # compiled here, once
    _cache, _renderer = PdfCache(cache_dir, environment), None
    if pdf:
        try:
            from hmicfrs_letters.pdf import PdfRenderer

            _renderer = PdfRenderer(templates_dir / "assets")
            pdf_text(_renderer.warm_up())  # PDFium, which reads each PDF back, starts here too
        except Exception as exc:  # each letter's PDF then fails with this reason; its HTML is still made
            _renderer, _renderer_error = None, exc


def _build_letter(task: LetterTask | PageTask) -> LetterOutput:
    """One letter: its HTML, then its PDF from the cache or rendered (and checked)."""
    if isinstance(task, PageTask):
        return _pdf_output(task.html, "", task.rebuild, check=False)
    try:
        html = render_letter(_env, task.assessment, task.letter, task.source)
    except Exception as exc:  # any error inside a template is that letter's failure
        return LetterOutput(problem=template_problem(exc, _templates_dir, "templates"))
    if not task.pdf:
        return LetterOutput(html)
    return _pdf_output(html, task.source, task.rebuild)


def _pdf_output(html: str, source: str, rebuild: bool, check: bool = True) -> LetterOutput:
    key = _cache.key(html)
    cached = None if rebuild else _cache.get(key)
    if cached is not None:
        return LetterOutput(html, *cached, key=key)
    try:
        pdf, pages = _render_pdf(html, check)
    except Exception as exc:
        return LetterOutput(html, problem=Problem(source, f"PDF rendering failed: {type(exc).__name__}: {exc}"))
    return LetterOutput(html, pdf, pages, key, rendered=True)


def _render_pdf(html: str, check: bool = True) -> tuple[bytes, int]:
    if _renderer is None:
        raise _renderer_error or RuntimeError("no PDF renderer")
    rendered = _renderer.render(html)
    if check:
        check_rendered(html, rendered.data)  # the PDF's text read back: raises unless it holds the letter
    return rendered.data, rendered.pages
