"""The preview's state: each assessment's Workflow, each letter's state as shown, and a version that moves with them.

A thin layer over the workflow, like the CLI: a Workflow reads each assessment's data and judges
each letter (core.state) when a page first asks for it, kept until that letter's inputs change;
its PDF is made on request along the build's one path (pdf.service), with the same text check,
time limit and cache as `letters build`.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.models import SLUG, ApprovalRecord, Assessment, Category, did_you_mean
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.state import LetterState, assess, page_limit_plain
from hmicfrs_letters.core.status import STANDING
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.validate import Batch, LetterInput, approval_gaps, load_batch
from hmicfrs_letters.pdf.service import LETTER_TIME_LIMIT, Job
from hmicfrs_letters.pdf.verify import page_starts
from hmicfrs_letters.workflow.edit import letter_file, try_edit
from hmicfrs_letters.workflow.new import STANDARD_FIELD
from hmicfrs_letters.workflow.series import Workflow

SORTS = ("name", "outcome", "status", "problems", "date")


@dataclass(frozen=True)
class LetterView:
    """One letter as the preview shows it: its state (core.state), with every problem `letters check` finds for it."""

    state: LetterState
    assessment: str
    outcome: Category | None

    @property
    def item(self) -> LetterInput:
        return self.state.item

    @property
    def name(self) -> str:
        return self.state.name

    @property
    def html(self) -> str | None:
        return self.state.html

    @property
    def problems(self) -> tuple[Problem, ...]:
        return tuple(self.state.all_problems)

    @property
    def approval(self) -> Problem | None:
        return self.state.approval

    @property
    def title(self) -> str:
        return self.state.title

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
        return str(self.state.status)

    @property
    def linkable(self) -> bool:
        return SLUG.fullmatch(self.slug) is not None

    @property
    def errors(self) -> list[Problem]:
        return self.state.errors

    @property
    def warnings(self) -> list[Problem]:
        return self.state.warnings

    @property
    def next_step(self) -> str:
        """What the letter needs next, in the index's words."""
        letter, assessment = self.item.letter, self.state.assessment
        if letter is None or self.html is None:
            return "Cannot be shown: ask the data team"
        if self.status == "changed":
            return "Changed since approval: approve again"
        pages = self.state.pages
        if assessment and pages is not None and any(p.plain == page_limit_plain(assessment, pages) for p in self.errors):
            return "Over the page limit"
        if self.errors:
            return "Put right what is marked"
        if self.state.status in STANDING:
            return self.state.title.split(" on ")[0]  # "Approved", "Issued"
        gaps = [key for key, _reason in approval_gaps(letter, assessment)] if assessment else []
        if not letter.values or any(key != "outcome" for key in gaps):
            return "Write the findings" if not letter.values or STANDARD_FIELD in gaps else "Write the missing fields"
        return "Choose the outcome" if gaps else "Ready to approve"


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
    """One assessment as the preview shows it: its Workflow (or why it cannot be loaded), each
    letter's view (kept until its inputs change), and the problems outside its letters."""

    def __init__(self, preview: Preview, slug: str) -> None:
        self.preview, self.slug = preview, slug
        self.work: Workflow | None = None
        self.failure: list[Problem] = []
        self.views: dict[str, LetterView] = {}
        self.readiness: dict[str, Readiness] = {}
        self.general: list[Problem] | None = None
        self.load()

    @property
    def batch(self) -> Batch | None:
        return self.work.batch if self.work and not self.failure else None

    def load(self) -> None:
        """Read the assessment's files again; the Workflow (its templates and PDF workers) is kept."""
        try:
            batch = load_batch(self.preview.project, self.slug)
        except LetterError as exc:
            self.failure = exc.problems
            return
        self.failure = []
        if self.work is None:
            self.work = Workflow(batch, self.preview.templates, jobs=1, timeout=self.preview.timeout)
        else:
            self.work.batch, self.work.templates = batch, self.preview.templates
            self.work.forget()

    def loaded(self) -> Workflow:
        """The workflow; LetterError with why when the assessment cannot be loaded."""
        if self.work is None or self.failure:
            raise LetterError(self.failure)
        return self.work

    def view(self, slug: str) -> LetterView:
        """One letter; LetterError when the assessment cannot be loaded or has no such letter.

        The letter is rendered outside the preview's lock: a template that runs long (until its
        time limit) holds up only the requests for its own letters, never the others'. The view
        is kept only if nothing was reloaded meanwhile.
        """
        with self.preview.lock:
            work = self.loaded()
            if slug in self.views:
                return self.views[slug]
            batch, templates = work.batch, work.templates
            (item,) = batch.select([slug], by_recipient=False)
        state = assess(templates, batch.assessment, item)
        view = LetterView(state, self.slug, batch.assessment.category(item.letter.outcome) if item.letter else None)
        with self.preview.lock:
            self.preview.renders[f"{self.slug}/{slug}"] += 1
            if self.work is work and work.batch is batch and work.templates is templates and not self.failure:
                return self.views.setdefault(slug, view)
        return view

    def all_views(self) -> list[LetterView]:
        with self.preview.lock:
            slugs = [item.slug for item in self.loaded().batch.letters]
        views = []
        for slug in slugs:
            try:
                views.append(self.view(slug))
            except LetterError:  # removed by a reload meanwhile
                continue
        return views

    def general_problems(self) -> list[Problem]:
        """Problems `letters check` finds outside the letters' own files: shared files and every template."""
        with self.preview.lock:
            if self.general is not None:
                return self.general
            work = self.loaded()
            batch = work.batch
        general = work.general_problems()  # renders the wording lock: outside the lock, as a letter is
        with self.preview.lock:
            if work.batch is batch and self.general is None:
                self.general = general
        return general

    def reload(self) -> tuple[bool, set[str], bool]:
        """Read the data again: (every letter changed, the letters that changed, the index changed)."""
        old_batch, old_failure = self.batch, self.failure
        self.load()
        return _differences(old_batch, old_failure, self.batch, self.failure)

    def close(self) -> None:
        if self.work is not None:
            self.work.close()


