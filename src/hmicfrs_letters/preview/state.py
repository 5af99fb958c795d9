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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hmicfrs_letters.build.pages import page_counts
from hmicfrs_letters.core.approval import approval_label, approval_problem
from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.models import INVALID, SLUG, ApprovalRecord, Category, did_you_mean
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.render import render_letter
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.validate import Batch, LetterInput, load_batch
from hmicfrs_letters.pdf.service import LETTER_TIME_LIMIT, Job, PdfService
from hmicfrs_letters.pdf.verify import page_starts
from hmicfrs_letters.pool import default_jobs
from hmicfrs_letters.workflow.approve import approval_reasons
from hmicfrs_letters.workflow.check import check_batch
from hmicfrs_letters.workflow.edit import letter_file, try_edit

SORTS = ("name", "outcome", "status", "problems")


@dataclass(frozen=True)
class LetterView:
    """One letter as the preview shows it: its HTML when it could be rendered, and every problem `letters check` finds for it."""

    item: LetterInput
    assessment: str
    name: str
    outcome: Category | None
    html: str | None
    problems: tuple[Problem, ...]
    approval: Problem | None = None  # why an approved letter's approval does not stand (also among the problems)

    @property
    def approval_label(self) -> str | None:
        """ "changed since approval" or "no approval record" when the approval does not stand."""
        return approval_label(self.item, self.approval)

    @property
    def record(self) -> ApprovalRecord | None:
        return self.item.letter.approved if self.item.letter else None

    @property
    def slug(self) -> str:
        return self.item.slug

    @property
    def key(self) -> str:
        """The letter's name in live-reload events: its assessment and slug."""
        return f"{self.assessment}/{self.slug}"

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
class Readiness:
    """What the letter page says beyond the view: its page count against the limit, and why
    `letters approve` would refuse the letter today (nothing for an approval that stands)."""

    pages: int | None
    limit: int
    reasons: tuple[str, ...]
    asked: bool  # whether approve would check it at all (not for an approval that stands)


@dataclass(frozen=True)
class Draft:
    """A letter as a page's values make it, before they are saved: its HTML, its problems, its
    pages and the first words of each page after the first (where the PDF's pages break)."""

    item: LetterInput
    html: str | None
    problems: tuple[Problem, ...]
    pages: int | None
    limit: int
    breaks: tuple[str, ...]


@dataclass(frozen=True)
class Change:
    """What one reload changed: a new version, and the letters whose pages must refresh."""

    version: int
    letters: frozenset[str] = frozenset()
    every_letter: bool = False

    def event(self) -> str:
        letters = "all" if self.every_letter else sorted(self.letters)
        return json.dumps({"version": self.version, "letters": letters})


class Series:
    """One assessment as the preview shows it: its loaded batch (or why it cannot be loaded), each
    letter as rendered (kept until its inputs change), and the problems outside its letters."""

    def __init__(self, preview: Preview, slug: str) -> None:
        self.preview, self.slug = preview, slug
        self.views: dict[str, LetterView] = {}
        self.readiness: dict[str, Readiness] = {}
        self.general: list[Problem] | None = None
        self.batch, self.failure = self.load()

    def load(self) -> tuple[Batch | None, list[Problem]]:
        try:
            return load_batch(self.preview.project, self.slug), []
        except LetterError as exc:
            return None, exc.problems

    def loaded(self) -> Batch:
        """The batch; LetterError with why when the assessment cannot be loaded."""
        if self.batch is None:
            raise LetterError(self.failure)
        return self.batch

    def view(self, slug: str) -> LetterView:
        """One letter; LetterError when the assessment cannot be loaded or has no such letter."""
        with self.preview.lock:
            batch = self.loaded()
            if slug not in self.views:
                (item,) = batch.select([slug])
                self.views[slug] = self.preview.render(batch, item)
            return self.views[slug]

    def all_views(self) -> list[LetterView]:
        with self.preview.lock:
            return [self.view(item.slug) for item in self.loaded().letters]

    def general_problems(self) -> list[Problem]:
        """Problems `letters check` finds outside the letters' own files: shared files and every template."""
        with self.preview.lock:
            if self.general is None:
                self.general = check_batch(dataclasses.replace(self.loaded(), letters=[]))
            return self.general

    def reload(self) -> tuple[bool, set[str], bool]:
        """Read the data again: (every letter changed, the letters that changed, the index changed)."""
        old_batch, old_failure = self.batch, self.failure
        self.batch, self.failure = self.load()
        return _differences(old_batch, old_failure, self.batch, self.failure)


