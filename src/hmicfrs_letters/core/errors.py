"""Problems found in the data or templates, each with its place."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from hmicfrs_letters.core.chars import visible


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One problem with its place: the file, and the line and column where known."""

    path: str
    message: str
    line: int | None = None
    column: int | None = None
    severity: Severity = Severity.ERROR
    # Lines shown under the message (a diff, say); the message itself stays one line.
    detail: str = field(default="", compare=False)
    # The top-level key of the file it concerns, where there is one: the preview shows it by that field.
    key: str = field(default="", compare=False)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        # Paths and messages carry names and values from the data: invisible and control
        # characters are shown escaped, never raw on a terminal or a page.
        place = visible(self.path)
        if self.line is not None:
            place += f":{self.line}"
            if self.column is not None:
                place += f":{self.column}"
        prefix = "warning: " if self.severity is Severity.WARNING else ""
        return f"{place}: {prefix}{visible(self.message)}"


class LetterError(Exception):
    """A failure the user can fix: carries every problem that caused it."""

    def __init__(self, problems: list[Problem] | Problem) -> None:
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
