"""The one place a Jinja2 environment is built, and template errors turned into placed problems."""

from __future__ import annotations

import datetime as dt
import traceback
from pathlib import Path

import jinja2

from hmicfrs_letters.errors import Problem


def long_date(value: dt.date) -> str:
    """2 October 2017: the date as British letters write it."""
    return f"{value.day} {value:%B %Y}"


def make_environment(templates_dir: Path) -> jinja2.Environment:
    """Templates are trusted code; every value they print is escaped, and a missing one is an error."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["long_date"] = long_date
    return env


def template_problem(exc: Exception, templates_dir: Path, shown_as: str) -> Problem:
    """`templates/…:line: message` for an error raised while compiling or rendering a template."""
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename:
        return Problem(_shown(exc.filename, templates_dir, shown_as), exc.message or str(exc), exc.lineno)
    if isinstance(exc, jinja2.TemplateNotFound):
        return Problem(shown_as, f"template not found: {exc.name}")
    # Jinja rewrites tracebacks so that frames inside a template carry its file name and line.
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename and Path(frame.filename).suffix in {".j2", ".html", ".css"}:
            return Problem(_shown(frame.filename, templates_dir, shown_as), _message(exc), frame.lineno)
    return Problem(shown_as, _message(exc))


def _message(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, jinja2.TemplateError) else f"{type(exc).__name__}: {text}"


def _shown(filename: str, templates_dir: Path, shown_as: str) -> str:
    try:
        return f"{shown_as}/{Path(filename).resolve().relative_to(templates_dir.resolve()).as_posix()}"
    except ValueError:
        return filename
