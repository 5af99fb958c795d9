"""`letters build --final`: the letters to issue, refused while any is not approved, or changed since it was."""

from __future__ import annotations

from hmicfrs_letters.build.bulk import build
from hmicfrs_letters.build.report import BuildReport
from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.workflow.series import Workflow


def final_problems(work: Workflow) -> list[Problem]:
    """Why a final build of the chosen letters must not go ahead: each letter the rules (core.state) do
    not find issuable, with why in a word or two, and a fixed wording that is not the approved one."""
    project = work.project
    unready = [f"{state.slug} ({', '.join(state.refusal())})" for state in work.states() if not state.issuable]
    problems = []
    if unready:
        problems.append(
            Problem(
                project.shown(project.letters_dir(work.assessment.slug)),
                f"final build refused: {len(unready)} {'letter is' if len(unready) == 1 else 'letters are'} not approved: "
                f"{', '.join(unready)}; approve them with `letters approve SLUG...`, or build without --final",
            )
        )
    lock = [p for p in work.wording_problems() if p.is_error]
    if lock:
        problems.append(
            Problem(lock[0].path, "final build refused: the fixed wording is not the approved wording (see `letters check`)", lock[0].line)
        )
    return problems


def publish(work: Workflow, formats: tuple[str, ...] = ("html", "pdf"), final: bool = False, progress=None) -> BuildReport:
    """A build of the chosen letters; a final one only when every letter it would build is approved and the wording lock holds."""
    if final:
        problems = final_problems(work)
        if problems:
            raise LetterError(problems)
    return build(work.batch, work.templates, work.service, work.chosen, formats, work.out, progress, final)
