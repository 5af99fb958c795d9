"""The approval record: who approved a letter, when, and a fingerprint of exactly what they approved.

The fingerprint is taken from the letter as it would be issued (rendered approved, so without
draft marks): every passage of the letter as written, with its links' targets, together with
the fingerprint of the approved fixed wording in force. So it covers the addressees, the
salutation, the findings and anything else a letter's file puts into it, whatever fields the
data model has, and it changes when the approved wording changes. `letters approve` writes it;
`letters check`, a final build, `letters approve` itself and the preview compare it, here.
"""

from __future__ import annotations

import dataclasses
import hashlib

from hmicfrs_letters.core.errors import Problem
from hmicfrs_letters.core.models import APPROVED, Assessment, Letter
from hmicfrs_letters.core.render import render_letter
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.text import letter_passages
from hmicfrs_letters.core.validate import LetterInput

_VERSION = b"hmicfrs-letters approval 1\n"


def html_fingerprint(html: str, wording_sha256: str) -> str:
    """The approval fingerprint of a letter's HTML as issued, with the approved wording's fingerprint."""
    digest = hashlib.sha256(_VERSION + f"wording {wording_sha256}\n".encode())
    for passage in letter_passages(html, as_written=True):
        digest.update(passage.text.encode() + b"\n")
    return digest.hexdigest()


def letter_fingerprint(templates: Templates, assessment: Assessment, letter: Letter, source: str) -> str:
    """The approval fingerprint of a letter as it would be issued; LetterError if its template fails."""
    html = render_letter(templates, assessment, dataclasses.replace(letter, status=APPROVED), source)
    return html_fingerprint(html, assessment.wording_sha256)


def approval_problem(templates: Templates, assessment: Assessment, item: LetterInput) -> Problem | None:
    """Why an approved letter's approval does not stand: no record, or the letter changed since. None for a draft.

    LetterError if the letter cannot be rendered to tell.
    """
    letter = item.letter
    if letter is None or letter.is_draft:
        return None
    line = item.doc.line("status") if item.doc else None
    record = letter.approved
    if record is None:
        return Problem(
            item.shown,
            f"'status: approved' without an approval record; approve it with `letters approve {item.slug}`, or set it back to draft",
            line,
        )
    if letter_fingerprint(templates, assessment, letter, item.shown) != record.sha256:
        return Problem(item.shown, f"changed since it was approved by {record.by} on {record.on.isoformat()}: {AGAIN}", line)
    return None


AGAIN = "approve it again or set it back to draft"


def approval_label(item: LetterInput, problem: Problem | None) -> str | None:
    """A short label for an approval that does not stand (the preview's badge, a final build's refusal)."""
    if problem is None or item.letter is None:
        return None
    return "no approval record" if item.letter.approved is None else "changed since approval"
