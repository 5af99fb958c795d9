"""The preview's state: the loaded assessment, each letter as rendered, and a version that moves with them.

A thin layer over the core, like the CLI: load_batch reads the data, render_letter makes a
letter's HTML when a page first asks for it (kept until that letter's inputs change), and its
PDF is made on request along the build's one path (pdf.service), with the same text check, time
limit and cache as `letters build`.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.models import INVALID, SLUG, Category
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.render import render_letter
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.validate import Batch, LetterInput, load_batch
from hmicfrs_letters.pdf.service import LETTER_TIME_LIMIT, Job, PdfService
from hmicfrs_letters.pool import default_jobs
from hmicfrs_letters.workflow.check import check_batch

SORTS = ("force", "outcome", "status", "problems")


@dataclass(frozen=True)
class LetterView:
    """One letter as the preview shows it: its HTML when it could be rendered, and every problem `letters check` finds for it."""

    item: LetterInput
    name: str
    outcome: Category | None
    html: str | None
    problems: tuple[Problem, ...]

    @property
    def slug(self) -> str:
        return self.item.slug

    @property
    def outcome_key(self) -> str:
        return self.item.letter.outcome if self.item.letter else ""

    @property
    def status(self) -> str:
        return self.item.status if self.html is not None else INVALID

    @property
    def linkable(self) -> bool:
        return SLUG.fullmatch(self.slug) is not None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]


@dataclass(frozen=True)
class Change:
    """What one reload changed: a new version, and the letters whose pages must refresh."""

    version: int
    letters: frozenset[str] = frozenset()
    every_letter: bool = False

    def event(self) -> str:
        letters = "all" if self.every_letter else sorted(self.letters)
        return json.dumps({"version": self.version, "letters": letters})


class Preview:
    """The preview's state: the loaded batch, each letter as rendered, and a version that moves with them.

    Thread-safe: pages are rendered in Starlette's thread pool while the watcher reloads.
    """

    def __init__(self, project: Project, assessment: str | None = None, timeout: float = LETTER_TIME_LIMIT) -> None:
        self.project = project
        self.timeout = timeout
        self.assessment = project.resolve_assessment(assessment)
        self.version = 0
        self.renders: Counter[str] = Counter()  # HTML renders by letter
        self.pdf_renders = 0
        self._lock = threading.RLock()
        self._views: dict[str, LetterView] = {}
        self._general: list[Problem] | None = None
        # PDFs are made along the build's one path, a worker process for each request at a time,
        # at most as many at once as there are cores; made anew when the PDF's assets change.
        self._pdf_slots = threading.BoundedSemaphore(default_jobs())
        self._pdfs: PdfService | None = None
        self._making: dict[str, threading.Lock] = {}
        self.templates = Templates(project.templates_dir)
        self.batch, self.failure = self._load()

    def _load(self) -> tuple[Batch | None, list[Problem]]:
        try:
            return load_batch(self.project, self.assessment), []
        except LetterError as exc:
            return None, exc.problems

    # --- reloading ----------------------------------------------------------------------

    def reload(self, paths: Iterable[Path]) -> Change | None:
        """Take in changes to these files; the Change, or None when no page would look different."""
        paths = [Path(p) for p in paths]
        templates = any(p.is_relative_to(self.project.templates_dir) for p in paths)
        with self._lock:
            if any(p.is_relative_to(self.project.templates_dir / "assets") for p in paths) and self._pdfs is not None:
                self._pdfs.close()  # the PDF stylesheet or fonts: new workers, and a new cache digest
                self._pdfs = None
            if templates:
                self.templates = Templates(self.project.templates_dir)
            old_batch, old_failure = self.batch, self.failure
            if any(p.is_relative_to(self.project.data_dir) for p in paths):
                self.batch, self.failure = self._load()
            every, letters, index = _differences(old_batch, old_failure, self.batch, self.failure)
            if not (templates or every or letters or index):
                return None
            self.version += 1
            self._general = None
            if templates or every:
                self._views.clear()
                return Change(self.version, every_letter=True)
            for slug in letters:
                self._views.pop(slug, None)
            return Change(self.version, frozenset(letters))

    # --- what pages show ----------------------------------------------------------------

    def view(self, slug: str) -> LetterView:
        """One letter; LetterError when the assessment cannot be loaded or has no such letter."""
        with self._lock:
            batch = self._batch()
            if slug not in self._views:
                (item,) = batch.select([slug])
                self._views[slug] = self._render(batch, item)
            return self._views[slug]

    def views(self) -> list[LetterView]:
        with self._lock:
            return [self.view(item.slug) for item in self._batch().letters]

    def general_problems(self) -> list[Problem]:
        """Problems `letters check` finds outside the letters' own files: shared files and every template."""
        with self._lock:
            if self._general is None:
                self._general = check_batch(dataclasses.replace(self._batch(), letters=[]))
            return self._general

    def _batch(self) -> Batch:
        if self.batch is None:
            raise LetterError(self.failure)
        return self.batch

    def _render(self, batch: Batch, item: LetterInput) -> LetterView:
        force = batch.forces.get(item.slug)
        name = force.name if force else item.slug
        # In the file's order, as `letters check` prints them.
        problems = tuple(sorted(item.problems, key=lambda p: (p.line or 0, p.column or 0)))
        if item.letter is None:
            return LetterView(item, name, None, None, problems)
        outcome = batch.assessment.category(item.letter.outcome)
        self.renders[item.slug] += 1
        try:
            html = render_letter(self.templates, batch.assessment, item.letter, item.shown)
        except LetterError as exc:  # an error inside a template is this letter's problem, as in `letters check`
            return LetterView(item, name, outcome, None, (*problems, *exc.problems))
        return LetterView(item, name, outcome, html, problems)

    def pdf(self, view: LetterView) -> bytes:
        """The letter's PDF, made as a build makes it; LetterError when it cannot be (its text fails the check, say)."""
        assert view.html is not None
        with self._lock:
            if self._pdfs is None:
                self._pdfs = PdfService(self.project, self.project.output_dir / ".cache" / "pdf", jobs=1, timeout=self.timeout)
            service = self._pdfs
            key = service.cache.key(view.html)
            # One request at a time makes a given PDF; the others then find it in the cache.
            gate = self._making.setdefault(key, threading.Lock())
        with gate, self._pdf_slots:
            ((_, made),) = service.make([(view.slug, Job(view.item.shown, html=view.html))])
        with self._lock:
            self._making.pop(key, None)
        if made.problem:
            raise LetterError(made.problem)
        self.pdf_renders += made.rendered
        return made.pdf

    def close(self) -> None:
        """End the workers that make PDFs."""
        with self._lock:
            if self._pdfs is not None:
                self._pdfs.close()
                self._pdfs = None


