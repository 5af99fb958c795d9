"""`letters new`: start a recipient's letter as a draft, from its outcome's standard findings."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.files import write_atomic
from hmicfrs_letters.core.models import DRAFT, PENDING, did_you_mean
from hmicfrs_letters.core.validate import Batch
from hmicfrs_letters.workflow.yamledit import dump, folded

# The field an outcome's `standard_findings` start a new letter's text in.
STANDARD_FIELD = "findings"


def new_letter(batch: Batch, slug: str, outcome: str | None = None) -> Path:
    """Write a recipient's letter file as a draft, with its outcome's standard findings; never overwrite."""
    project, assessment, recipients = batch.project, batch.assessment, batch.recipients
    folder = project.letters_dir(assessment.slug)
    if slug not in recipients.recipients:
        where = project.shown(project.recipients_file(recipients.name))
        raise LetterError(Problem(where, f"no {recipients.singular} '{slug}'{did_you_mean(slug, recipients.recipients)}"))
    category = None
    if outcome is not None and not assessment.graded:
        raise LetterError(Problem(project.shown(project.assessment_file(assessment.slug)), "this series has no outcomes (no 'categories')"))
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
    if path.exists():
        raise LetterError(Problem(project.shown(path), "already exists; edit it, or delete it first to start again"))
    recipient = recipients.recipients[slug]
    data = CommentedMap()
    if assessment.graded:
        data["outcome"] = category.key if category else PENDING
    data["status"] = DRAFT
    for spec in assessment.fields:  # every field to write, the findings started from the outcome's standard wording
        standard = category.standard_findings if category and spec.name == STANDARD_FIELD else ""
        if spec.required or standard:
            data[spec.name] = folded(standard) if standard else DoubleQuotedScalarString("")
    if category and category.standard_findings:
        start = f"{recipient.name}. Started by `letters new` from the standard findings for the outcome\n'{category.label}'.\n"
        start += f"Make them this {recipients.singular}'s, then run `letters approve {slug}`."
    else:
        todo = "set the outcome, write the fields" if assessment.graded else "write the fields"
        start = f"{recipient.name}. Started by `letters new`: {todo},\nthen run `letters approve {slug}`."
    data.yaml_set_start_comment(start)
    write_atomic(path, dump(data))
    return path
