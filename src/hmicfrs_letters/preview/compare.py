"""Tracked changes, as a word processor shows them: one text against another, as they print.

The preview shows a letter's findings against the outcome's standard wording and against the
version last approved. Both texts are rendered as the letter renders them (Markdown: paragraphs,
lists, emphasis), then compared word by word: words taken out struck through (`<del>`), words put
in underlined (`<ins>`), the new text's paragraphs and lists kept. A rewritten phrase is one
deletion and one insertion, never words alternating: a change absorbs a few unchanged words
between it and the next. Spaces and line breaks inside a paragraph are not changes (a text
wrapped differently reads the same). Both texts are data: Markdown escapes every word.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator

from markupsafe import Markup, escape

from hmicfrs_letters.core import findings

# An HTML tag, a run of white space, a character reference, a word, or punctuation, in the rendered text.
_TOKENS = re.compile(r"<[^>]*>|\s+|&#?\w+;|\w+(?:['’]\w+)*|[^\w\s<&]+|&")
# Tags that may sit inside a change: emphasis, links, code.
_INLINE = re.compile(r"</?(?:em|strong|a|code|b|i)\b")
# Unchanged words fewer than this between two changes belong to one change: a phrase rewritten.
_GLUE_WORDS = 3

Opcode = tuple[str, int, int, int, int]

# Bounds on the work, so that a page never takes long whatever the texts (a word diff takes time
# in the product of the lengths it compares): past MAX_PAIRS, the changed middle is compared
# block by block (paragraphs, list items, headings), and a pair of blocks still past it is shown
# taken out and put in whole; past MAX_TOKENS (far beyond any letter's findings), the text is
# shown without marks.
MAX_PAIRS = 1_000_000
MAX_TOKENS = 60_000
# The tags that end a block of the rendered text.
_BLOCK_END = re.compile(r"</(?:p|li|h[1-6]|blockquote|ul|ol)>")


def tracked_changes(old: str, new: str) -> Markup:
    """`new` as it prints, with what differs from `old` marked: `<del>` for words taken out, `<ins>` for words put in."""
    before, after = _tokens(old), _tokens(new)
    if max(len(before), len(after)) > MAX_TOKENS:
        note = (
            f"Too long to compare ({max(len(before), len(after)):,} words and spaces; the most compared is {MAX_TOKENS:,}): shown as it is."
        )
        return Markup(f'<p class="too-long"><strong>{escape(note)}</strong></p>' + "".join(after).strip())
    parts: list[str] = []
    for tag, a1, a2, b1, b2 in _grouped(_opcodes(before, after), before, after):
        if tag == "equal":
            parts += after[b1:b2]
            continue
        parts += _marked(before[a1:a2], after[b1:b2])
    return Markup("".join(parts).strip())


def unchanged(old: str, new: str) -> bool:
    """Whether the two texts print the same: the same words in the same paragraphs and lists."""
    return _tokens(old) == _tokens(new)


def _tokens(text: str) -> list[str]:
    """The text as it prints (rendered Markdown), as tags, words and single spaces."""
    html = str(findings.convert(text.strip()).html)
    return [" " if token.isspace() else token for token in _TOKENS.findall(html)]


def _opcodes(before: list[str], after: list[str]) -> list[Opcode]:
    """How to turn `before` into `after`, as difflib's opcodes, within the bounds above: what the two
    share at their start and end is kept as it is (an edit is usually in one place), and a middle
    too long to compare word by word is compared block by block."""
    if len(before) * len(after) <= MAX_PAIRS:
        return _diff(before, after)
    start = 0
    while start < min(len(before), len(after)) and before[start] == after[start]:
        start += 1
    end = 0
    while end < min(len(before), len(after)) - start and before[-1 - end] == after[-1 - end]:
        end += 1
    a2, b2 = len(before) - end, len(after) - end
    codes = [("equal", 0, start, 0, start)] if start else []
    codes += _middle(before, after, start, a2, start, b2)
    codes += [("equal", a2, len(before), b2, len(after))] if end else []
    return codes


def _diff(before: list[str], after: list[str], a0: int = 0, b0: int = 0) -> list[Opcode]:
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    return [(tag, a1 + a0, a2 + a0, b1 + b0, b2 + b0) for tag, a1, a2, b1, b2 in matcher.get_opcodes()]


def _middle(before: list[str], after: list[str], a1: int, a2: int, b1: int, b2: int) -> list[Opcode]:
    """The changed middle: word by word within the bound, else block by block."""
    if a1 == a2 and b1 == b2:
        return []
    if (a2 - a1) * (b2 - b1) <= MAX_PAIRS:
        return _diff(before[a1:a2], after[b1:b2], a1, b1)
    old, new = _blocks(before, a1, a2), _blocks(after, b1, b2)
    if len(old) * len(new) > MAX_PAIRS or len(old) == len(new) == 1:
        return [("replace", a1, a2, b1, b2)]
    codes: list[Opcode] = []
    keys_old = ["".join(before[i:j]) for i, j in old]
    keys_new = ["".join(after[i:j]) for i, j in new]
    for tag, x1, x2, y1, y2 in difflib.SequenceMatcher(None, keys_old, keys_new, autojunk=False).get_opcodes():
        p1, p2 = (old[x1][0], old[x2 - 1][1]) if x2 > x1 else ((old[x1][0],) * 2 if x1 < len(old) else (a2, a2))
        q1, q2 = (new[y1][0], new[y2 - 1][1]) if y2 > y1 else ((new[y1][0],) * 2 if y1 < len(new) else (b2, b2))
        if tag == "equal":
            codes.append(("equal", p1, p2, q1, q2))
        elif (p2 - p1) * (q2 - q1) <= MAX_PAIRS:
            codes += _diff(before[p1:p2], after[q1:q2], p1, q1)
        else:
            codes.append(("replace", p1, p2, q1, q2))
    return codes


def _blocks(tokens: list[str], start: int, stop: int) -> list[tuple[int, int]]:
    """The spans of `tokens[start:stop]` that each end with a block's closing tag (the last perhaps without one)."""
    spans, begin = [], start
    for n in range(start, stop):
        if _BLOCK_END.fullmatch(tokens[n]):
            spans.append((begin, n + 1))
            begin = n + 1
    if begin < stop:
        spans.append((begin, stop))
    return spans


