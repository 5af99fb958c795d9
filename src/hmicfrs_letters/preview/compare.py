"""Tracked changes, as a word processor shows them: one text against another, word by word.

The preview shows a letter's findings against the outcome's standard wording and against the
version last approved: words taken out struck through (`<del>`), words put in underlined
(`<ins>`), paragraphs kept. Both texts are data: every word is escaped.
"""

from __future__ import annotations

import difflib
import re

from markupsafe import Markup, escape

# Words, the spaces between them, and paragraph breaks (a blank line) as tokens of their own.
_TOKENS = re.compile(r"\n\s*\n|\s+|[^\s]+")
# A mark left empty where a paragraph break split a change.
_EMPTY = re.compile(r"<(ins|del)></\1>")


# Bounds on the work, so that a page never takes long whatever the texts (a word diff takes time
# in the product of the lengths it compares): past MAX_PAIRS, the changed part is compared
# paragraph by paragraph, and a pair of paragraphs still past it is shown taken out and put in
# whole; past MAX_TOKENS (far beyond any letter's findings), the text is shown without marks.
MAX_PAIRS = 1_000_000
MAX_TOKENS = 60_000


def tracked_changes(old: str, new: str) -> Markup:
    """`new` as paragraphs, with what differs from `old` marked: `<del>` for words taken out, `<ins>` for words put in."""
    before, after = _tokens(old), _tokens(new)
    if max(len(before), len(after)) > MAX_TOKENS:
        note = (
            f"Too long to compare ({max(len(before), len(after)):,} words and spaces; the most compared is {MAX_TOKENS:,}): shown as it is."
        )
        text = "".join(_html(token) for token in after).strip()
        return Markup(f'<p class="too-long"><strong>{escape(note)}</strong></p><p>{text}</p>')
    if len(before) * len(after) <= MAX_PAIRS:
        return _marked_paragraphs(_word_changes(before, after))
    # What the two share at their start and end is kept as it is: an edit is usually in one place.
    start = 0
    while start < min(len(before), len(after)) and before[start] == after[start]:
        start += 1
    end = 0
    while end < min(len(before), len(after)) - start and before[-1 - end] == after[-1 - end]:
        end += 1
    parts = [_html(token) for token in after[:start]]
    parts += _changes(before[start : len(before) - end], after[start : len(after) - end])
    parts += [_html(token) for token in after[len(after) - end :]]
    return _marked_paragraphs(parts)


def _marked_paragraphs(parts: list[str]) -> Markup:
    html = "<p>" + "".join(parts).strip() + "</p>"
    return Markup(_EMPTY.sub("", html))


def _changes(before: list[str], after: list[str]) -> list[str]:
    """The marks of the middle part, word by word when that is within the bound, else paragraph by paragraph."""
    if len(before) * len(after) <= MAX_PAIRS:
        return _word_changes(before, after)
    old, new = _paragraphs(before), _paragraphs(after)
    if len(old) * len(new) > MAX_PAIRS or len(old) == len(new) == 1:
        return _whole(before, after)
    parts: list[str] = []
    keys_old, keys_new = ["".join(p) for p in old], ["".join(p) for p in new]
    for tag, a1, a2, b1, b2 in difflib.SequenceMatcher(None, keys_old, keys_new, autojunk=False).get_opcodes():
        a, b = [t for p in old[a1:a2] for t in p], [t for p in new[b1:b2] for t in p]
        if tag == "equal":
            parts += [_html(token) for token in b]
        elif len(a) * len(b) <= MAX_PAIRS:
            parts += _word_changes(a, b)
        else:
            parts += _whole(a, b)
    return parts


def _word_changes(before: list[str], after: list[str]) -> list[str]:
    parts: list[str] = []
    for tag, a1, a2, b1, b2 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        if tag == "equal":
            parts += [_html(token) for token in after[b1:b2]]
            continue
        parts += _whole(before[a1:a2], after[b1:b2])
    return parts


def _whole(before: list[str], after: list[str]) -> list[str]:
    return ([_marked("del", before)] if before else []) + ([_marked("ins", after)] if after else [])


def _paragraphs(tokens: list[str]) -> list[list[str]]:
    """The tokens in runs that each end with a paragraph break (the last run perhaps without one)."""
    runs: list[list[str]] = [[]]
    for token in tokens:
        runs[-1].append(token)
        if _is_break(token):
            runs.append([])
    return [run for run in runs if run]


def _tokens(text: str) -> list[str]:
    return _TOKENS.findall(text.strip())


def _html(token: str) -> str:
    if _is_break(token):
        return "</p><p>"
    return " " if token.isspace() else str(escape(token))


def _is_break(token: str) -> bool:
    return token.isspace() and token.count("\n") >= 2


def _marked(tag: str, tokens: list[str]) -> str:
    """A run of changed words in one mark; a paragraph break inside it closes and reopens the mark."""
    html = "".join(_html(token) for token in tokens)
    return f"<{tag}>" + html.replace("</p><p>", f"</{tag}></p><p><{tag}>") + f"</{tag}>"
