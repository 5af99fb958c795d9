"""`letters new`: start a force's letter as a draft, from its outcome's standard findings."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml.comments import CommentedMap

from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.files import HeldFile
from hmicfrs_letters.core.models import DRAFT, PENDING, did_you_mean
from hmicfrs_letters.core.validate import Batch, read_letter_bytes
from hmicfrs_letters.workflow.yamledit import dump, literal

# Said in every new file, since a folded block (`>`) would run paragraphs and lists together.
MARKDOWN_HELP = "The findings are Markdown in a literal block (`|`), indented by two spaces:\na blank line between paragraphs, `- ` before each item of a list."


def new_letter(batch: Batch, slug: str, outcome: str | None = None, restart: bool = False) -> Path:
    """Write a force's letter file as a draft, with its outcome's standard findings.

    A file whose findings are not written yet (a pending placeholder) is taken over; one whose
    findings are written is refused unless `restart` asks to start again.
    """
    project, assessment = batch.project, batch.assessment
    folder = project.letters_dir(assessment.slug)
    if slug not in batch.forces:
        raise LetterError(Problem(project.shown(project.forces_file), f"no force '{slug}'{did_you_mean(slug, batch.forces)}"))
    category = None
    if outcome is not None and outcome != PENDING:
        category = assessment.category(outcome)
        if category is None:
            keys = [c.key for c in assessment.categories]
            raise LetterError(
                Problem(
                    project.shown(project.assessment_file(assessment.slug)),
                    f"unknown outcome '{outcome}'{did_you_mean(outcome, keys)}; expected one of: {', '.join(keys)}",
                )
            )
    path = folder / f"{slug}.yaml"
    force = batch.forces[slug]
    data = CommentedMap()
    data["outcome"] = category.key if category else PENDING
    data["status"] = DRAFT
    data["findings"] = literal(category.standard_findings if category else "")
    if category and category.standard_findings:
        start = f"{force.name}. Started by `letters new` from the standard findings for the outcome\n'{category.label}'.\n"
        start += f"Make them this force's, then run `letters approve {slug}`."
    else:
        start = f"{force.name}. Started by `letters new`: set the outcome, write the findings,\nthen run `letters approve {slug}`."
    data.yaml_set_start_comment(f"{start}\n{MARKDOWN_HELP}")
    with HeldFile(path, project.shown(path), project.locks_dir) as held:
        if held.data is not None and not restart:
            _refuse_if_started(batch, slug, held.data)
        held.write(dump(data).encode("utf-8"))
    return path


def _refuse_if_started(batch: Batch, slug: str, raw: bytes) -> None:
    """Refuse to replace a letter whose findings are written, or that cannot be read to tell."""
    item = read_letter_bytes(batch, slug, raw)
    if item.letter is None:
        why = f"cannot be read as a letter ({item.errors[0].message if item.errors else 'see `letters check`'})"
    elif item.letter.findings.strip():
        why = "already has findings"
    else:
        return  # a placeholder with no findings yet: taken over
    raise LetterError(Problem(item.shown, f"{why}; edit it, or start again with `letters new --restart`, which replaces it"))