def _differences(
    old: Batch | None, old_failure: list[Problem], new: Batch | None, new_failure: list[Problem]
) -> tuple[bool, set[str], bool]:
    """(every letter changed, the letters that changed, the index changed) between two loads."""
    if old is None or new is None:
        changed = (old is None) != (new is None) or old_failure != new_failure
        return changed, set(), changed
    if old.assessment != new.assessment or old.forces != new.forces:
        return True, set(), True
    before = {item.slug: item for item in old.letters}
    after = {item.slug: item for item in new.letters}
    letters = {slug for slug in before.keys() | after.keys() if before.get(slug) != after.get(slug)}
    return False, letters, bool(letters) or old.problems != new.problems


def select(views: Sequence[LetterView], outcome: str = "", status: str = "", sort: str = "force") -> list[LetterView]:
    """The index's rows: filtered by outcome key and status, then sorted."""
    rows = [v for v in views if (not outcome or v.outcome_key == outcome) and (not status or v.status == status)]
    keys = {
        "force": lambda v: v.name.casefold(),
        "outcome": lambda v: (v.outcome.label if v.outcome else "~" + v.outcome_key, v.name.casefold()),
        "status": lambda v: (v.status, v.name.casefold()),
        "problems": lambda v: (-len(v.errors), -len(v.warnings), v.name.casefold()),
    }
    return sorted(rows, key=keys.get(sort, keys["force"]))
