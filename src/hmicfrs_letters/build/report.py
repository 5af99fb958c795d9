"""What a build made of each letter, and of the build as a whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hmicfrs_letters.core.errors import Problem
from hmicfrs_letters.core.models import FAILED, Letter
from hmicfrs_letters.core.state import LetterState, Status
from hmicfrs_letters.core.validate import LetterInput


@dataclass
class LetterResult:
    """What became of one letter in a build: its state (core.state), and what the build itself met."""

    state: LetterState
    problems: list[Problem] = field(default_factory=list)  # the build's own: a write that failed, the final check
    html: Path | None = None
    pdf: Path | None = None
    rendered: bool = False

    @property
    def item(self) -> LetterInput:
        return self.state.item

    @property
    def slug(self) -> str:
        return self.state.slug

    @property
    def letter(self) -> Letter | None:
        return self.state.item.letter

    @property
    def pages(self) -> int | None:
        return self.state.pages

    @property
    def failed(self) -> bool:
        return self.state.failed or any(p.is_error for p in self.problems)

    @property
    def errors(self) -> list[Problem]:
        """Why it failed: its own errors and the build's (not an approval that no longer stands: it still builds)."""
        return [p for p in (*self.state.problems, *self.problems) if p.is_error]

    @property
    def status(self) -> str:
        """The letter's status, or failed."""
        return FAILED if self.failed else str(self.state.status)


@dataclass
class BuildReport:
    out_dir: Path
    results: list[LetterResult]
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)  # of the build as a whole (the overview's PDF, say)
    # Every letter of the assessment, built now or not, by slug: what the index, overview and manifest show.
    states: dict[str, LetterState] = field(default_factory=dict)

    @property
    def failed(self) -> list[LetterResult]:
        return [r for r in self.results if r.failed]

    @property
    def built(self) -> list[LetterResult]:
        return [r for r in self.results if not r.failed]

    @property
    def drafts(self) -> list[LetterResult]:
        return [r for r in self.built if r.state.status is Status.DRAFT]

    @property
    def changed(self) -> list[LetterResult]:
        """The letters built that were approved, and have changed since: marked so, not approved."""
        return [r for r in self.built if r.state.status is Status.CHANGED]

    @property
    def rendered(self) -> int:
        return sum(r.rendered for r in self.results)

    def left_out(self) -> dict[str, str]:
        """The letters of the series this build does not hold, and why: what stops each being issued
        (core.state's words: "draft, pending", "changed since it was approved by …"), or "not selected"."""
        held = {r.slug for r in self.results}
        return {slug: ", ".join(state.refusal()) or "not selected" for slug, state in self.states.items() if slug not in held}

    def status(self, slug: str) -> str:
        """A letter's status as this build's index shows it: failed when this build failed it."""
        results = {r.slug: r for r in self.results}
        return results[slug].status if slug in results else str(self.states[slug].status)
