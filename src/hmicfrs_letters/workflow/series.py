"""One assessment's work: the object every command and the preview hold for a series of letters.

A Workflow owns the assessment's batch (its files, read and validated), one Templates, and one
PDF service, started only when first asked, over the project's cache. It asks core.state for
each letter's state, so that every command and page says the same of a letter.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.models import Assessment, did_you_mean
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.state import LetterState, approval_blockers, assess
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.text import letter_passages
from hmicfrs_letters.core.validate import Batch, LetterInput, load_batch
from hmicfrs_letters.pdf import LETTER_TIME_LIMIT

if TYPE_CHECKING:  # imported when first used: `letters list` makes no PDF, and does not load the machinery
    from hmicfrs_letters.pdf.service import PdfService


# More than any page holds, however small a stylesheet sets the text: paragraphs (each a line at
# least) and characters. A letter's text past these for its page limit is not laid out.
MOST_BLOCKS_PER_PAGE = 200
MOST_CHARS_PER_PAGE = 20_000


class Workflow:
    """One assessment: its batch, its templates, its PDF service and its letters' states.

    `chosen`: the letters a command named, by id or by their recipient's slug (every letter when empty). Options are those of
    the PDF service (`out`, the output folder whose cache it shares; `jobs`, `timeout`, `pdf`,
    `rebuild`, `tasks_per_worker`).
    """

    def __init__(self, batch: Batch, templates: Templates | None = None, chosen: Sequence[str] = (), **options: Any) -> None:
        self.batch = batch
        self.chosen = tuple(chosen)
        self.out: Path | None = options.pop("out", None)
        self.options = {"timeout": LETTER_TIME_LIMIT, **options}
        # A letter's HTML has the time limit its PDF has: a template that loops is that letter's error.
        self.templates = templates or Templates(batch.project.templates_dir, time_limit=self.options["timeout"])
        self._service: PdfService | None = None
        self._wording: list[Problem] | None = None
        self._lock = threading.Lock()

    @classmethod
    def load(cls, project: Project, assessment: str | None = None, **options: Any) -> Workflow:
        """The workflow of one assessment (the only one when not named); LetterError when its shared files cannot be read."""
        return cls(load_batch(project, assessment), **options)

    @property
    def project(self) -> Project:
        return self.batch.project

    @property
    def assessment(self) -> Assessment:
        return self.batch.assessment

    # --- resources ----------------------------------------------------------------------

    @property
    def service(self) -> PdfService:
        """The PDF service, started when first asked, with the cache of the output folder."""
        from hmicfrs_letters.pdf.service import PdfService

        with self._lock:
            if self._service is None:
                self._service = PdfService(
                    self.project, self.project.pdf_cache_dir(self.out), letter_template=self.assessment.template, **self.options
                )
            return self._service

    def close(self) -> None:
        """End the PDF service's workers, if it was started."""
        with self._lock:
            service, self._service = self._service, None
        if service is not None:
            service.close()

    def __enter__(self) -> Workflow:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the letters' states ------------------------------------------------------------

    def items(self) -> list[LetterInput]:
        """The letters chosen (all when none was named)."""
        return self.batch.select(self.chosen)

    def state(self, item: LetterInput) -> LetterState:
        """One letter's state, by the one rule set (core.state)."""
        return assess(self.templates, self.assessment, item)

    def states(self, items: Iterable[LetterInput] | None = None) -> list[LetterState]:
        """The states of these letters (the chosen ones by default), rendered here, without their PDFs."""
        return [self.state(item) for item in (self.items() if items is None else items)]

    def with_pages(self, states: Sequence[LetterState], keep: bool = True) -> list[LetterState]:
        """These states once their PDFs are made (from the cache, or in a worker): page counts, the page limit, a PDF that fails.

        `keep=False` for a passing look (a letter as someone types it): new PDFs are not cached.
        """
        from hmicfrs_letters.pdf.service import Job

        done = list(states)
        standard = self.assessment.standard()
        jobs = []
        for n, state in enumerate(states):
            if state.failed:
                continue
            far_over = self.far_over_the_page_limit(state)
            if far_over is not None:  # limits before work: hundreds of pages are not laid out to be refused
                done[n] = state.with_pages(far_over)
            else:
                jobs.append((n, Job(state.item.shown, html=state.html, standard=standard)))
        if jobs:
            for n, made in self.service.make(jobs, keep=keep):
                done[n] = done[n].with_pages(made.problem or made.pages)
        return done

    def far_over_the_page_limit(self, state: LetterState) -> Problem | None:
        """Why a letter is over its page limit without laying it out, when its text alone fills more pages
        than the limit however small a stylesheet sets it; None when only its PDF can tell."""
        html, limit = state.html or "", self.assessment.page_limit
        # Each passage starts at a tag and its text is part of the HTML: a bound found without parsing it.
        if max(html.count("<") // MOST_BLOCKS_PER_PAGE, len(html) // MOST_CHARS_PER_PAGE) <= limit:
            return None
        passages = letter_passages(html)
        chars = sum(len(p.text) for p in passages)
        least = max(len(passages) // MOST_BLOCKS_PER_PAGE, chars // MOST_CHARS_PER_PAGE)
        if least <= limit:
            return None
        return Problem(
            state.item.shown,
            f"{state.name}: far over the page limit of {limit}: its {len(passages):,} paragraphs and {chars:,} characters "
            f"fill at least {least} pages (not laid out); shorten it",
        )

    def wording_problems(self) -> list[Problem]:
        """Whether the templates' fixed wording is the approved one (workflow.wording), found once."""
        from hmicfrs_letters.workflow.wording import wording_problems

        if self._wording is None:
            self._wording = wording_problems(self.batch, self.templates)
        return self._wording

    def forget(self) -> None:
        """Forget what was found of the files as they were (the wording lock): the caller has read them anew."""
        self._wording = None

    @property
    def wording_locked(self) -> bool:
        return not any(p.is_error for p in self.wording_problems())

    def blockers(self, states: Sequence[LetterState]) -> dict[str, list[str]]:
        """Why `letters approve` would refuse each of these letters today (an empty list when it would approve it).

        Pages are counted only for the letters that pass every other check: a PDF is the slow part.
        """
        reasons = {state.slug: approval_blockers(state, self.assessment, self.wording_locked) for state in states}
        for state in self.with_pages([state for state in states if not reasons[state.slug]]):
            reasons[state.slug] += [p.message for p in state.problems if p.is_error]
        return reasons

    def general_problems(self) -> list[Problem]:
        """The problems outside the letters' own files: the shared files, every template, the wording lock."""
        broken = self.templates.problems()
        return [*self.batch.problems, *broken, *([] if broken else self.wording_problems())]

    def check(self, pages: bool = True) -> list[Problem]:
        """Every problem `letters check` reports: general_problems, and each letter's state (with pages:
        its PDF made, from the cache when it can be, and its pages counted)."""
        problems = self.general_problems()
        if self.templates.problems():  # no letter can be rendered: each says only what its file says
            problems += [p for item in self.batch.letters for p in item.problems]
        else:
            states = self.states(self.batch.letters)
            for state in self.with_pages(states) if pages else states:
                problems += state.all_problems
        return sorted(dict.fromkeys(problems), key=lambda p: (p.path, p.line or 0))


def open_series(
    project: Project, assessments: Sequence[str] = (), recipients: Sequence[str] = (), **options: Any
) -> tuple[list[Workflow], list[Problem]]:
    """The workflows of these assessments (all by default), and the problems of those that cannot be read.

    With recipients named (a letter's id, or a recipient's slug for every letter to it), only the
    assessments that have a letter for one of them, each with those letters chosen; a name that
    none has is an error, with the nearest as a hint.
    """
    works, problems = [], []
    for slug in project.select_assessments(assessments):
        try:
            works.append(Workflow.load(project, slug, **options))
        except LetterError as exc:
            problems += exc.problems
    if not recipients:
        return works, problems
    known = {name for work in works for name in work.batch.names()}
    unknown = [slug for slug in recipients if slug not in known]
    if unknown and problems:  # an assessment that cannot be read may be the one that has them
        raise LetterError(problems)
    if unknown and len(works) == 1:
        works[0].batch.select(unknown)  # raises, with the assessment's own words and the nearest slug
    if unknown:
        folder = project.shown(project.data_dir / "assessments")
        raise LetterError([Problem(folder, f"no letter for '{slug}' in any assessment{did_you_mean(slug, known)}") for slug in unknown])
    chosen = []
    for work in works:
        mine = work.batch.names()
        work.chosen = tuple(slug for slug in recipients if slug in mine)
        if work.chosen:
            chosen.append(work)
    return chosen, problems
