"""The approval record's fingerprint: exactly what was approved.

The fingerprint is taken from the letter as it would be issued (rendered approved, so without
draft marks): every passage of the letter as written, with its links' targets, together with
the fingerprint of the approved fixed wording in force. So it covers the addressees, the
salutation, the findings and anything else a letter's file puts into it, whatever fields the
data model has, and it changes when the approved wording changes. `letters approve` writes it;
core.state compares it, for every command and page that shows a letter's state.
"""

from __future__ import annotations

import dataclasses
import hashlib

from hmicfrs_letters.core.models import APPROVED, Assessment, Letter
from hmicfrs_letters.core.render import render_letter
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.text import letter_passages

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
