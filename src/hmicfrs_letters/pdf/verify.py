"""Verified output: a PDF's own text, read back, holds every passage of its letter verbatim.

Every passage of the letter's HTML (the fixed paragraphs, the addressee block, the findings)
must be found in the PDF's text, in order, after folding whitespace and making quotes alike.
A line broken after a hyphen reads back as "counter- corruption"; so whitespace after a dash
(or a slash, where long addresses break) is dropped on both sides. Hyphenation or ligatures added by the CSS would still fail the check,
as they should: what a reader copies from the PDF must be what was approved.

A list's markers (its bullets and numbers) are no part of the letter's passages, and WeasyPrint
draws them after the rest of the page: their lines end the page's text, so a paragraph that runs on
to the next page would have them in its middle. They are read as lines of their own and left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pypdfium2

from hmicfrs_letters.core import chars
from hmicfrs_letters.core.text import fold, letter_passages, missing_in_order


def _page_texts(data: bytes) -> list[str]:
    """Each page's text, as PDFium (the PDF engine of Chromium) extracts it: ~15x faster than pypdf."""
    document = pypdfium2.PdfDocument(data)
    try:
        texts = []
        for page in document:
            textpage = page.get_textpage()
            # PDFium marks a hyphen that ends a line with U+FFFE and drops the line break after it.
            texts.append(textpage.get_text_range().replace("\ufffe", "-\n"))
            textpage.close()
            page.close()
        return texts
    finally:
        document.close()


# A line that is nothing but a list's marker: a bullet, or a number or letter and a stop.
_MARKER_LINE = re.compile(r"\s*(?:[•◦▪‣⁃]|\d{1,9}[.)]|[a-zA-Z]{1,2}[.)]|[ivxlcdmIVXLCDM]{1,8}[.)])\s*")


def _page_lines(data: bytes, markers: bool = False) -> list[list[str]]:
    """Each page's lines, without the running header and footer lines, nor (unless `markers`)
    the lines of list markers.

    Lines that end (or start) every page alike but for their numbers, such as "Page 1 of 2" or a
    draft mark, sit between the last line of one page and the first of the next; left in, they
    would split a paragraph that runs over a page break.
    """
    pages = [text.strip().splitlines() for text in _page_texts(data)]
    if not markers:
        pages = [[line for line in lines if not _MARKER_LINE.fullmatch(line)] for lines in pages]
    for end in (0, -1) if len(pages) > 1 else ():
        while all(pages) and len({re.sub(r"\d+", "#", lines[end]) for lines in pages}) == 1:
            pages = [lines[1:] if end == 0 else lines[:-1] for lines in pages]
    return pages


def pdf_text(data: bytes, markers: bool = False) -> str:
    """The text of a PDF, folded, without its running header and footer lines (nor its list markers)."""
    return fold(" ".join(" ".join(lines) for lines in _page_lines(data, markers)))


def page_starts(data: bytes, words: int = 8) -> list[str]:
    """The first words of each page after the first: where the PDF's pages break, to show on the letter."""
    return [" ".join(fold(lines[0]).split()[:words]) if lines else "" for lines in _page_lines(data)[1:]]


_AFTER_DASH = re.compile(r"([-‐‑–—/])\s+")


class PdfTextMismatch(Exception):
    """The PDF's text lacks passages of the letter it was made from."""


def _comparable(text: str) -> str:
    return _AFTER_DASH.sub(r"\1", text.replace("\u00ad", ""))


def _missing(html: str, pdf: bytes) -> tuple[list[str], str]:
    """The passages the PDF's text lacks, and that text. A line of the letter's own that reads like a
    list marker ("2." alone, where a sentence wraps) is left out with the markers: the passage
    holding it is then looked for in the text with every marker kept."""
    expected = [_comparable(p.text) for p in letter_passages(html)]
    text = _comparable(pdf_text(pdf))
    missing = missing_in_order(expected, text)
    if missing and not missing_in_order(expected, _comparable(pdf_text(pdf, markers=True))):
        return [], text
    return missing, text


