"""The approval record's fingerprint: exactly what was approved.

The fingerprint is taken from the letter as it would be issued (rendered approved, so without
draft marks): every passage of the letter as written, with its links' targets, together with
the fingerprint of the approved fixed wording in force, and its structure: the emphasis, lists,
headings and quotes that hold those passages (approval version 2; the approvals of version 1
were made again when it came). So it covers the addressees, the
salutation, the findings and anything else a letter's file puts into it, whatever fields the
data model has, and it changes when the approved wording changes. `letters approve` writes it;
core.state compares it, for every command and page that shows a letter's state.
"""

from __future__ import annotations

import dataclasses
import hashlib
from html.parser import HTMLParser

from hmicfrs_letters.core.models import APPROVED, Assessment, Letter
from hmicfrs_letters.core.render import render_letter
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.text import _VOID, LETTER_CLASS, letter_passages

# Version 2: the letter's structure too (emphasis, lists, headings, quotes), not only its words.
_VERSION = b"hmicfrs-letters approval 2\n"
# The elements that give words their standing in a letter: taking bold off, turning a list into
# paragraphs or demoting a heading changes what was approved. The template's own layout (divs,
# sections, spans) is not among them: it is the fixed wording's, which the wording lock guards.
STRUCTURE = frozenset(
    {"p", "br", "strong", "b", "em", "i", "u", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "code", "a"}
)


def html_fingerprint(html: str, wording_sha256: str) -> str:
    """The approval fingerprint of a letter's HTML as issued, with the approved wording's fingerprint."""
    digest = hashlib.sha256(_VERSION + f"wording {wording_sha256}\n".encode())
    for passage in letter_passages(html, as_written=True):
        digest.update(passage.text.encode() + b"\n")
    digest.update(b"structure " + " ".join(letter_structure(html)).encode() + b"\n")
    return digest.hexdigest()


def letter_structure(html: str) -> list[str]:
    """The STRUCTURE elements of the letter itself (inside its `letter` element), opened and closed, in order."""
    parser = _Structure()
    parser.feed(html)
    parser.close()
    return parser.tags


class _Structure(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self._open: list[tuple[str, bool]] = []  # each open element, and whether it is the letter's own

    def _inside(self) -> bool:
        return any(is_letter for _, is_letter in self._open)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        is_letter = LETTER_CLASS in (dict(attrs).get("class") or "").split()
        if tag in STRUCTURE and (self._inside() or is_letter):
            self.tags.append(tag)
        if tag not in _VOID:
            self._open.append((tag, is_letter))

    def handle_endtag(self, tag: str) -> None:
        if tag in STRUCTURE and self._inside() and tag not in _VOID:
            self.tags.append("/" + tag)
        if any(name == tag for name, _ in self._open):
            while self._open.pop()[0] != tag:
                pass


def letter_fingerprint(templates: Templates, assessment: Assessment, letter: Letter, source: str) -> str:
    """The approval fingerprint of a letter as it would be issued; LetterError if its template fails."""
    html = render_letter(templates, assessment, dataclasses.replace(letter, status=APPROVED), source)
    return html_fingerprint(html, assessment.wording_sha256)
