"""Step 2, validate: every file of one assessment read into records, with every problem collected."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hmicfrs_letters.core import findings
from hmicfrs_letters.core.chars import UNEXTRACTABLE, unextractable_message
from hmicfrs_letters.core.errors import LetterError, Problem, Severity
from hmicfrs_letters.core.load import Document, load_yaml
from hmicfrs_letters.core.models import INVALID, MAX_FINDINGS_CHARS, PENDING, SLUG, Assessment, Force, Letter, did_you_mean
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.schema import read_assessment, read_forces, read_letter


@dataclass
class LetterInput:
    """One force's letter file: the letter when it could be read, and its problems."""

    slug: str
    source: Path
    shown: str
    letter: Letter | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def status(self) -> str:
        """draft, approved, or invalid when the file could not be read."""
        return self.letter.status if self.letter else INVALID


@dataclass
class Batch:
    """One assessment's shared records and all its letters."""

    project: Project
    assessment: Assessment
    forces: dict[str, Force]
    letters: list[LetterInput]
    problems: list[Problem] = field(default_factory=list)

    def select(self, slugs: Sequence[str]) -> list[LetterInput]:
        """The letters of these forces (all when none are named); an unknown slug is an error."""
        if not slugs:
            return self.letters
        by_slug = {item.slug: item for item in self.letters}
        unknown = [s for s in slugs if s not in by_slug]
        if unknown:
            raise LetterError(
                [
                    Problem(
                        self.project.shown(self.project.letters_dir(self.assessment.slug)),
                        f"no letter for force {s!a}{did_you_mean(s, by_slug)}",
                    )
                    for s in unknown
                ]
            )
        return [by_slug[s] for s in dict.fromkeys(slugs)]


def load_batch(project: Project, assessment: str | None = None) -> Batch:
    """Read an assessment and all its letters.

    Problems in the shared files raise LetterError, since no letter can be built without them;
    problems in one force's file stay with that letter.
    """
    slug = project.resolve_assessment(assessment)
    problems: list[Problem] = []
    forces_doc = _load(project, project.forces_file, problems)
    assessment_doc = _load(project, project.assessment_file(slug), problems)
    problems += [p for doc in (forces_doc, assessment_doc) if doc for p in doc.problems]
    forces = read_forces(forces_doc, problems) if forces_doc else {}
    record = read_assessment(slug, assessment_doc, problems) if assessment_doc else None
    if record is None or any(p.is_error for p in problems):
        raise LetterError(problems)

    folder = project.letters_dir(slug)
    files = {p.stem: p for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}
    for missing in sorted(forces.keys() - files.keys()):
        problems.append(Problem(project.shown(folder), f"no letter file for force '{missing}' ({missing}.yaml)", severity=Severity.WARNING))
    letters = [_read_letter(project, record, forces, name, path) for name, path in files.items()]
    return Batch(project, record, forces, letters, problems)


def _load(project: Project, path: Path, problems: list[Problem]) -> Document | None:
    try:
        return load_yaml(path, project.shown(path), project.data_dir)
    except LetterError as exc:
        problems.extend(exc.problems)
        return None


def _read_letter(project: Project, assessment: Assessment, forces: dict[str, Force], slug: str, path: Path) -> LetterInput:
    item = LetterInput(slug, path, project.shown(path), None)
    if not SLUG.fullmatch(slug):
        item.problems.append(
            # Its name shown escaped: a look-alike or invisible character must not read as a good slug.
            Problem(
                item.shown,
                f"{slug!a} is not a slug: a letter file is named after its force's slug, in lower-case letters, digits and hyphens",
            )
        )
        return item
    if slug not in forces:
        item.problems.append(Problem(item.shown, f"'{slug}' is not a force in data/forces.yaml{did_you_mean(slug, forces)}"))
        return item
    doc = _load(project, path, item.problems)
    if doc is None:
        return item
    letter = read_letter(forces[slug], assessment, doc, item.problems)
    if not item.errors:
        item.letter = letter
        item.problems.extend(check_letter(letter, assessment, doc))
    # After the letter is kept: it renders (the preview shows it), but will not build.
    item.problems.extend(doc.problems)
    return item


def approval_gaps(letter: Letter, assessment: Assessment) -> list[tuple[str, str]]:
    """What keeps a letter's content from being approved, as (the key of its file, the reason).

    The one set of these rules: `letters check` reports them for an approved letter, `letters
    approve` refuses with them, and a final build therefore finds none in what it issues.
    """
    gaps = []
    if letter.outcome == PENDING:
        gaps.append(("outcome", f"the outcome is pending; set 'outcome' to one of: {', '.join(c.key for c in assessment.categories)}"))
    if not letter.findings.strip():
        gaps.append(("findings", "the findings are not written"))
    elif marks := findings.placeholders(letter.findings):
        gaps.append(("findings", f"the findings hold a placeholder: {', '.join(repr(m) for m in marks)}"))
    return gaps


def check_letter(letter: Letter, assessment: Assessment, doc: Document) -> list[Problem]:
    """What is wrong with a well-formed letter, and what is merely unfinished (warnings)."""
    problems = []
    if len(letter.findings) > MAX_FINDINGS_CHARS:
        return [doc.problem(f"findings are {len(letter.findings):,} characters long; the limit is {MAX_FINDINGS_CHARS:,}", "findings")]
    converted = findings.convert(letter.findings)
    if not letter.is_draft:
        problems += [
            doc.problem(f"approved, but {reason}; fix it or set 'status: draft'", key) for key, reason in approval_gaps(letter, assessment)
        ]
    if converted.too_deep:
        problems.append(
            doc.problem(f"findings nest quotes or lists more than {findings.MAX_NESTING} levels deep; make them flatter", "findings")
        )
    if converted.has_image:
        problems.append(doc.problem("findings may not contain images", "findings"))
    if converted.has_control:
        problems.append(doc.problem("findings write a control character as a character reference (&#…;); remove it", "findings"))
    for char in dict.fromkeys(UNEXTRACTABLE.findall(findings.shown_text(converted))):
        if char not in letter.findings:  # written as a character reference (&#xFB01;): loading the YAML could not see it
            problems.append(doc.problem(unextractable_message(char), "findings"))
    if converted.has_raw_html:
        problems.append(
            doc.problem(
                "findings contain HTML tags; they are printed as typed, not as markup (use Markdown)", "findings", severity=Severity.WARNING
            )
        )
    if letter.is_draft:
        problems.append(doc.problem("draft: not yet approved", "status", severity=Severity.WARNING))
    if letter.outcome == PENDING:
        problems.append(
            doc.problem("outcome pending: the letter shows a placeholder for its findings", "outcome", severity=Severity.WARNING)
        )
    elif not letter.findings.strip():
        problems.append(doc.problem("findings not written yet: the letter shows a placeholder", "findings", severity=Severity.WARNING))
    return problems
