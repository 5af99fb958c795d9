"""Markdown fields (findings and the like): written by staff, turned into HTML that is safe to print."""

from __future__ import annotations

import re
from dataclasses import dataclass

import markdown
import nh3
from markupsafe import Markup

# What a Markdown field may contain: paragraphs, emphasis, lists, quotes, links and headings below
# the subject's (## to ####).
ALLOWED_TAGS = {"p", "em", "strong", "a", "ul", "ol", "li", "br", "blockquote", "code", "h2", "h3", "h4"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}
ALLOWED_SCHEMES = {"https", "http", "mailto"}
_TAG = re.compile(r"<[A-Za-z/!?]")
# What a writer leaves for later: a bracketed note that is not a Markdown link ("[date]",
# "[insert detail]"), or one of the usual markers. An approved letter may hold none.
PLACEHOLDER = re.compile(r"\[[^\]\n]*\](?![(\[])|\b(?:TODO|TBC|TBD|XXX)\b")


def placeholders(text: str) -> list[str]:
    """The placeholders left in findings text, each once, in order."""
    return list(dict.fromkeys(m.group(0) for m in PLACEHOLDER.finditer(text)))


@dataclass(frozen=True)
class Findings:
    html: Markup
    has_image: bool
    has_raw_html: bool
    has_top_heading: bool = False


def _converter() -> markdown.Markdown:
    md = markdown.Markdown(output_format="html")
    # Raw HTML in the YAML is data: without these two steps Markdown passes it through as markup,
    # with them it is escaped and shows as the text that was typed.
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    return md


_md = _converter()


def convert(text: str) -> Findings:
    """Markdown to sanitised HTML; also says whether the text tried an image or raw HTML."""
    _md.reset()
    raw = _md.convert(text)
    clean = nh3.clean(raw, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=ALLOWED_SCHEMES)
    return Findings(Markup(clean), has_image="<img" in raw, has_raw_html=bool(_TAG.search(text)), has_top_heading="<h1" in raw)
