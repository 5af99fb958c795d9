"""`letters diff`: the passages in which two letters differ.

For a reviewer, only what the letters write (their recipient, date, fields, addressees,
salutation and signatory) should differ; a difference in the template's fixed text is marked as
one in the fixed wording. Which it is comes from the template, not from the text: each letter is
also rendered as its skeleton (core.skeleton.skeleton_letter: what it writes held as
`{placeholders}`, the template's choices it makes kept), and a difference is in the fixed wording
only where the two skeletons differ there in more than a placeholder. Its part is named by the
class of the element around it (`field` or `findings` where a template prints a field, as the
base layout marks the others).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from hmicfrs_letters.core.errors import LetterError
from hmicfrs_letters.core.render import render_letter
from hmicfrs_letters.core.skeleton import skeleton_letter
from hmicfrs_letters.core.text import Passage, letter_passages
from hmicfrs_letters.core.validate import LetterInput
from hmicfrs_letters.workflow.series import Workflow
from hmicfrs_letters.workflow.wording import fixed_wording

# The parts of a letter that vary between letters, by their class in the templates.
VARYING_PARTS = ("addressee", "salutation", "signature", "findings", "field", "date", "subject")
FIXED = "fixed wording"
# A difference outside the fixed wording that no class names.
VARYING = "letter's own text"
# What the skeleton prints in place of what a letter writes: `{name}`, or a field's placeholder `[Label]`.
_HELD = re.compile(r"\{[^{}\s]+\}|\[[^\[\]]*\]")


@dataclass(frozen=True)
class Difference:
    """A run of passages that differ: where in the letter, and each letter's version."""

    part: str
    first: tuple[str, ...]
    second: tuple[str, ...]


def _part(passages: list[Passage]) -> str:
    parts = {next((p for p in VARYING_PARTS if p in passage.classes), VARYING) for passage in passages}
    return parts.pop() if len(parts) == 1 else VARYING


def _render(work: Workflow, item: LetterInput) -> tuple[list[Passage], list[str]]:
    """A letter's passages, and its skeleton's texts."""
    if item.letter is None:
        raise LetterError(item.errors)
    batch, templates = work.batch, work.templates
    passages = letter_passages(render_letter(templates, batch.assessment, item.letter, item.shown))
    skeleton = render_letter(templates, batch.assessment, skeleton_letter(batch.assessment, item.letter), "{source}")
    # What a template shows in place of a field still to write (class `placeholder`) is no fixed wording either.
    return passages, ["{placeholder}" if "placeholder" in p.classes else p.text for p in letter_passages(skeleton)]


def _anchors(texts: list[str], skeleton: list[str]) -> list[tuple[int, int]]:
    """The letter's passages that its skeleton's passages stand for, as (letter's, skeleton's) pairs in
    order: a skeleton passage stands for a passage that it gives but for its placeholders."""
    patterns = [re.compile(".*".join(re.escape(part) for part in _HELD.split(text)), re.DOTALL) for text in skeleton]
    n, m = len(texts), len(skeleton)
    matches = [[patterns[j].fullmatch(texts[i]) is not None for j in range(m)] for i in range(n)]
    longest = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            longest[i][j] = longest[i + 1][j + 1] + 1 if matches[i][j] else max(longest[i + 1][j], longest[i][j + 1])
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        if matches[i][j] and longest[i][j] == longest[i + 1][j + 1] + 1:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif longest[i + 1][j] >= longest[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


def _skeleton_range(anchors: list[tuple[int, int]], size: int, start: int, end: int) -> tuple[int, int]:
    """The skeleton's passages that stand for the letter's passages [start, end): those between the
    anchors around them, and those anchored to them."""
    before = max((b for a, b in anchors if a < start), default=-1)
    after = min((b for a, b in anchors if a >= end), default=size)
    return before + 1, max(after, before + 1)


def _numberless(text: str) -> str:
    return re.sub(r"\d+", "#", text)


def _fixed_differences(first: list[str], second: list[str], locked: set[str]) -> tuple[set[int], set[int]]:
    """The passages of each skeleton that the other lacks in more than what stands for a letter's own text.

    Passages that one letter prints and the other does not, each a passage of the locked wording
    (`locked`, numbers aside), are a section the template prints only for a letter that writes it
    (an optional field's, a repeating group's items): not a difference in the fixed wording."""
    found: tuple[set[int], set[int]] = (set(), set())
    for tag, a1, a2, b1, b2 in difflib.SequenceMatcher(None, first, second, autojunk=False).get_opcodes():
        held = [[text for text in (_HELD.sub("", t).strip(" .,:;") for t in run) if text] for run in (first[a1:a2], second[b1:b2])]
        optional = tag in ("insert", "delete") and all(_numberless(t) in locked for t in first[a1:a2] + second[b1:b2])
        if tag != "equal" and held[0] != held[1] and not optional:
            found[0].update(range(a1, a2))
            found[1].update(range(b1, b2))
    return found


def letter_diff(work: Workflow, first: str, second: str) -> list[Difference]:
    """Where these two letters (by id) differ, passage by passage."""
    batch = work.batch
    items = batch.select([first, second], False) if first != second else batch.select([first], False) * 2
    (a, skeleton_a), (b, skeleton_b) = (_render(work, item) for item in items)
    texts_a, texts_b = [p.text for p in a], [p.text for p in b]
    locked = {_numberless(line) for line in fixed_wording(work.templates, batch.assessment).splitlines()}
    fixed_a, fixed_b = _fixed_differences(skeleton_a, skeleton_b, locked)
    anchors_a, anchors_b = _anchors(texts_a, skeleton_a), _anchors(texts_b, skeleton_b)
    differences = []
    for tag, a1, a2, b1, b2 in difflib.SequenceMatcher(None, texts_a, texts_b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        s1, s2 = _skeleton_range(anchors_a, len(skeleton_a), a1, a2)
        t1, t2 = _skeleton_range(anchors_b, len(skeleton_b), b1, b2)
        fixed = bool(fixed_a.intersection(range(s1, s2)) or fixed_b.intersection(range(t1, t2)))
        differences.append(Difference(FIXED if fixed else _part(a[a1:a2] + b[b1:b2]), tuple(texts_a[a1:a2]), tuple(texts_b[b1:b2])))
    return differences