def _words(tokens: list[str]) -> int:
    return sum(1 for token in tokens if token != " " and not token.startswith("<"))


def _grouped(opcodes: list[Opcode], before: list[str], after: list[str]) -> Iterator[Opcode]:
    """The opcodes with each short unchanged run between two changes made part of one change (no tags crossed)."""
    merged: list[Opcode] = []
    for n, (tag, a1, a2, b1, b2) in enumerate(opcodes):
        glue = (
            tag == "equal"
            and 0 < n < len(opcodes) - 1
            and _words(after[b1:b2]) < _GLUE_WORDS
            and not any(token.startswith("<") for token in after[b1:b2])
        )
        if merged and merged[-1][0] != "equal" and (tag != "equal" or glue):  # opcodes alternate: glue follows a change
            _, p1, _, q1, _ = merged[-1]
            merged[-1] = ("replace", p1, a2, q1, b2)
        else:
            merged.append((tag, a1, a2, b1, b2))
    return iter(merged)


def _marked(taken: list[str], put: list[str]) -> list[str]:
    """A change: the words taken out in one `<del>`, then the new text with its words in `<ins>` and its tags as they are."""
    parts: list[str] = []
    out = "".join(" " if token.startswith("<") else token for token in taken)
    if out.strip():
        lead = " " if out[0] == " " else ""
        parts.append(f'{lead}<del><span class="visually-hidden">taken out: </span>{" ".join(out.split())}</del>')
    for run in _runs(put):
        if isinstance(run, str):  # a tag that ends a paragraph, a list item, a heading: kept as it is
            parts.append(run)
            continue
        text = "".join(run)
        if _words(run):
            lead, trail = (" " if text[0] == " " else ""), (" " if text[-1] == " " else "")
            parts.append(f'{lead}<ins><span class="visually-hidden">put in: </span>{text.strip()}</ins>{trail}')
        else:
            parts.append(text)
    return parts


def _runs(tokens: list[str]) -> Iterator[list[str] | str]:
    """The tokens as runs of words (with the inline tags that open and close within them, emphasis
    and links: one `<ins>` holds them), and the other tags, one by one."""
    run: list[str] = []
    for token in tokens:
        if not token.startswith("<") or _INLINE.match(token):
            run.append(token)
            continue
        yield from _balanced(run)
        run = []
        yield token
    yield from _balanced(run)


def _balanced(run: list[str]) -> Iterator[list[str] | str]:
    """A run as one, when its inline tags open and close within it; else its words between each tag."""
    opened = [token for token in run if token.startswith("<") and not token.startswith("</")]
    closed = [token for token in run if token.startswith("</")]
    if len(opened) == len(closed):
        if run:
            yield run
        return
    words: list[str] = []
    for token in run:
        if token.startswith("<"):
            if words:
                yield words
            words = []
            yield token
        else:
            words.append(token)
    if words:
        yield words
