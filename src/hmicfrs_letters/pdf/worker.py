"""Inside a worker process: one document from its letter (or HTML) to a checked PDF.

A worker is started once (`start`) with what every document of a run shares, then makes one
document at a time (`make`), under the pool's time limit: the letter's HTML from the templates
(a template that loops forever is stopped with its worker), its PDF from the cache or rendered,
and a rendered PDF's own text checked against the HTML. The parent process keeps new PDFs in
the cache; a PDF whose text fails the check never leaves the worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.models import Assessment, Letter
from hmicfrs_letters.core.render import render_letter
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.pdf.cache import PdfCache
from hmicfrs_letters.pdf.verify import check_rendered, pdf_text


@dataclass(frozen=True)
class Job:
    """One document to make: its HTML, or the letter to render it from; `source` is where its problems are reported."""

    source: str
    html: str | None = None
    letter: tuple[Assessment, Letter] | None = None
    pdf: bool = True


@dataclass
class Made:
    """What became of one document; `rendered` when its PDF is new rather than from the cache."""

    html: str | None = None
    pdf: bytes | None = None
    pages: int | None = None
    key: str = ""
    rendered: bool = False
    problem: Problem | None = None


@dataclass
class _State:
    templates: Templates
    cache: PdfCache
    rebuild: bool
    renderer: object = None
    error: Exception | None = None  # why there is no renderer (WeasyPrint's libraries missing, say)
    css: str = ""  # the PDF's own stylesheet, to name the rule when a PDF's text differs from its letter's


_state: _State | None = None


def start(templates_dir: Path, letter_template: str | None, cache_dir: Path, environment: str, pdf: bool, rebuild: bool) -> None:
    """Once per worker: everything a document needs, made ready, so the first is as quick as the others."""
    global _state
    _state = _State(Templates(templates_dir), PdfCache(cache_dir, environment), rebuild)
    if letter_template:
        _state.templates.compile(letter_template)
    if pdf:
        try:
            from hmicfrs_letters.pdf.engine import PdfRenderer

            _state.renderer = PdfRenderer(templates_dir / "assets")
            _state.css = (templates_dir / "assets" / "pdf.css").read_text(encoding="utf-8")
            pdf_text(_state.renderer.warm_up())  # PDFium, which reads each PDF back, starts here too
        except Exception as exc:  # each PDF then fails with this reason; HTML is still made
            _state.error = exc


def make(job: Job) -> Made:
    """One document: its HTML, then its PDF from the cache or rendered and checked."""
    assert _state is not None, "start() runs first in every worker"
    html = job.html
    if html is None:
        assessment, letter = job.letter
        try:
            html = render_letter(_state.templates, assessment, letter, job.source)
        except LetterError as exc:  # an error inside a template is this letter's failure
            return Made(problem=exc.problems[0])
    if not job.pdf:
        return Made(html)
    key = _state.cache.key(html)
    cached = None if _state.rebuild else _state.cache.get(key)
    if cached is not None:
        return Made(html, *cached, key=key)
    try:
        if _state.renderer is None:
            raise _state.error or RuntimeError("no PDF renderer")
        rendered = _state.renderer.render(html)
        check_rendered(html, rendered.data, _state.css)  # raises unless the PDF's own text holds the letter
    except Exception as exc:
        return Made(html, problem=Problem(job.source, f"PDF rendering failed: {type(exc).__name__}: {exc}"))
    return Made(html, rendered.data, rendered.pages, key, rendered=True)
