"""Letters read as text, the way a reader (or a copy and paste) sees them.

The wording lock, the PDF verification and `letters diff` all compare letters as passages of
text: the blocks and lines of the letter's HTML, with whitespace folded and quotes made alike.
(A PDF's own text is read in hmicfrs_letters.pdf.verify.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})
# Elements that end a passage; <br> ends one too.
_BLOCKS = frozenset(
    {"p", "div", "h1", "h2", "h3", "h4", "li", "address", "blockquote", "section", "header", "footer", "article", "tr", "td", "th"}
)
_VOID = frozenset({"br", "meta", "link", "img", "hr", "input", "wbr"})
# The element holding the letter itself; text outside it (title, watermark, banner) is not the letter.
LETTER_CLASS = "letter"


def fold(text: str) -> str:
    """Whitespace folded to single spaces, curly quotes made straight."""
    return re.sub(r"\s+", " ", text.translate(_QUOTES)).strip()


@dataclass(frozen=True)
class Passage:
    """One block or line of a letter, and the classes of the elements around it."""

    text: str
    classes: frozenset[str]


class _Passages(HTMLParser):
    def __init__(self, as_written: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.passages: list[Passage] = []
        self.as_written = as_written
        self._parts: list[str] = []
        self._open: list[tuple[str, frozenset[str]]] = []
        self._links: list[str] = []

    def _classes(self) -> frozenset[str]:
        return frozenset().union(*(classes for _, classes in self._open))

    def _end_passage(self) -> None:
        joined = "".join(self._parts)
        text = re.sub(r"\s+", " ", joined).strip() if self.as_written else fold(joined)
        self._parts = []
        if text and LETTER_CLASS in self._classes():
            self.passages.append(Passage(text, self._classes()))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" or tag in _BLOCKS:
            self._end_passage()
        if tag not in _VOID:
            self._open.append((tag, frozenset((dict(attrs).get("class") or "").split())))
        if tag == "a":
            self._links.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._links and self.as_written:
            self._parts.append(f" <{self._links.pop()}>")  # where a link leads is part of what it says
        if tag in _BLOCKS:
            self._end_passage()
        if any(name == tag for name, _ in self._open):
            while self._open.pop()[0] != tag:
                pass

    def handle_data(self, data: str) -> None:
        self._parts.append(data)


def letter_passages(html: str, as_written: bool = False) -> list[Passage]:
    """The passages of the letter in an HTML page, in reading order.

    As the text check reads them, quotes are made alike; `as_written`, for the approval's
    fingerprint, they are kept as typed and each link is followed by its target, `<https://…>`.
    """
    parser = _Passages(as_written)
    parser.feed(html)
    parser.close()
    parser._end_passage()
    return parser.passages


def missing_in_order(passages: list[str], text: str) -> list[str]:
    """The passages not found in the text, each searched for after the one before it."""
    missing, position = [], 0
    for passage in passages:
        found = text.find(passage, position)
        if found < 0:
            missing.append(passage)
        else:
            position = found + len(passage)
    return missing
