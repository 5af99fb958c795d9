"""`letters build --final`: the letters to issue, refused while any is not approved, or changed since it was."""

from __future__ import annotations

from collections.abc import Sequence

from hmicfrs_letters.build.bulk import build
from hmicfrs_letters.build.report import BuildReport
from hmicfrs_letters.core.approval import approval_problem
from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.models import PENDING
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.validate import Batch, LetterInput
from hmicfrs_letters.workflow.wording import wording_problems


def final_problems(batch: Batch, slugs: Sequence[str] = ()) -> list[Problem]:
    """Why a final build of these letters must not go ahead: drafts, pending outcomes, unreadable files,
    approvals that no longer stand (no record, or the letter changed since), changed wording."""
    project = batch.project
    templates = Templates(project.templates_dir)
    unready = []
    for item in batch.select(slugs):
        letter = item.letter
        if letter is None:
            unready.append(f"{item.slug} ({item.status})")
            continue
        marks = [m for m, on in (("draft", letter.is_draft), ("pending", letter.outcome == PENDING), ("errors", bool(item.errors))) if on]
        marks += _approval_marks(templates, batch, item)
        if marks:
            unready.append(f"{item.slug} ({', '.join(marks)})")
    problems = []
    if unready:
        problems.append(
            Problem(
                project.shown(project.letters_dir(batch.assessment.slug)),
                f"final build refused: {len(unready)} {'letter is' if len(unready) == 1 else 'letters are'} not approved: "
                f"{', '.join(unready)}; approve them with `letters approve SLUG...`, or build without --final",
            )
        )
    lock = [p for p in wording_problems(batch, templates) if p.is_error]
    if lock:
        problems.append(
            Problem(lock[0].path, "final build refused: the fixed wording is not the approved wording (see `letters check`)", lock[0].line)
        )
    return problems


def _approval_marks(templates: Templates, batch: Batch, item: LetterInput) -> list[str]:
    """Why an approved letter's approval does not stand, in a word or two; nothing for a draft."""
    try:
        problem = approval_problem(templates, batch.assessment, item)
    except LetterError:
        return ["errors"]
    record = item.letter.approved
    if problem is None:
        return []
    if record is None:
        return ["no approval record"]
    return [f"changed since it was approved by {record.by} on {record.on.isoformat()}"]


def publish(
    batch: Batch, slugs: Sequence[str] = (), formats: Sequence[str] = ("html", "pdf"), final: bool = False, **options
) -> BuildReport:
    """A build; a final one only when every letter it would build is approved and the wording lock holds."""
    if final:
        problems = final_problems(batch, slugs)
        if problems:
            raise LetterError(problems)
    return build(batch, slugs=slugs, formats=formats, final=final, **options)
