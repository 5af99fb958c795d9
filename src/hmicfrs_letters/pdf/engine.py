"""Step 3b, render: HTML to PDF bytes. The only module that imports WeasyPrint; only workers import it."""

from __future__ import annotations

import base64
import binascii
import ctypes.util
import mimetypes
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from hmicfrs_letters.core.errors import LetterError
from hmicfrs_letters.core.models import PDF_STANDARDS, PDF_UA
from hmicfrs_letters.core.reading import read_project_file
from hmicfrs_letters.core.templates import IMAGE_TYPES, MAX_IMAGE_BYTES
from hmicfrs_letters.pdf import ASSETS_SHOWN, MAX_ASSET_BYTES
from hmicfrs_letters.pdf.tagging import Layout, PageLayout, mend


@contextmanager
def _libraries_from_one_ldconfig_listing() -> Iterator[None]:
    """While WeasyPrint is imported, find shared libraries in one listing of ldconfig's cache.

    WeasyPrint asks for each library under several names, for Windows, macOS and Linux; for each
    name that does not load, cffi calls ctypes.util.find_library, which on Linux runs ldconfig,
    then gcc, then ld (Kozea/WeasyPrint#1125): sixteen compilers started, 0.2 s of every import,
    so of every worker's start. ldconfig's cache is where those lookups find Linux libraries;
    reading it once answers them all alike.
    """
    try:
        listing = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, check=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):  # not Linux, or no ldconfig: leave the lookups alone
        yield
        return

    def find_library(name: str) -> str | None:
        found = re.search(rb"\s(lib%s\.[^\s]+)\s" % re.escape(name.encode()), listing)
        return found.group(1).decode() if found else None

    original = ctypes.util.find_library
    ctypes.util.find_library = find_library
    try:
        yield
    finally:
        ctypes.util.find_library = original


with _libraries_from_one_ldconfig_listing():
    from weasyprint import CSS, HTML
    from weasyprint import __version__ as weasyprint_version
    from weasyprint.formatting_structure import boxes
    from weasyprint.layout.absolute import AbsolutePlaceholder
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher, URLFetcherResponse

PDF_OPTIONS = {"uncompressed_pdf": False}
__all__ = ["AssetFetcher", "PdfRenderer", "RenderedPdf", "weasyprint_version"]


class AssetFetcher(URLFetcher):
    """Serves files under the project's assets folder, and images inlined as data: URIs (what the
    templates' `image()` makes of those files); refuses every other URL.

    WeasyPrint asks its fetcher for stylesheets, fonts, images and attachments; refusing all but
    our own assets means no letter can read a local file or reach the network, whatever its HTML.
    """

    def __init__(self, assets_dir: Path) -> None:
        super().__init__(allowed_protocols=("file",), allow_redirects=False)
        self.root = assets_dir.resolve()
        self.base_url = self.root.as_uri() + "/"
        self._cache: dict[Path, bytes] = {}
        self.refused: list[str] = []

    def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
        if url.startswith("data:"):
            return self._inline(url)
        path = self._path(url)
        if path is None:
            self.refused.append(url)
            raise ValueError(f"refused: only the project's own assets may be loaded, not {url[:200]}")
        if path not in self._cache:
            shown = f"{ASSETS_SHOWN}/{os.path.relpath(path, self.root)}"
            try:  # as every file the engine reads: a regular file inside the folder once links are followed
                self._cache[path] = read_project_file(self.root, path, shown, MAX_ASSET_BYTES, ASSETS_SHOWN)
            except LetterError as exc:
                self.refused.append(url)
                raise ValueError(f"refused: {exc.problems[0]}") from None
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, self._cache[path], {"Content-Type": content_type})

    def _inline(self, url: str) -> URLFetcherResponse:
        """An image carried by the letter itself: base64, of a type that `image()` makes, and no larger."""
        head, _, payload = url[5:].partition(",")
        kind, _, encoding = head.partition(";")
        if kind not in IMAGE_TYPES.values() or encoding != "base64" or len(payload) > MAX_IMAGE_BYTES * 4 // 3 + 4:
            self.refused.append(url[:200])
            raise ValueError(f"refused: only images inlined as base64 data: URIs may be loaded, not {url[:60]}")
        try:
            data = base64.b64decode(payload, validate=True)
        except binascii.Error:
            self.refused.append(url[:200])
            raise ValueError("refused: an inlined image that is not valid base64") from None
        return URLFetcherResponse(url[:200], data, {"Content-Type": kind})

    def _path(self, url: str) -> Path | None:
        if not url.startswith(self.base_url):
            return None
        parts = urlsplit(url)
        if parts.query or parts.netloc:
            return None
        return Path(os.path.normpath(url2pathname(parts.path)))


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    pages: int