class Preview:
    """The preview's state: every assessment it shows (all of the project's unless some are named),
    each letter as rendered, and a version that moves with them.

    Thread-safe: pages are rendered in Starlette's thread pool while the watcher reloads.
    """

    def __init__(self, project: Project, assessments: Sequence[str] | None = (), timeout: float = LETTER_TIME_LIMIT) -> None:
        self.project = project
        self.named = tuple(assessments or ())
        self.timeout = timeout  # for each PDF, as for each letter of a build
        self.version = 0
        self.renders: Counter[str] = Counter()  # HTML renders by letter
        self.pdf_renders = 0
        self.lock = threading.RLock()
        # PDFs are made along the build's one path, a worker process for each request at a time,
        # at most as many at once as there are cores; made anew when the PDF's assets change.
        self._pdf_slots = threading.BoundedSemaphore(default_jobs())
        self._pdfs: PdfService | None = None
        self._making: dict[str, threading.Lock] = {}
        self.templates = Templates(project.templates_dir)
        self.series = {slug: Series(self, slug) for slug in project.select_assessments(self.named)}

    def get(self, assessment: str) -> Series:
        """One assessment's series; LetterError when the preview shows no such assessment."""
        if assessment not in self.series:
            raise LetterError(Problem(f"/{assessment}/", f"no assessment '{assessment}'{did_you_mean(assessment, self.series)}"))
        return self.series[assessment]

    @property
    def only(self) -> Series | None:
        """The one assessment, when there is only one."""
        return next(iter(self.series.values())) if len(self.series) == 1 else None

    # --- reloading ----------------------------------------------------------------------

    def reload(self, paths: Iterable[Path]) -> Change | None:
        """Take in changes to these files; the Change, or None when no page would look different."""
        paths = [Path(p) for p in paths]
        templates = any(p.is_relative_to(self.project.templates_dir) for p in paths)
        with self.lock:
            if any(p.is_relative_to(self.project.templates_dir / "assets") for p in paths) and self._pdfs is not None:
                self._pdfs.close()  # the PDF stylesheet or fonts: new workers, and a new cache digest
                self._pdfs = None
            if templates:
                self.templates = Templates(self.project.templates_dir)
            every, letters, index = templates, set(), False
            if any(p.is_relative_to(self.project.data_dir) for p in paths):
                if not self.named:  # an assessment added or removed while serving
                    try:
                        slugs = self.project.select_assessments()
                    except LetterError:  # data/ gone (being restored, say): each keeps its place, and its pages say why
                        slugs = list(self.series)
                    if slugs != list(self.series):
                        self.series = {slug: self.series.get(slug) or Series(self, slug) for slug in slugs}
                        every = index = True
                for series in self.series.values():
                    all_of_it, changed, listed = series.reload()
                    every, index = every or all_of_it, index or listed
                    letters |= {f"{series.slug}/{slug}" for slug in changed}
            if not (every or letters or index):
                return None
            self.version += 1
            for series in self.series.values():
                series.general = None
                if every:
                    series.views.clear()
                    series.readiness.clear()
            if every:
                return Change(self.version, every_letter=True)
            for key in letters:
                assessment, slug = key.split("/", 1)
                self.series[assessment].views.pop(slug, None)
                self.series[assessment].readiness.pop(slug, None)
            return Change(self.version, frozenset(letters))

    # --- what pages show ----------------------------------------------------------------

    def render(self, batch: Batch, item: LetterInput) -> LetterView:
        """One letter as the preview shows it, rendered now."""
        # In the file's order, as `letters check` prints them.
        problems = tuple(sorted(item.problems, key=lambda p: (p.line or 0, p.column or 0)))
        if item.letter is None:
            return LetterView(item, batch.assessment.slug, item.name, None, None, problems)
        outcome = batch.assessment.category(item.letter.outcome)
        self.renders[f"{batch.assessment.slug}/{item.slug}"] += 1
        try:
            html = render_letter(self.templates, batch.assessment, item.letter, item.shown)
            approval = approval_problem(self.templates, batch.assessment, item)
        except LetterError as exc:  # an error inside a template is this letter's problem, as in `letters check`
            return LetterView(item, batch.assessment.slug, item.name, outcome, None, (*problems, *exc.problems))
        if approval:
            problems = tuple(sorted((*problems, approval), key=lambda p: (p.line or 0, p.column or 0)))
        return LetterView(item, batch.assessment.slug, item.name, outcome, html, problems, approval)

    def readiness(self, view: LetterView) -> Readiness:
        """The letter's page count and the reasons `letters approve` would give today, made along
        approve's own path (its PDF from the shared cache, or made in a worker); kept until it changes."""
        assert view.html is not None
        series = self.get(view.assessment)
        with self.lock:
            batch = series.loaded()
            if view.slug in series.readiness:
                return series.readiness[view.slug]
            service = self._service()
        standing = view.item.letter is not None and not view.item.letter.is_draft and view.approval is None
        with self._pdf_slots:
            counted = page_counts(batch, {view.slug: view.html}, service=service)[view.slug]
            reasons = [] if standing else approval_reasons(batch, [view.item], self.templates, service)[view.slug]
        ready = Readiness(None if isinstance(counted, Problem) else counted, batch.assessment.page_limit, tuple(reasons), not standing)
        with self.lock:
            if series.views.get(view.slug) is view:  # not changed meanwhile
                series.readiness[view.slug] = ready
        return ready

    def _service(self) -> PdfService:
        if self._pdfs is None:
            self._pdfs = PdfService(self.project, self.project.output_dir / ".cache" / "pdf", jobs=1, timeout=self.timeout)
        return self._pdfs

    def pdf(self, view: LetterView) -> bytes:
        """The letter's PDF, made as a build makes it; LetterError when it cannot be (its text fails the check, say)."""
        assert view.html is not None
        with self.lock:
            service = self._service()
            key = service.cache.key(view.html)
            # One request at a time makes a given PDF; the others then find it in the cache.
            gate = self._making.setdefault(key, threading.Lock())
        with gate, self._pdf_slots:
            ((_, made),) = service.make([(view.slug, Job(view.item.shown, html=view.html))])
        with self.lock:
            self._making.pop(key, None)
        if made.problem:
            raise LetterError(made.problem)
        self.pdf_renders += made.rendered
        return made.pdf

    def try_values(self, assessment: str, slug: str, values: Mapping[str, Any], lay_out: bool = True) -> Draft:
        """The letter as these values would make it and, with `lay_out`, laid out as its PDF would be:
        nothing is saved or cached."""
        series = self.get(assessment)
        with self.lock:
            batch = series.loaded()
            templates = self.templates
            service = self._service()
        item = try_edit(batch, slug, values, letter_file(batch, slug).data)
        problems = list(item.problems)
        html = None
        if item.letter is not None:
            try:
                html = render_letter(templates, batch.assessment, item.letter, item.shown)
            except LetterError as exc:
                problems += exc.problems
        pages, breaks = None, ()
        if lay_out and html is not None and not item.errors:
            with self._pdf_slots:
                ((_, made),) = service.make([(slug, Job(item.shown, html=html))], keep=False)
            if made.problem:
                problems.append(made.problem)
            else:
                pages, breaks = made.pages, tuple(page_starts(made.pdf))
        return Draft(item, html, tuple(problems), pages, batch.assessment.page_limit, breaks)

    def close(self) -> None:
        """End the workers that make PDFs."""
        with self.lock:
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
    if old.assessment != new.assessment or old.recipients != new.recipients:
        return True, set(), True
    before = {item.slug: item for item in old.letters}
    after = {item.slug: item for item in new.letters}
    letters = {slug for slug in before.keys() | after.keys() if before.get(slug) != after.get(slug)}
    return False, letters, bool(letters) or old.problems != new.problems


def select(views: Sequence[LetterView], outcome: str = "", status: str = "", sort: str = "name") -> list[LetterView]:
    """The index's rows: filtered by outcome key and status, then sorted."""
    rows = [v for v in views if (not outcome or v.outcome_key == outcome) and (not status or v.status == status)]
    keys = {
        "name": lambda v: v.name.casefold(),
        "outcome": lambda v: (v.outcome.label if v.outcome else "~" + v.outcome_key, v.name.casefold()),
        "status": lambda v: (v.status, v.name.casefold()),
        "problems": lambda v: (-len(v.errors), -len(v.warnings), v.name.casefold()),
    }
    return sorted(rows, key=keys.get(sort, keys["name"]))
