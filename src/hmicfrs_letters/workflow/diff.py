"""`letters diff`: the passages in which two recipients' letters differ.

For a reviewer, only the addressee block, the salutation, the signature and the fields should
differ; a difference anywhere else is marked as one in the fixed wording. A template marks where
a field is printed with the class `field` (or `findings`), as the base layout marks the others.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from hmicfrs_letters.core.errors import LetterError
from hmicfrs_letters.core.render import render_letter
from hmicfrs_letters.core.text import Passage, letter_passages
from hmicfrs_letters.workflow.series import Workflow

# The parts of a letter that vary between letters, by their class in the templates.
VARYING_PARTS = ("addressee", "salutation", "signature", "findings", "field")
FIXED = "fixed wording"


@dataclass(frozen=True)
class Difference:
    """A run of passages that differ: where in the letter, and each letter's version."""

    part: str
    first: tuple[str, ...]
    second: tuple[str, ...]


def _part(passages: list[Passage]) -> str:
    parts = {next((p for p in VARYING_PARTS if p in passage.classes), FIXED) for passage in passages}
    return parts.pop() if len(parts) == 1 else FIXED


def letter_diff(work: Workflow, first: str, second: str) -> list[Difference]:
    """Where the letters of these two recipients differ, passage by passage."""
    batch, templates = work.batch, work.templates
    passages = []
    for item in batch.select([first, second]) if first != second else batch.select([first]) * 2:
        if item.letter is None:
            raise LetterError(item.errors)
        passages.append(letter_passages(render_letter(templates, batch.assessment, item.letter, item.shown)))
    a, b = passages
    differences = []
    for tag, a1, a2, b1, b2 in difflib.SequenceMatcher(None, [p.text for p in a], [p.text for p in b], autojunk=False).get_opcodes():
        if tag != "equal":
            differences.append(Difference(_part(a[a1:a2] + b[b1:b2]), tuple(p.text for p in a[a1:a2]), tuple(p.text for p in b[b1:b2])))
    return differences