class Preview:
    """The preview's state: every assessment it shows (all of the project's unless some are named),
    each letter as judged and rendered, and a version that moves with them.

    Thread-safe: pages are rendered in Starlette's thread pool while the watcher reloads. PDFs
    are made by each assessment's Workflow, along the build's one path (pdf.service).
    """

    def __init__(self, project: Project, assessments: Sequence[str] | None = (), timeout: float = LETTER_TIME_LIMIT) -> None:
        self.project = project
        self.named = tuple(assessments or ())
        self.timeout = timeout  # for each PDF, as for each letter of a build
        self.version = 0
        self.renders: Counter[str] = Counter()  # letters judged and rendered, by assessment/slug
        self.pdf_renders = 0
        self.lock = threading.RLock()
        self.templates = Templates(project.templates_dir, time_limit=timeout)
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
            if any(p.is_relative_to(self.project.templates_dir / "assets") for p in paths):
                for series in self.series.values():  # the PDF stylesheet or fonts: new workers, and a new cache digest
                    series.close()
            if templates:
                self.templates = Templates(self.project.templates_dir, time_limit=self.timeout)
                for series in self.series.values():
                    if series.work is not None:
                        series.work.templates = self.templates
                        series.work.forget()
            every, letters, index = templates, set(), False
            if any(p.is_relative_to(self.project.data_dir) for p in paths):
                if not self.named:  # an assessment added or removed while serving
                    try:
                        slugs = self.project.select_assessments()
                    except LetterError:  # data/ gone (being restored, say): each keeps its place, and its pages say why
                        slugs = list(self.series)
                    if slugs != list(self.series):
                        for gone in self.series.keys() - set(slugs):
                            self.series[gone].close()
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

    def readiness(self, view: LetterView) -> tuple[LetterView, Readiness]:
        """The letter with its PDF's pages (the page limit among its problems), and the reasons `letters approve`
        would give today, made along approve's own path (its PDF from the shared cache, or made in a worker);
        kept until it changes."""
        assert view.html is not None
        series = self.get(view.assessment)
        with self.lock:
            work = series.loaded()
            if view.slug in series.readiness:
                return series.views.get(view.slug, view), series.readiness[view.slug]
        (paged,) = work.with_pages([view.state])
        asked = view.state.status not in STANDING
        reasons = work.blockers([view.state])[view.slug] if asked else []
        ready = Readiness(paged.pages, work.assessment.page_limit, tuple(reasons), asked)
        shown = LetterView(paged, view.assessment, view.outcome)
        with self.lock:
            if series.views.get(view.slug) is view:  # not changed meanwhile
                series.views[view.slug] = shown
                series.readiness[view.slug] = ready
        return shown, ready

    def pdf(self, view: LetterView) -> bytes:
        """The letter's PDF, made as a build makes it; LetterError when it cannot be (its text fails the check, say)."""
        assert view.html is not None
        work = self.get(view.assessment).loaded()
        ((_, made),) = work.service.make([(view.slug, Job(view.item.shown, html=view.html, standard=work.assessment.standard()))])
        if made.problem:
            raise LetterError(made.problem)
        self.pdf_renders += made.rendered
        return made.pdf

    def try_values(self, assessment: str, slug: str, values: Mapping[str, Any], lay_out: bool = True) -> Draft:
        """The letter as these values would make it and, with `lay_out`, laid out as its PDF would be:
        nothing is saved or cached."""
        with self.lock:
            work = self.get(assessment).loaded()
        item = try_edit(work.batch, slug, values, letter_file(work.batch, slug).data)
        state = work.state(item)
        breaks: tuple[str, ...] = ()
        if lay_out and not state.failed:
            ((_, made),) = work.service.make([(slug, Job(item.shown, html=state.html, standard=work.assessment.standard()))], keep=False)
            state = state.with_pages(made.problem or made.pages)
            if made.pdf is not None:
                breaks = tuple(page_starts(made.pdf))
        return Draft(item, state.html, tuple(state.all_problems), state.pages, work.assessment.page_limit, breaks)

    def close(self) -> None:
        """End the workers that make PDFs."""
        with self.lock:
            for series in self.series.values():
                series.close()


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


