"""The one place a Jinja2 environment is built, and where template errors become placed problems."""

from __future__ import annotations

import base64
import datetime as dt
import os
import posixpath
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
from jinja2.loaders import split_template_path

from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.reading import read_project_file, read_project_text

# A template is code someone wrote by hand: a megabyte is far past any letter's.
MAX_TEMPLATE_BYTES = 1_000_000
# A crest, a logo or a signature: tens of kilobytes; a letter carries each inline in its HTML.
MAX_IMAGE_BYTES = 2_000_000
# The images a template may show, from templates/assets/ only, by their names' endings.
IMAGE_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
ASSETS = "assets"


def long_date(value: Any) -> Any:
    """2 October 2017: the date as British letters write it (a field's placeholder as it is)."""
    return f"{value.day} {value:%B %Y}" if isinstance(value, dt.date) else value


class _Loader(jinja2.FileSystemLoader):
    """Reads each template as core.reading reads every file: a regular file in the folder once
    links are resolved, within the size limit, as UTF-8; anything else is a placed LetterError."""

    def __init__(self, folder: Path, shown: str) -> None:
        super().__init__(folder)
        self.folder, self.shown = folder, shown

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)  # TemplateNotFound for a name that climbs out with ".."
        path = self.folder.joinpath(*pieces)
        if not os.path.lexists(path):
            raise jinja2.TemplateNotFound(template)
        text = read_project_text(self.folder, path, f"{self.shown}/{'/'.join(pieces)}", MAX_TEMPLATE_BYTES, self.shown)
        return text, os.path.normpath(path), lambda: True  # auto_reload is off: a new Templates sees changes


class Templates:
    """A folder of templates in one environment: trusted code that escapes every value it prints.

    A missing value is an error, not an empty string; any error a template raises, while it is
    compiled or rendered, comes out as a LetterError placed at the template's file and line.
    """

    def __init__(self, folder: Path, shown: str = "templates") -> None:
        self.folder, self.shown = folder, shown
        self.env = jinja2.Environment(
            loader=_Loader(folder, shown),
            # Every value printed escaped, but in a plain-text template (an e-mail's body, `*.txt.j2`).
            autoescape=jinja2.select_autoescape(disabled_extensions=("txt.j2",), default_for_string=True, default=True),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        self.env.filters["long_date"] = long_date
        self.env.globals["image"] = self.image
        self._images: dict[str, str] = {}

    def image(self, name: str) -> str:
        """`image("assets/logo.svg")`: an image of the project's templates/assets/ as a data: URI, so
        that the HTML letter carries it and still stands alone (and the PDF embeds it). A name that
        leaves assets/, a file that is not an SVG, PNG or JPEG image, or one that cannot be read,
        is a LetterError that names it."""
        if name not in self._images:
            shown = f"{self.shown}/{name}"
            normal = posixpath.normpath(str(name))
            kind = IMAGE_TYPES.get(posixpath.splitext(normal)[1].lower())
            if not normal.startswith(f"{ASSETS}/") or posixpath.isabs(str(name)) or "\\" in normal:
                raise LetterError(Problem(shown, f"an image must be a file under {self.shown}/{ASSETS}/, as 'assets/logo.svg'"))
            if kind is None:
                raise LetterError(Problem(shown, f"an image must be one of {', '.join(IMAGE_TYPES)}"))
            assets = self.folder / ASSETS
            data = read_project_file(assets, self.folder / normal, shown, MAX_IMAGE_BYTES, f"{self.shown}/{ASSETS}")
            self._images[name] = f"data:{kind};base64,{base64.b64encode(data).decode()}"
        return self._images[name]

    def render(self, name: str, context: dict[str, Any]) -> str:
        """The template `name` rendered with this context; LetterError on any error inside it."""
        try:
            return self.env.get_template(name).render(context)
        except Exception as exc:  # whatever a template raises is the template's problem
            raise LetterError(self.problem(exc)) from None

    def compile(self, name: str) -> None:
        """Compile one template now (it is kept); LetterError if it cannot be."""
        try:
            self.env.get_template(name)
        except Exception as exc:
            raise LetterError(self.problem(exc)) from None

    def problems(self) -> list[Problem]:
        """A problem for each template (`*.j2`) of the folder that does not compile."""
        problems = []
        for name in self.env.list_templates(filter_func=lambda n: n.endswith(".j2")):
            try:
                self.compile(name)
            except LetterError as exc:
                problems += exc.problems
        return problems

    def problem(self, exc: Exception) -> Problem:
        """`templates/…:line: message` for an error raised while compiling or rendering a template."""
        if isinstance(exc, LetterError):  # the loader's: a template file that cannot be read
            return exc.problems[0]
        if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename:
            return Problem(self._shown(exc.filename), exc.message or str(exc), exc.lineno)
        if isinstance(exc, jinja2.TemplateNotFound):
            return Problem(self.shown, f"template not found: {exc.name}")
        # Jinja rewrites tracebacks so that frames inside a template carry its file name and line.
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename and Path(frame.filename).suffix in {".j2", ".html", ".css"}:
                return Problem(self._shown(frame.filename), _message(exc), frame.lineno)
        return Problem(self.shown, _message(exc))

    def _shown(self, filename: str) -> str:
        try:
            return f"{self.shown}/{Path(filename).resolve().relative_to(self.folder.resolve()).as_posix()}"
        except ValueError:
            return filename


def _message(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, jinja2.TemplateError) else f"{type(exc).__name__}: {text}"
