"""Markdown fields (findings and the like): written by staff, turned into HTML that is safe to print."""

from __future__ import annotations

import html
import re
import threading
from dataclasses import dataclass

import markdown
import nh3
from markupsafe import Markup

from hmicfrs_letters.core.chars import CONTROL

# What a Markdown field may contain: paragraphs, emphasis, lists, quotes, links and headings below
# the subject's (## to ####).
ALLOWED_TAGS = {"p", "em", "strong", "a", "ul", "ol", "li", "br", "blockquote", "code", "h2", "h3", "h4"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}
ALLOWED_SCHEMES = {"https", "http", "mailto"}
_TAG = re.compile(r"<[A-Za-z/!?]")
_ANY_TAG = re.compile(r"<[^>]*>")
# What a writer leaves for later: a bracketed note that is not a Markdown link ("[date]",
# "[insert detail]"), or one of the usual markers. An approved letter may hold none.
PLACEHOLDER = re.compile(r"\[[^\]\n]*\](?![(\[])|\b(?:TODO|TBC|TBD|XXX)\b")


def placeholders(text: str) -> list[str]:
    """The placeholders left in findings text, each once, in order."""
    return list(dict.fromkeys(m.group(0) for m in PLACEHOLDER.finditer(text)))


# How deep quotes and lists may nest. Findings rarely nest at all; far deeper, Markdown's parser
# and WeasyPrint's layout each recurse once a level until Python's recursion limit stops them
# (measured: a list nested 300 levels deep in Markdown, 100 in the PDF's layout).
MAX_NESTING = 10
# What opens a level at the start of a line: a quote, or a list item's bullet or number.
_OPENER = re.compile(r"[ \t]*(?:>|[-*+](?=[ \t])|\d{1,9}[.)](?=[ \t]))")
_RULE = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*")  # "- - -" is a horizontal rule, not three lists
_LEVEL = re.compile(r"<(/?)(?:blockquote|ul|ol)\b")


def nesting(text: str) -> int:
    """How deep the quotes and lists of Markdown text nest, at most: counted line by line from
    each line's indentation and openers, without parsing it (parsing is what recurses)."""
    deepest = 0
    for line in text.splitlines():
        line = line.expandtabs(4)
        depth = (len(line) - len(line.lstrip(" "))) // 4
        if not _RULE.fullmatch(line):
            position = 0
            while opener := _OPENER.match(line, position):
                depth, position = depth + 1, opener.end()
        deepest = max(deepest, depth)
    return deepest


def _html_nesting(html: str) -> int:
    depth = deepest = 0
    for closing in _LEVEL.findall(html):
        depth += -1 if closing else 1
        deepest = max(deepest, depth)
    return deepest


@dataclass(frozen=True)
class Findings:
    html: Markup
    has_image: bool
    has_raw_html: bool
    # Quotes and lists nest deeper than MAX_NESTING: the text is shown as typed, in one paragraph.
    too_deep: bool = False
    # A control character written as a character reference, shown as U+FFFD.
    has_control: bool = False
    has_top_heading: bool = False


def _converter() -> markdown.Markdown:
    md = markdown.Markdown(output_format="html")
    # Raw HTML in the YAML is data: without these two steps Markdown passes it through as markup,
    # with them it is escaped and shows as the text that was typed.
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    return md


# One converter per thread: a Markdown instance keeps the state of the text it converts (its
# references, its footnotes, its output), so two threads sharing one mix their letters' text.
_local = threading.local()


def _thread_converter() -> markdown.Markdown:
    md = getattr(_local, "md", None)
    if md is None:
        md = _local.md = _converter()
    return md


def convert(text: str) -> Findings:
    """Markdown to sanitised HTML; also says whether the text tried an image or raw HTML, or nests too deep."""
    has_raw_html = bool(_TAG.search(text))
    if nesting(text) <= MAX_NESTING:
        md = _thread_converter()
        md.reset()
        raw = md.convert(text)
        clean = nh3.clean(raw, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=ALLOWED_SCHEMES)
        # A character reference (&#27;) comes out of nh3 as the control character itself: never raw in a page.
        clean, controls = CONTROL.subn("\ufffd", clean)
        if _html_nesting(clean) <= MAX_NESTING:
            return Findings(
                Markup(clean), has_image="<img" in raw, has_raw_html=has_raw_html, has_control=bool(controls), has_top_heading="<h1" in raw
            )
    return Findings(Markup("<p>{}</p>").format(text), has_image=False, has_raw_html=has_raw_html, too_deep=True)


def shown_text(findings: Findings) -> str:
    """The characters the findings put in a letter, character references decoded: what its PDF must give back."""
    return html.unescape(_ANY_TAG.sub("", findings.html))
