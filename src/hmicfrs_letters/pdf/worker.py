"""Inside a worker process: one document from its letter (or HTML) to a checked PDF.

A worker is started once (`start`) with what every document of a run shares, then makes one
document at a time (`make`), under the pool's time limit: a letter's state (core.state: its HTML
from the templates, its approval judged; a template that loops forever is stopped with its
worker), its PDF from the cache or rendered,
and a rendered PDF's own text checked against the HTML. The parent process keeps new PDFs in
the cache; a PDF whose text fails the check never leaves the worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hmicfrs_letters.core.errors import Problem
from hmicfrs_letters.core.models import PDF_UA, Assessment
from hmicfrs_letters.core.state import LetterState, assess
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.validate import LetterInput
from hmicfrs_letters.pdf.cache import PdfCache


@dataclass(frozen=True)
class Job:
    """One document to make: its HTML, or the letter to judge and render (core.state); `source` is where its problems are reported."""

    source: str
    html: str | None = None
    letter: tuple[Assessment, LetterInput] | None = None
    pdf: bool = True
    standard: str = PDF_UA  # the standard its PDF claims (core.models.PDF_STANDARDS)


@dataclass
class Made:
    """What became of one document; `rendered` when its PDF is new rather than from the cache."""

    html: str | None = None
    pdf: bytes | None = None
    pages: int | None = None
    key: str = ""
    rendered: bool = False
    problem: Problem | None = None
    state: LetterState | None = None  # a letter's, as core.state judged it here


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
    """Once per worker: its templates, cache and renderer. No page is laid out to warm it up: a pool starts
    when documents are waiting, so a warm-up page only delays the first (measured: start and first letter
    0.24 s without one, 0.32 s with; fonts and PDFium load with the first document either way)."""
    global _state
    _state = _State(Templates(templates_dir), PdfCache(cache_dir, environment), rebuild)
    if letter_template:
        _state.templates.compile(letter_template)
    if pdf:
        try:
            from hmicfrs_letters.pdf.engine import PdfRenderer

            _state.renderer = PdfRenderer(templates_dir / "assets")
            _state.css = (templates_dir / "assets" / "pdf.css").read_text(encoding="utf-8")
        except Exception as exc:  # each PDF then fails with this reason; HTML is still made
            _state.error = exc


def make(job: Job) -> Made:
    """One document: its HTML, then its PDF from the cache or rendered and checked."""
    assert _state is not None, "start() runs first in every worker"
    html, state = job.html, None
    if job.letter is not None:
        state = assess(_state.templates, *job.letter)
        html = state.html
        if state.failed:  # a template error, or its file's: nothing to lay out
            return Made(html, state=state)
    assert html is not None
    if not job.pdf:
        return Made(html, state=state)
    key = _state.cache.key(html, job.standard)
    cached = None if _state.rebuild else _state.cache.get(key)
    if cached is not None:
        return Made(html, *cached, key=key, state=state)
    try:
        if _state.renderer is None:
            raise _state.error or RuntimeError("no PDF renderer")
        rendered = _state.renderer.render(html, job.standard)
        from hmicfrs_letters.pdf.verify import check_rendered  # PDFium: imported by the fork server (pdf.preload), not by a check

        check_rendered(html, rendered.data, _state.css)  # raises unless the PDF's own text holds the letter
    except Exception as exc:
        return Made(html, problem=Problem(job.source, f"PDF rendering failed: {type(exc).__name__}: {exc}"), state=state)
    return Made(html, rendered.data, rendered.pages, key, rendered=True, state=state)
