"""The one place a Jinja2 environment is built, and where template errors become placed problems."""

from __future__ import annotations

import base64
import hashlib
import os
import posixpath
import traceback
import types
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.loaders import split_template_path

from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.languages import long_date
from hmicfrs_letters.core.load import parse_yaml
from hmicfrs_letters.core.reading import read_project_file, read_project_text
from hmicfrs_letters.core.timelimit import TimeLimitExceeded, run_with_limit

# A template is code someone wrote by hand: a megabyte is far past any letter's.
MAX_TEMPLATE_BYTES = 1_000_000
# A letter's HTML renders in milliseconds; a template still rendering after this loops without end.
RENDER_TIME_LIMIT = 60.0
# A crest, a logo or a signature: tens of kilobytes; a letter carries each inline in its HTML.
MAX_IMAGE_BYTES = 2_000_000
# The images a template may show, from templates/assets/ only, by their names' endings.
IMAGE_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
ASSETS = "assets"
# Templates kept compiled in a process (by name and text): the shipped ones are ~20.
MAX_COMPILED = 500


# The words a letter prints by its language besides its date: its page numbers (templates/base/languages.yaml).
LANGUAGES = "base/languages.yaml"


class _Words(Mapping[str, Any]):
    """The words by language, read from the templates folder when first asked; none when it has no such file."""

    def __init__(self, folder: Path, shown: str) -> None:
        self.folder, self.shown = folder, shown
        self._table: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        if self._table is None:
            path = self.folder / LANGUAGES
            table: Any = {}
            if os.path.lexists(path):
                shown = f"{self.shown}/{LANGUAGES}"
                table = parse_yaml(read_project_text(self.folder, path, shown, MAX_TEMPLATE_BYTES, self.shown), shown).data
                if not isinstance(table, dict) or not all(isinstance(words, dict) for words in table.values()):
                    raise LetterError(Problem(shown, "should map each language to its words: page, of, to_be_written"))
            self._table = table
        return self._table

    def __getitem__(self, language: str) -> Any:
        table = self._load()
        if language not in table:
            raise KeyError(f"no words for the language '{language}' in {self.shown}/{LANGUAGES}; known: {', '.join(table) or 'none'}")
        return table[language]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


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


class _CompiledTemplates(jinja2.BytecodeCache):
    """Templates compiled once a process: each `Templates` (a command, a check, a preview's reload) makes
    a new environment, and compiling the shipped templates took ~0.17 s of every check. An entry is the
    compiled code of a template's name and source text, whichever folder it came from (a copy of the
    shipped templates is compiled once, not once a copy); a changed template is compiled again. The
    code is given the file it is read from, so that an error is placed in that file. Kept in memory
    only, nothing is written."""

    def __init__(self) -> None:
        self._code: dict[str, types.CodeType] = {}

    def get_bucket(self, environment: jinja2.Environment, name: str, filename: str | None, source: str) -> jinja2.bccache.Bucket:
        key = hashlib.sha256(f"{name}\0{source}".encode("utf-8", "surrogatepass")).hexdigest()
        bucket = jinja2.bccache.Bucket(environment, key, "")
        if (code := self._code.get(key)) is not None:
            bucket.code = code if filename is None or code.co_filename == filename else _in_file(code, filename)
        return bucket

    def set_bucket(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.code is not None:
            if len(self._code) >= MAX_COMPILED:  # a preview whose templates are edited all day
                self._code.clear()
            self._code[bucket.key] = bucket.code


def _in_file(code: types.CodeType, filename: str) -> types.CodeType:
    """This compiled code, and the functions' code within it, as if compiled from `filename`."""
    consts = tuple(_in_file(const, filename) if isinstance(const, types.CodeType) else const for const in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


_COMPILED = _CompiledTemplates()


class Templates:
    """A folder of templates in one environment: trusted code that escapes every value it prints.

    A missing value is an error, not an empty string; any error a template raises, while it is
    compiled or rendered, comes out as a LetterError placed at the template's file and line.
    """

    def __init__(self, folder: Path, shown: str = "templates", time_limit: float | None = RENDER_TIME_LIMIT) -> None:
        self.folder, self.shown = folder, shown
        self.time_limit = time_limit  # seconds each render may take (see core.timelimit)
        self.env = jinja2.Environment(
            loader=_Loader(folder, shown),
            # Every value printed escaped, but in a plain-text template (an e-mail's body, `*.txt.j2`).
            autoescape=jinja2.select_autoescape(disabled_extensions=("txt.j2",), default_for_string=True, default=True),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
            bytecode_cache=_COMPILED,
        )
        # Each language's words (`words_by_language[language].page`); `languages`, the letter's own
        # list of languages, is in each letter's context (core.render).
        self.words = _Words(folder, shown)
        self.env.globals["words_by_language"] = self.words
        # `{{ date | date("cy") }}`; `long_date`, its first name, as the first series' templates write it.
        self.env.filters["date"] = long_date
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
        """The template `name` rendered with this context, within the time limit; LetterError on any error inside it."""
        try:
            template = self.env.get_template(name)
            return run_with_limit(self.time_limit, lambda: template.render(context))
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
    if isinstance(exc, TimeLimitExceeded):
        return f"the template {exc} (does it loop without end?)"
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, jinja2.TemplateError) else f"{type(exc).__name__}: {text}"