class PdfRenderer:
    """Renders letters to PDF, reusing one font configuration and one parsed stylesheet.

    Sharing the FontConfiguration keeps memory flat over many letters and saves ~20 ms a letter
    (measured; see the README).
    """

    def __init__(self, assets_dir: Path) -> None:
        self.fetcher = AssetFetcher(assets_dir)
        self.font_config = FontConfiguration()
        self.stylesheet = self._css("pdf.css")
        self.single_page = self._css("pdf-single-page.css")

    def _css(self, name: str) -> CSS:
        # Through the fetcher, as every asset: WeasyPrint would open a file name itself.
        return CSS(url=self.fetcher.base_url + name, url_fetcher=self.fetcher, font_config=self.font_config)

    def render(self, html: str, standard: str = PDF_UA) -> RenderedPdf:
        """The PDF of this HTML, tagged and identified as `standard` (one of core.models.PDF_STANDARDS) asks."""
        if standard not in PDF_STANDARDS:
            raise ValueError(f"unknown PDF standard {standard!r}; one of {', '.join(PDF_STANDARDS)}")
        document = self._layout(html, [self.stylesheet])
        if len(document.pages) == 1:  # page numbers only where there is more than one page
            document = self._layout(html, [self.stylesheet, self.single_page])
        data = document.write_pdf(pdf_variant=standard, **PDF_OPTIONS)
        return RenderedPdf(mend(data, layout_of(document), standard), len(document.pages))

    def _layout(self, html: str, stylesheets: list[CSS]):
        source = HTML(string=html, base_url=self.fetcher.base_url, url_fetcher=self.fetcher)
        return source.render(stylesheets=stylesheets, font_config=self.font_config)


# --- what the layout says that WeasyPrint's structure tree does not (pdf.tagging) ------------------
# These follow weasyprint.pdf.tags (70): one structure element for each box, but the page, html,
# body and margin boxes, and line boxes' children in their place; read here, never changed.


def layout_of(document) -> Layout:
    """For each page: how many elements continue at its top from the page before; where the decorative ones are."""
    pages, before = [], set()
    for page in document.pages:
        tops = _tagged(page._page_box)
        elements: set[int] = set()
        decorative: list[tuple[int, ...]] = []
        languages: list[tuple[tuple[int, ...], str]] = []
        _walk(tops, (), elements, decorative, languages)
        pages.append(PageLayout(_continued(tops, before), tuple(decorative), tuple(languages)))
        before = elements
    return Layout(tuple(pages))


def _tagged(box) -> list:
    """The boxes that stand for `box` among its parent's structure elements (the children of an untagged box)."""
    if isinstance(box, AbsolutePlaceholder):
        box = box._box
    if isinstance(box, boxes.MarginBox):
        return []
    untagged = isinstance(box, boxes.PageBox) or (box.element is not None and box.element_tag in ("html", "body"))
    if untagged and isinstance(box, boxes.ParentBox) and not isinstance(box, boxes.LineBox):
        return _children(box)
    return [box]


def _children(box) -> list:
    found = []
    for child in getattr(box, "children", ()):
        for inner in child.children if isinstance(child, boxes.LineBox) else [child]:
            found += _tagged(inner)
    return found


def _is_link(box) -> bool:
    return box.element is not None and box.element_tag.split(":")[0] == "a"


def _decorative(box) -> bool:
    element = box.element
    if element is None or isinstance(box, boxes.TextBox):
        return False
    return (
        element.get("aria-hidden") == "true"
        or element.get("role") in ("presentation", "none")
        or (box.element_tag == "img" and element.get("alt") == "")
    )


def _walk(
    level: list,
    path: tuple[int, ...],
    elements: set[int],
    decorative: list[tuple[int, ...]],
    languages: list[tuple[tuple[int, ...], str]],
) -> None:
    for index, box in enumerate(level):
        if _decorative(box):
            decorative.append((*path, index))
            continue
        if box.element is not None and not isinstance(box, boxes.TextBox):
            elements.add(id(box.element))
            if box.element.get("lang") and box.element_tag not in ("html", "body"):
                languages.append(((*path, index), box.element.get("lang")))
        if isinstance(box, boxes.ParentBox):
            kids = [kid for kid in _children(box) if not (_is_link(box) and isinstance(kid, boxes.TextBox))]
            _walk(kids, (*path, index), elements, decorative, languages)


def _continued(level: list, before: set[int]) -> int:
    """How many elements down the top of this page continue elements of the page before."""
    depth = 0
    while True:
        level = [box for box in level if not _decorative(box)]
        if not level or isinstance(level[0], boxes.TextBox) or level[0].element is None or id(level[0].element) not in before:
            return depth
        depth += 1
        level = _children(level[0]) if isinstance(level[0], boxes.ParentBox) else []
