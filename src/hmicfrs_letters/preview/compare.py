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

from markupsafe import Markup

from hmicfrs_letters.core import findings

# An HTML tag, a run of white space, a character reference, a word, or punctuation, in the rendered text.
_TOKENS = re.compile(r"<[^>]*>|\s+|&#?\w+;|\w+(?:['’]\w+)*|[^\w\s<&]+|&")
# Tags that may sit inside a change: emphasis, links, code.
_INLINE = re.compile(r"</?(?:em|strong|a|code|b|i)\b")
# Unchanged words fewer than this between two changes belong to one change: a phrase rewritten.
_GLUE_WORDS = 3

Opcode = tuple[str, int, int, int, int]


def tracked_changes(old: str, new: str) -> Markup:
    """`new` as it prints, with what differs from `old` marked: `<del>` for words taken out, `<ins>` for words put in."""
    before, after = _tokens(old), _tokens(new)
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
    """How to turn `before` into `after`, as difflib's opcodes."""
    return difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes()


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
