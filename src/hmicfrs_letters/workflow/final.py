"""`letters build --final`: the letters to issue, refused while any is not approved."""

from __future__ import annotations

from collections.abc import Sequence

from hmicfrs_letters.build.bulk import build
from hmicfrs_letters.build.report import BuildReport
from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.models import PENDING
from hmicfrs_letters.core.validate import Batch
from hmicfrs_letters.workflow.wording import wording_problems


def final_problems(batch: Batch, slugs: Sequence[str] = ()) -> list[Problem]:
    """Why a final build of these letters must not go ahead: drafts, pending outcomes, unreadable files, changed wording."""
    project = batch.project
    unready = []
    for item in batch.select(slugs):
        letter = item.letter
        if letter is None:
            unready.append(f"{item.slug} ({item.status})")
            continue
        marks = [m for m, on in (("draft", letter.is_draft), ("pending", letter.outcome == PENDING), ("errors", bool(item.errors))) if on]
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
    lock = [p for p in wording_problems(batch) if p.is_error]
    if lock:
        problems.append(
            Problem(lock[0].path, "final build refused: the fixed wording is not the approved wording (see `letters check`)", lock[0].line)
        )
    return problems


def publish(
    batch: Batch, slugs: Sequence[str] = (), formats: Sequence[str] = ("html", "pdf"), final: bool = False, **options
) -> BuildReport:
    """A build; a final one only when every letter it would build is approved and the wording lock holds."""
    if final:
        problems = final_problems(batch, slugs)
        if problems:
            raise LetterError(problems)
    return build(batch, slugs=slugs, formats=formats, final=final, **options)
