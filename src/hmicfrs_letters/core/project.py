"""Where a project keeps its data, templates and output, and which assessments it has."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.models import SLUG, did_you_mean


@dataclass(frozen=True)
class Project:
    """A folder holding data/ and templates/ (and, once built, output/)."""

    root: Path

    @classmethod
    def at(cls, folder: Path) -> Project:
        try:
            root = folder.resolve()
        except (OSError, RuntimeError):  # Python 3.11 raises RuntimeError for a symbolic link loop
            raise LetterError(Problem(str(folder), "not a letters project: the folder is a symbolic link in a loop")) from None
        missing = [name for name in ("data", "templates") if not (root / name).is_dir()]
        if missing:
            raise LetterError(
                Problem(
                    str(root),
                    f"not a letters project: no {' or '.join(m + '/' for m in missing)} here; run in the project folder or pass --project DIR",
                )
            )
        return cls(root)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def forces_file(self) -> Path:
        return self.data_dir / "forces.yaml"

    def assessment_file(self, slug: str) -> Path:
        return self.data_dir / "assessments" / f"{slug}.yaml"

    def letters_dir(self, slug: str) -> Path:
        return self.data_dir / "assessments" / slug

    def wording_file(self, slug: str) -> Path:
        """The approved fixed wording of an assessment's letters, as text, beside its file."""
        return self.assessment_file(slug).with_suffix(".wording.txt")

    def shown(self, path: Path) -> str:
        """A path as messages show it: relative to the project root."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def assessments(self) -> list[str]:
        folder = self.data_dir / "assessments"
        return sorted(p.stem for p in folder.glob("*.yaml") if SLUG.fullmatch(p.stem)) if folder.is_dir() else []

    def resolve_assessment(self, slug: str | None) -> str:
        """The assessment asked for, or the only one there is."""
        known = self.assessments()
        if slug is None:
            if len(known) == 1:
                return known[0]
            if not known:
                raise LetterError(Problem(self.shown(self.data_dir / "assessments"), "no assessment files (*.yaml) found"))
            raise LetterError(
                Problem(self.shown(self.data_dir / "assessments"), f"several assessments; choose one with --assessment: {', '.join(known)}")
            )
        if slug not in known:
            raise LetterError(
                Problem(
                    self.shown(self.data_dir / "assessments"),
                    f"no assessment {slug!a}{did_you_mean(slug, known)}; known: {', '.join(known) or 'none'}",
                )
            )
        return slug
