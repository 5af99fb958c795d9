"""Reading letters back as text, the way a reader (or a copy-paste) sees them."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from pypdf import PdfReader

from hmicfrs_letters.core.text import missing_in_order as missing_in_order_folded  # noqa: F401 (the golden tests' name for it)

_BLOCKS = {"p", "div", "h1", "h2", "h3", "li", "address", "blockquote", "section", "header", "footer", "article", "tr", "title"}
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})


def fold(text: str) -> str:
    """Whitespace folded to single spaces, curly quotes made straight."""
    return re.sub(r"\s+", " ", text.translate(_QUOTES)).strip()


class _Lines(HTMLParser):
    """Text lines of an HTML page (blocks and <br>), each with the classes of its enclosing elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[str, frozenset[str]]] = []
        self._text: list[str] = []
        self._stack: list[tuple[str, set[str]]] = []
        self._skip = 0

    def _classes(self) -> frozenset[str]:
        return frozenset(c for _, classes in self._stack for c in classes)

    def _flush(self) -> None:
        text = fold("".join(self._text))
        if text:
            self.lines.append((text, self._classes()))
        self._text = []

    def handle_starttag(self, tag, attrs):
        if tag in {"style", "script", "head"}:
            self._skip += 1
        if tag == "br" or tag in _BLOCKS:
            self._flush()
        if tag not in {"br", "meta", "link", "img"}:
            self._stack.append((tag, set((dict(attrs).get("class") or "").split())))

    def handle_endtag(self, tag):
        if tag in _BLOCKS:
            self._flush()
        if tag in {"style", "script", "head"}:
            self._skip -= 1
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not self._skip:
            self._text.append(data)


def html_lines(html: str) -> list[tuple[str, frozenset[str]]]:
    parser = _Lines()
    parser.feed(html)
    parser.close()
    parser._flush()
    return parser.lines


def pdf_text(path: Path) -> str:
    return fold(" ".join(page.extract_text() or "" for page in PdfReader(path).pages))


def seed_lines(path: Path) -> list[str]:
    """The lines of a seed letter as plain text: Markdown emphasis and link syntax removed."""
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", raw)
        text = re.sub(r"\*\*(.+?)\*\*|\*(.+?)\*", lambda m: m.group(1) or m.group(2), text)
        text = fold(text)
        if text:
            lines.append(text)
    return lines


def missing_in_order(expected: list[str], text_lines: list[str]) -> list[str]:
    """Expected lines not found as whole lines of text_lines, in order (empty when all are there)."""
    missing, position = [], 0
    for line in expected:
        try:
            position = text_lines.index(line, position) + 1
        except ValueError:
            missing.append(line)
    return missing
