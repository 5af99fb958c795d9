"""`letters approve`: a letter is approved only when it passes every check, and the approval is bound to it.

A letter passes when its file is valid, its outcome is set, its fields are written and hold
no placeholder, the letter renders and shows no placeholder, it fits the page limit, and the
fixed wording is the approved one (core.state.approval_blockers, with the pages counted by the
Workflow), and, where the assessment asks for `approval: {second_person: true}`, the approver is not
who saved the letter last (its `edited:` record). These are the only approval rules: `letters check` and the preview show the same
reasons, and a final build issues only what passed them.

Approving writes `status: approved` and an `approved:` record (who, when, and the fingerprint
of the letter as issued: core.approval) into the letter's file. The file is held
(core.files.HeldFile) from the moment it is read until it is rewritten: what is checked is
what is approved, and a save made meanwhile is neither lost nor approved unchecked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import subprocess
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field

from hmicfrs_letters.core.approval import letter_fingerprint
from hmicfrs_letters.core.chars import CONTROL, describe
from hmicfrs_letters.core.errors import LetterError, Problem, Said
from hmicfrs_letters.core.files import HeldFile, write_atomic, writing
from hmicfrs_letters.core.models import ApprovalRecord, Assessment, Letter
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.status import STANDING
from hmicfrs_letters.core.validate import LetterInput, read_letter_bytes
from hmicfrs_letters.workflow.series import Workflow
from hmicfrs_letters.workflow.yamledit import approval_written


@dataclass
class Approval:
    """What became of one letter asked to be approved."""

    item: LetterInput
    reasons: list[str] = field(default_factory=list)
    already: bool = False
    record: ApprovalRecord | None = None
    replaced: ApprovalRecord | None = None  # the record of an approval that no longer stood

    @property
    def approved(self) -> bool:
        return not self.reasons


def approve(
    work: Workflow, slugs: Sequence[str], by: str, on: dt.date | None = None, seen: Mapping[str, str] | None = None
) -> list[Approval]:
    """Approve each of these letters that passes every check, recording who, when and what; say why for the others.

    A letter whose approval stands is left as it is; one approved by hand without a record, or
    changed since it was approved, is checked and approved again. `seen`: the version (the
    SHA-256 of its file's bytes) of each letter that the approver looked at; a letter whose file
    is another version now is not approved. The file as approved is kept beside the letters
    (Project.approved_copy), for comparing a later draft with it.
    """
    project, assessment, batch = work.project, work.assessment, work.batch
    check_name(by)
    on = on or dt.date.today()
    items = batch.select(slugs, by_recipient=False)
    with ExitStack() as stack:
        # Taken in one order by every command, so that two approvals of the same letters cannot deadlock.
        held = {
            item.slug: stack.enter_context(HeldFile(item.source, item.shown, project.locks_dir, project.data_dir))
            for item in sorted(items, key=lambda item: str(item.source))
        }
        # What is checked is what these bytes say, not what was on disk when the command started.
        states = {item.slug: work.state(read_letter_bytes(batch, item.slug, held[item.slug].data)) for item in items}  # in the order asked
        reasons = work.blockers([state for state in states.values() if state.status not in STANDING])
        results = []
        for slug, state in states.items():
            item = state.item
            result = Approval(item, reasons.get(slug, []), already=state.status in STANDING)
            second = None if result.already else second_person_blocker(assessment, item.letter, by)
            if second:
                result.reasons = [*result.reasons, second]
            if seen is not None and hashlib.sha256(held[slug].data or b"").hexdigest() != seen.get(slug):
                result.reasons = ["the file changed on disk since it was shown: look at it again before approving it"]
            if result.approved and not result.already:
                result.replaced = item.letter.approved if not item.letter.is_draft else None
                result.record = ApprovalRecord(by, on, letter_fingerprint(work.templates, assessment, item.letter, item.shown))
                try:
                    approved = approval_written(held[slug].data, result.record, item.shown)
                    held[slug].write(approved)
                except LetterError as exc:  # an editor saved the file while it was being checked, or it would not read back
                    result.record, result.reasons = None, [p.message for p in exc.problems]
                else:
                    copy = project.approved_copy(assessment.slug, slug)
                    with writing(project.shown(copy)):
                        write_atomic(copy, approved)
            results.append(result)
    return results


# A name is one line of text: no control character (a terminal would run it), no line break of any kind.
_NOT_IN_A_NAME = re.compile("[\n\r\x85\u2028\u2029]")
MAX_NAME_CHARS = 200


def check_name(by: str, whose: str = "the approver's name") -> None:
    """LetterError when the approver's (or editor's) name is not a name as the record keeps it: checked like any text written."""
    found = CONTROL.search(by) or _NOT_IN_A_NAME.search(by)
    if found:
        raise LetterError(Problem(whose, f"holds {describe(found.group())}: a name is one line of text, with no control character"))
    if not by.strip():
        raise LetterError(Problem(whose, "is empty: give the name the record keeps"))
    if len(by) > MAX_NAME_CHARS:
        raise LetterError(Problem(whose, f"is {len(by):,} characters long; a name is at most {MAX_NAME_CHARS}"))


def same_person(one: str, other: str) -> bool:
    """Whether two names name the same person as a record keeps them: case and spacing aside."""
    return " ".join(one.casefold().split()) == " ".join(other.casefold().split())


def second_person_blocker(assessment: Assessment, letter: Letter | None, by: str) -> Said | None:
    """Why `by` may not approve this letter under `approval: {second_person: true}`: they saved it last; None when they may."""
    record = letter.edited if letter else None
    if not assessment.second_person or record is None or not same_person(record.by, by):
        return None
    return Said(
        f"{record.by} saved it last, on {record.on.isoformat()}, and data/assessments/{assessment.slug}.yaml asks for a second "
        "person (approval: second_person): someone else must approve it",
        f"This letter was last saved by {record.by}: someone else must approve it.",
    )


def default_approver(project: Project) -> str | None:
    """Who approves when --by is not given: git's user.name, as a commit would name them; None when unset."""
    try:
        done = subprocess.run(["git", "config", "user.name"], cwd=project.root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None
