"""`letters new`: start a force's letter as a draft, from its outcome's standard findings."""

from __future__ import annotations

import os
from pathlib import Path

from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.files import write_atomic, writing
from hmicfrs_letters.core.models import DRAFT, PENDING, did_you_mean
from hmicfrs_letters.core.validate import Batch
from hmicfrs_letters.workflow.yamledit import dump, folded


def new_letter(batch: Batch, slug: str, outcome: str | None = None) -> Path:
    """Write a force's letter file as a draft, with its outcome's standard findings; never overwrite."""
    project, assessment = batch.project, batch.assessment
    folder = project.letters_dir(assessment.slug)
    if slug not in batch.forces:
        raise LetterError(Problem(project.shown(project.forces_file), f"no force {slug!a}{did_you_mean(slug, batch.forces)}"))
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
    if os.path.lexists(path):  # unlike Path.exists, never raises (a name too long, say): the write below says why
        raise LetterError(Problem(project.shown(path), "already exists; edit it, or delete it first to start again"))
    force = batch.forces[slug]
    data = CommentedMap()
    data["outcome"] = category.key if category else PENDING
    data["status"] = DRAFT
    data["findings"] = folded(category.standard_findings) if category else DoubleQuotedScalarString("")
    if category and category.standard_findings:
        start = f"{force.name}. Started by `letters new` from the standard findings for the outcome\n'{category.label}'.\n"
        start += f"Make them this force's, then run `letters approve {slug}`."
    else:
        start = f"{force.name}. Started by `letters new`: set the outcome, write the findings,\nthen run `letters approve {slug}`."
    data.yaml_set_start_comment(start)
    with writing(project.shown(path), then="the letter was not started"):
        write_atomic(path, dump(data))
    return path
