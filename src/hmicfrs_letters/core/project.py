"""Where a project keeps its data, templates and output, and which assessments it has."""

from __future__ import annotations

from collections.abc import Sequence
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

    def pdf_cache_dir(self, out: Path | None = None) -> Path:
        """The content-addressed PDF cache of the builds into `out` (output/ by default), which every command shares."""
        return (out or self.output_dir).resolve() / ".cache" / "pdf"

    @property
    def locks_dir(self) -> Path:
        """Where commands that rewrite a data file keep their lock files (core.files.HeldFile)."""
        return self.output_dir / ".cache" / "locks"

    @property
    def recipients_dir(self) -> Path:
        return self.data_dir / "recipients"

    def recipients_file(self, name: str) -> Path:
        return self.recipients_dir / f"{name}.yaml"

    @property
    def old_forces_file(self) -> Path:
        """Where the police forces were listed before recipient lists (an error now, saying where they went)."""
        return self.data_dir / "forces.yaml"

    def assessment_file(self, slug: str) -> Path:
        return self.data_dir / "assessments" / f"{slug}.yaml"

    def letters_dir(self, slug: str) -> Path:
        return self.data_dir / "assessments" / slug

    def approved_copy(self, assessment: str, slug: str) -> Path:
        """The letter's file as it was when last approved (kept by `letters approve`, for comparing)."""
        return self.letters_dir(assessment) / ".approved" / f"{slug}.yaml"

    def wording_file(self, slug: str) -> Path:
        """The approved fixed wording of an assessment's letters, as text, beside its file."""
        return self.assessment_file(slug).with_suffix(".wording.txt")

    def variants_file(self, slug: str) -> Path:
        """The approved wording of the other paths through an assessment's templates (workflow.wording), beside its file."""
        return self.assessment_file(slug).with_suffix(".variants.txt")

    def shown(self, path: Path) -> str:
        """A path as messages show it: relative to the project root."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def assessments(self) -> list[str]:
        folder = self.data_dir / "assessments"
        return sorted(p.stem for p in folder.glob("*.yaml") if SLUG.fullmatch(p.stem)) if folder.is_dir() else []

    def recipient_lists(self) -> list[str]:
        folder = self.recipients_dir
        return sorted(p.stem for p in folder.glob("*.yaml") if SLUG.fullmatch(p.stem)) if folder.is_dir() else []

    def select_assessments(self, slugs: Sequence[str] = ()) -> list[str]:
        """The assessments named (each once, in order), or all there are; LetterError for one that does not exist."""
        known = self.assessments()
        if not known:
            raise LetterError(Problem(self.shown(self.data_dir / "assessments"), "no assessment files (*.yaml) found"))
        unknown = [s for s in slugs if s not in known]
        if unknown:
            raise LetterError([self._unknown(s, known) for s in unknown])
        return list(dict.fromkeys(slugs)) or known

    def _unknown(self, slug: str, known: list[str]) -> Problem:
        return Problem(
            self.shown(self.data_dir / "assessments"),
            f"no assessment {slug!a}{did_you_mean(slug, known)}; known: {', '.join(known) or 'none'}",
        )

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
            raise LetterError(self._unknown(slug, known))
        return slug