def select(
    views: Sequence[LetterView], outcome: str = "", status: str = "", sort: str = "name", q: str = "", assessment: Assessment | None = None
) -> list[LetterView]:
    """The index's rows: filtered by outcome key, status and words of the recipient's name, then sorted
    (by date: the letters' dates, their own or the assessment's, earliest first, the undated last)."""
    words = q.casefold().split()
    rows = [
        v
        for v in views
        if (not outcome or v.outcome_key == outcome)
        and (not status or v.status == status)
        and all(word in f"{v.name} {v.slug}".casefold() for word in words)
    ]
    keys = {
        "name": lambda v: v.name.casefold(),
        "outcome": lambda v: (v.outcome.label if v.outcome else "~" + v.outcome_key, v.name.casefold()),
        "status": lambda v: (v.status, v.name.casefold()),
        "problems": lambda v: (-len(v.errors), -len(v.warnings), v.name.casefold()),
        "date": lambda v: _by_date(v, assessment),
    }
    return sorted(rows, key=keys.get(sort, keys["name"]))


def _by_date(view: LetterView, assessment: Assessment | None) -> tuple[bool, dt.date, str]:
    """A row's place in date order: its letter's date (its own, or the assessment's), the undated last, then its name."""
    dated = view.item.letter.dated(assessment) if view.item.letter and assessment else None
    return dated is None, dated or dt.date.min, view.name.casefold()