def missing_passages(html: str, pdf: bytes) -> list[str]:
    """The passages of the letter in this HTML that the PDF's text does not hold, in order."""
    return _missing(html, pdf)[0]


def extra_text(html: str, pdf: bytes) -> list[str]:
    """The other way round: the PDF's text that is none of its letter's passages (a page of another
    letter appended, a paragraph inserted), in order; nothing when a passage is missing (said already)."""
    text = _comparable(pdf_text(pdf))
    extra, position = [], 0
    for passage in (_comparable(p.text) for p in letter_passages(html)):
        found = text.find(passage, position)
        if found < 0:
            return []
        extra.append(text[position:found])
        position = found + len(passage)
    extra.append(text[position:])
    return [piece.strip() for piece in extra if piece.strip()]


def page_count(pdf: bytes) -> int:
    """How many pages the PDF has."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        return len(document)
    finally:
        document.close()


def describe(missing: Sequence[str], css: str = "", text: str | None = None) -> str:
    """The text check's failure in words. With the stylesheet, it names the rules that change the text
    (the likely cause); with the PDF's text, the character of the first passage that the text lacks."""
    first = missing[0] if len(missing[0]) <= 90 else missing[0][:90] + "…"
    count = "1 passage" if len(missing) == 1 else f"{len(missing)} passages"
    message = f"the PDF's text lacks {count} of the letter, first: '{first}'"
    causes = text_changing_rules(css)
    if causes:
        message += f"; the stylesheet changes the words the PDF holds: {', '.join(causes)}"
    # Name the character where the passage stops matching when it is not plain ASCII: the one the
    # text extraction dropped, changed or put a space before, rarely visible in the passage itself.
    where = _divergence(missing[0], text) if text is not None else None
    if where is not None and not missing[0][where].isascii():
        message += f"; the PDF's text differs from it at {chars.describe(missing[0][where])}"
    return message


def _divergence(passage: str, text: str) -> int | None:
    """The index of the first character of the passage that no match of its beginning in the text reaches."""
    low, high = 0, len(passage)  # passage[:low] is in the text; passage[:high + 1] is not
    while low < high:
        middle = (low + high + 1) // 2
        if passage[:middle] in text:
            low = middle
        else:
            high = middle - 1
    return low if low < len(passage) else None


# CSS that makes a PDF's text differ from its HTML's: letters cased afresh, words hyphenated.
_RULE = re.compile(r"([^{}]*)\{([^{}]*)\}")
_TEXT_CHANGES = re.compile(r"(text-transform\s*:\s*(?:uppercase|lowercase|capitalize|full-width)|hyphens\s*:\s*auto)", re.IGNORECASE)
_STYLE = re.compile(r"<style[^>]*>(.*?)</style>|\sstyle=\"([^\"]*)\"", re.IGNORECASE | re.DOTALL)


def text_changing_rules(css: str) -> list[str]:
    """`property: value` in `selector` for each CSS rule (or style attribute) that changes the words a PDF holds."""
    found = []
    for sheet, attribute in _STYLE.findall(css) if "<" in css else [(css, "")]:
        for selector, body in _RULE.findall(re.sub(r"/\*.*?\*/", "", sheet, flags=re.DOTALL)):
            found += [f"`{change}` in `{' '.join(selector.split())}`" for change in _TEXT_CHANGES.findall(body)]
        found += [f"`{change}` in a style attribute" for change in _TEXT_CHANGES.findall(attribute)]
    return list(dict.fromkeys(found))


def check_rendered(html: str, pdf: bytes, css: str = "") -> None:
    """Raise PdfTextMismatch unless the PDF holds the letter's text (run where the PDF is rendered).
    `css`: the stylesheet the PDF was laid out with besides the HTML's own, for naming a cause."""
    missing, text = _missing(html, pdf)
    if missing:
        raise PdfTextMismatch(describe(missing, html + "\n<style>" + css + "</style>", text))
