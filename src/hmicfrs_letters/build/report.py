"""What a build made of each letter, and of the build as a whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hmicfrs_letters.core.errors import Problem
from hmicfrs_letters.core.models import FAILED, Letter
from hmicfrs_letters.core.validate import LetterInput


@dataclass
class LetterResult:
    """What became of one letter in a build."""

    item: LetterInput
    problems: list[Problem] = field(default_factory=list)
    html: Path | None = None
    pdf: Path | None = None
    pages: int | None = None
    rendered: bool = False

    @property
    def slug(self) -> str:
        return self.item.slug

    @property
    def letter(self) -> Letter | None:
        return self.item.letter

    @property
    def failed(self) -> bool:
        return any(p.is_error for p in self.problems)

    @property
    def status(self) -> str:
        """The letter's status, or failed."""
        return FAILED if self.failed else self.item.status


@dataclass
class BuildReport:
    out_dir: Path
    results: list[LetterResult]
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)  # of the build as a whole (the overview's PDF, say)

    @property
    def failed(self) -> list[LetterResult]:
        return [r for r in self.results if r.failed]

    @property
    def built(self) -> list[LetterResult]:
        return [r for r in self.results if not r.failed]

    @property
    def drafts(self) -> list[LetterResult]:
        return [r for r in self.built if r.letter and r.letter.is_draft]

    @property
    def rendered(self) -> int:
        return sum(r.rendered for r in self.results)
