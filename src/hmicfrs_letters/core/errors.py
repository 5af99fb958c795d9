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
    # The same problem in the words of the people who write letters (the preview's letter page): no file,
    # line, key, slug or command. Empty where only the data team can act on it.
    plain: str = field(default="", compare=False)

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


class Said(str):
    """A reason as the command line says it (the string itself), with `plain`: the same for the letter page,
    and `key`: the letter's key it is about, where there is one."""

    plain: str
    key: str

    def __new__(cls, technical: str, plain: str, key: str = "") -> Said:
        said = super().__new__(cls, technical)
        said.plain, said.key = plain, key
        return said

    def __reduce__(self) -> tuple[type[Said], tuple[str, str, str]]:
        return (Said, (str(self), self.plain, self.key))


def plain(said: Problem | str) -> str:
    """The plain words of a problem or a reason; '' when it has none (only the technical line says it)."""
    return said.plain if isinstance(said, Problem) else getattr(said, "plain", "")


class LetterError(Exception):
    """A failure the user can fix: carries every problem that caused it."""

    def __init__(self, problems: list[Problem] | Problem) -> None:
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
