"""`letters approve`: a letter is approved only when it passes every check, and the approval is bound to it.

A letter passes when its file is valid, its outcome is set, its fields are written and hold
no placeholder (core.validate.approval_gaps), the letter renders and shows no placeholder, it
fits the page limit, and the fixed wording is the approved one. These are the only approval
rules: `letters check` and the preview show the same reasons, and a final build issues only
what passed them.

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

from hmicfrs_letters.build.pages import over_page_limit, page_counts
from hmicfrs_letters.core.approval import approval_problem, letter_fingerprint
from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.files import HeldFile, write_atomic, writing
from hmicfrs_letters.core.models import ApprovalRecord
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.render import render_letter
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.validate import Batch, LetterInput, approval_gaps, read_letter_bytes
from hmicfrs_letters.pdf.service import PdfService
from hmicfrs_letters.workflow.wording import wording_problems
from hmicfrs_letters.workflow.yamledit import set_approval

# The element the templates show where findings are still to be written.
_TEMPLATE_PLACEHOLDER = re.compile(r"""class=["'][^"']*\bplaceholder\b""")


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


def approval_reasons(
    batch: Batch, items: Sequence[LetterInput], templates: Templates | None = None, service: PdfService | None = None
) -> dict[str, list[str]]:
    """Why each of these letters may not be approved (an empty list when it may).

    `service` makes the PDFs that count the pages (the preview passes its own); a new one by default.
    """
    assessment = batch.assessment
    templates = templates or Templates(batch.project.templates_dir)
    reasons: dict[str, list[str]] = {item.slug: [p.message for p in item.errors] for item in items}
    locked = any(p.is_error for p in wording_problems(batch, templates))
    htmls = {}
    for item in items:
        why, letter = reasons[item.slug], item.letter
        if letter is None:
            continue
        gaps = approval_gaps(letter, assessment)
        if letter.is_draft:  # an approved letter's gaps are errors of its file already
            why += [reason for _key, reason in gaps]
        if locked:
            why.append("the fixed wording is not the approved wording (see `letters check`)")
        try:
            html = render_letter(templates, assessment, letter, item.shown)
        except LetterError as exc:
            why += [str(p) for p in exc.problems]
            continue
        if not gaps and _TEMPLATE_PLACEHOLDER.search(html):
            why.append("the letter still shows a placeholder")
        if not why:
            htmls[item.slug] = html
    letters = {item.slug: item.letter for item in items}
    for slug, pages in page_counts(batch, htmls, service=service).items():
        over = pages.message if isinstance(pages, Problem) else over_page_limit(assessment, letters[slug], pages)
        if over:
            reasons[slug].append(over)
    return reasons


def approve(
    batch: Batch, slugs: Sequence[str], by: str, on: dt.date | None = None, seen: Mapping[str, str] | None = None
) -> list[Approval]:
    """Approve each of these letters that passes every check, recording who, when and what; say why for the others.

    A letter whose approval stands is left as it is; one approved by hand without a record, or
    changed since it was approved, is checked and approved again. `seen`: the version (the
    SHA-256 of its file's bytes) of each letter that the approver looked at; a letter whose file
    is another version now is not approved. The file as approved is kept beside the letters
    (Project.approved_copy), for comparing a later draft with it.
    """
    project, assessment = batch.project, batch.assessment
    on = on or dt.date.today()
    templates = Templates(project.templates_dir)
    items = batch.select(slugs)
    with ExitStack() as stack:
        # Taken in one order by every command, so that two approvals of the same letters cannot deadlock.
        held = {
            item.slug: stack.enter_context(HeldFile(item.source, item.shown, project.locks_dir, project.data_dir))
            for item in sorted(items, key=lambda item: str(item.source))
        }
        # What is checked is what these bytes say, not what was on disk when the command started.
        current = {item.slug: read_letter_bytes(batch, item.slug, held[item.slug].data) for item in items}  # in the order asked
        standing = {slug for slug, item in current.items() if item.letter and not item.letter.is_draft and _stands(templates, batch, item)}
        reasons = approval_reasons(batch, [item for slug, item in current.items() if slug not in standing], templates)
        results = []
        for slug, item in current.items():
            result = Approval(item, reasons.get(slug, []), already=slug in standing)
            if seen is not None and hashlib.sha256(held[slug].data or b"").hexdigest() != seen.get(slug):
                result.reasons = ["the file changed on disk since it was shown: look at it again before approving it"]
            if result.approved and not result.already:
                result.replaced = item.letter.approved if not item.letter.is_draft else None
                result.record = ApprovalRecord(by, on, letter_fingerprint(templates, assessment, item.letter, item.shown))
                approved = set_approval(held[slug].data, result.record)
                try:
                    held[slug].write(approved)
                except LetterError as exc:  # an editor saved the file while it was being checked
                    result.record, result.reasons = None, [p.message for p in exc.problems]
                else:
                    copy = project.approved_copy(assessment.slug, slug)
                    with writing(project.shown(copy)):
                        write_atomic(copy, approved)
            results.append(result)
    return results


def _stands(templates: Templates, batch: Batch, item: LetterInput) -> bool:
    try:
        return approval_problem(templates, batch.assessment, item) is None
    except LetterError:
        return False


def default_approver(project: Project) -> str | None:
    """Who approves when --by is not given: git's user.name, as a commit would name them; None when unset."""
    try:
        done = subprocess.run(["git", "config", "user.name"], cwd=project.root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None
