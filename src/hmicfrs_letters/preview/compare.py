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


def tracked_changes(old: str, new: str) -> Markup:
    """`new` as paragraphs, with what differs from `old` marked: `<del>` for words taken out, `<ins>` for words put in."""
    before, after = _tokens(old), _tokens(new)
    parts: list[str] = []
    for tag, a1, a2, b1, b2 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        if tag == "equal":
            parts += [_html(token) for token in after[b1:b2]]
            continue
        if a2 > a1:
            parts.append(_marked("del", before[a1:a2]))
        if b2 > b1:
            parts.append(_marked("ins", after[b1:b2]))
    html = "<p>" + "".join(parts).strip() + "</p>"
    return Markup(_EMPTY.sub("", html))


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
