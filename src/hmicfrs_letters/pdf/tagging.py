"""Step 3b, render, mended: the structure tree WeasyPrint writes, made to hold as PDF/UA, and the
standard's identification, read back (with pikepdf, the one library here that edits PDFs).

WeasyPrint tags each page on its own: a letter of two pages has two /Art elements, every line of
text its own /Span, and the HTML elements it has no tag for (header, footer, address, strong, br)
are /NonStruct; the page numbers are marked as content that no element of the tree holds, the
watermark is text of the letter, and a link's underline is not marked at all. `mend` makes of it:

- one element for each HTML element split across pages (the letter's /Art, the body's /Div, a
  paragraph that runs on), as the layout says (`Layout`, from the engine, which alone sees it);
- decorative things (elements hidden from assistive technology with aria-hidden, images with an
  empty alt) and the page numbers are artifacts; so is every other painting outside a tag;
- an element in a language of its own (`lang`) gives it as /Lang, as PDF/UA asks of a change
  of language;
- the /Span of each line folded into its block (not one in a language of its own); a /NonStruct that holds text (an address block)
  a /P, one that holds blocks (a header or footer) a /Div, one inside a line (strong, br) dropped;
- the parent tree rebuilt, so that every marked-content sequence is held by the tree.

A PDF/A file gets PDF/UA-1 identification beside its PDF/A one, in the same XMP packet.
`problems` is the check that a PDF still claims and holds those properties (`letters verify`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pikepdf
from pikepdf import Array, Dictionary, Name, Operator

from hmicfrs_letters.core.models import PDF_UA

# Structure types that group blocks: a /NonStruct among their kids is a block of its own.
_GROUPS = frozenset({"/Document", "/Part", "/Art", "/Sect", "/Div", "/BlockQuote", "/L", "/LI", "/LBody", "/Table", "/TR"})
_PATH_START = frozenset({"m", "re"})
_PATH_PAINT = frozenset({"S", "s", "f", "F", "f*", "B", "B*", "b", "b*"})
_ARTIFACT = Name.Artifact


@dataclass(frozen=True)
class PageLayout:
    """What the layout says of one page that the PDF's tree does not: how many of the elements at
    the top of its tree continue from the page before (outermost first), and where the decorative
    elements are (each a path of indices among structure elements, from the page's top level)."""

    continued: int = 0
    decorative: tuple[tuple[int, ...], ...] = ()
    # The elements in a language of their own (`lang` on them: a letter's English part in a Welsh
    # letter), each a path as above and its language, which its structure element then gives as /Lang.
    languages: tuple[tuple[tuple[int, ...], str], ...] = ()


@dataclass(frozen=True)
class Layout:
    pages: tuple[PageLayout, ...] = field(default_factory=tuple)


def mend(data: bytes, layout: Layout, standard: str) -> bytes:
    """The PDF with its structure tree mended and its identification completed (module docstring)."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pages = [page.obj for page in pdf.pages]
        root = pdf.Root.get("/StructTreeRoot")
        if root is not None:
            _Tree(pdf, pages, root).mend(layout)
        if standard.startswith("pdf/a"):
            _add_pdfua_identification(pdf)
        out = io.BytesIO()
        pdf.save(
            out,
            deterministic_id=True,
            compress_streams=True,
            object_stream_mode=pikepdf.ObjectStreamMode.generate,
            fix_metadata_version=False,
        )
        return out.getvalue()


# PDF/UA's identification in a PDF/A file's XMP, with the extension schema that PDF/A asks of a
# property outside its own schemas (ISO 14289-1, 5: the schema as the standard gives it).
_PDFUA_XMP = b"""<rdf:Description rdf:about="" xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/"><pdfuaid:part>1</pdfuaid:part></rdf:Description>
<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" \
xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">\
<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">\
<pdfaSchema:schema>PDF/UA Universal Accessibility Schema</pdfaSchema:schema>\
<pdfaSchema:namespaceURI>http://www.aiim.org/pdfua/ns/id/</pdfaSchema:namespaceURI>\
<pdfaSchema:prefix>pdfuaid</pdfaSchema:prefix>\
<pdfaSchema:property><rdf:Seq><rdf:li rdf:parseType="Resource">\
<pdfaProperty:name>part</pdfaProperty:name><pdfaProperty:valueType>Integer</pdfaProperty:valueType>\
<pdfaProperty:category>internal</pdfaProperty:category>\
<pdfaProperty:description>Indicates, which part of ISO 14289 standard is followed</pdfaProperty:description>\
</rdf:li></rdf:Seq></pdfaSchema:property></rdf:li></rdf:Bag></pdfaExtension:schemas></rdf:Description>
"""


def _add_pdfua_identification(pdf: pikepdf.Pdf) -> None:
    """PDF/UA-1 identification beside the PDF/A one that WeasyPrint wrote, in the same packet (uncompressed)."""
    xmp = pdf.Root.Metadata.read_bytes()
    if b"pdfuaid:part" in xmp:
        return
    xmp = xmp.replace(b"</rdf:RDF>", _PDFUA_XMP + b"</rdf:RDF>", 1)
    pdf.Root.Metadata = pdf.make_stream(xmp, Type=Name.Metadata, Subtype=Name.XML)


def _kids(element: Dictionary) -> list:
    k = element.get("/K")
    if k is None:
        return []
    return list(k) if isinstance(k, Array) else [k]


def _is_element(item) -> bool:
    return isinstance(item, Dictionary) and "/S" in item


def _find(page_tops: list, path: tuple[int, ...]) -> tuple[Dictionary | None, Dictionary | None]:
    """The structure element at this path of indices among elements, from a page's top level, and its parent (None, None: no such)."""
    level, parent, element = page_tops, None, None
    for index in path:
        if index >= len(level) or level[index] is None:
            return None, None
        parent, element = element, level[index]
        level = [kid for kid in _kids(element) if _is_element(kid)]
    return parent, element


class _Tree:
    def __init__(self, pdf: pikepdf.Pdf, pages: list, root: Dictionary) -> None:
        self.pdf, self.pages, self.root = pdf, pages, root
        self.page_of = {page.objgen: n for n, page in enumerate(pages)}
        self.document = _kids(root)[0]

    def _page(self, element: Dictionary) -> int:
        return self.page_of.get(element.Pg.objgen, 0) if "/Pg" in element else 0

    def mend(self, layout: Layout) -> None:
        tops = [kid for kid in _kids(self.document) if _is_element(kid)]
        by_page: list[list[Dictionary]] = [[] for _ in self.pages]
        for kid in tops:
            by_page[self._page(kid)].append(kid)
        for n, hints in enumerate(layout.pages[: len(self.pages)]):
            for path, language in hints.languages:
                _, element = _find(by_page[n], path)
                if element is not None:
                    element.Lang = pikepdf.String(language)
            self._remove_decorative(by_page[n], hints.decorative)
        merged: list[Dictionary] = []
        for n, page_tops in enumerate(by_page):
            page_tops = [e for e in page_tops if e is not None]
            continued = layout.pages[n].continued if n < len(layout.pages) else 0
            if merged and page_tops and continued:
                self._merge(merged[-1], page_tops[0], continued)
                page_tops = page_tops[1:]
            merged += page_tops
        self.document.K = Array(self._normal(self.document, merged))
        self._rebuild_parent_tree()

    # --- decorative elements out of the tree -----------------------------------------------

    def _remove_decorative(self, page_tops: list, paths: tuple[tuple[int, ...], ...]) -> None:
        found = [(parent, element) for parent, element in (_find(page_tops, path) for path in paths) if element is not None]
        for parent, element in found:
            if parent is None:
                page_tops[page_tops.index(element)] = None
            else:
                parent.K = Array([kid for kid in _kids(parent) if not (_is_element(kid) and kid.objgen == element.objgen)])

    # --- one element for what continues over a page break -------------------------------------

    def _merge(self, left: Dictionary, right: Dictionary, levels: int) -> None:
        """Fold `right` (the top of a page) into `left` (the end of the page before), `levels` deep."""
        for _ in range(levels):
            if left.S != right.S:
                return
            left_kids, right_kids = _kids(left), _kids(right)
            moved = [self._moved(item, right, left) for item in right_kids]
            left.K = Array(left_kids + moved)
            if "/P" in right and _is_element(right.P):
                right.P.K = Array([k for k in _kids(right.P) if not (_is_element(k) and k.objgen == right.objgen)])
            last = [k for k in left_kids if _is_element(k)]
            first = [k for k in moved if _is_element(k)]
            if not last or not first:
                return
            left, right = last[-1], first[0]

    def _moved(self, item, old: Dictionary, new: Dictionary):
        if _is_element(item):
            item.P = new
            return item
        if isinstance(item, int) and self._page(old) != self._page(new):
            return self.pdf.make_indirect(Dictionary(Type=Name.MCR, MCID=item, Pg=old.Pg))
        return item

    # --- each element what it is --------------------------------------------------------------

    def _normal(self, parent: Dictionary, kids: list) -> list:
        """The kids of `parent` made plain: lines' spans folded in, non-structure resolved."""
        out = []
        for kid in kids:
            if not _is_element(kid):
                out.append(kid)
                continue
            inner = _kids(kid)
            if kid.S == Name.Span and inner and not any(_is_element(i) for i in inner) and "/Lang" not in kid:
                out += [self._moved(i, kid, parent) for i in inner]  # a line of text: its content, in its block
                continue
            if kid.S == Name.NonStruct:
                if not self._holds_content(kid):
                    continue  # a line break
                if str(parent.S) not in _GROUPS:
                    out += self._normal(parent, [self._moved(i, kid, parent) for i in inner])  # strong, em, cite: part of the line
                    continue
                texty = any(not _is_element(i) or i.S == Name.Span for i in inner)
                kid.S = Name.P if texty else Name.Div
            kid.P = parent
            kid.K = Array(self._normal(kid, inner))
            out.append(kid)
        return out

    def _holds_content(self, element: Dictionary) -> bool:
        return any(
            not _is_element(i) or self._holds_content(i) for i in _kids(element) if not (_is_element(i) and i.get("/Type") == Name.OBJR)
        )

    # --- every marked-content sequence held by the tree, every other painting an artifact ------

    def _rebuild_parent_tree(self) -> None:
        held: dict[int, dict[int, Dictionary]] = {n: {} for n in range(len(self.pages))}
        for element, mcid, page in self._marked(self.document):
            held[page][mcid] = element
        tree = self.root.ParentTree
        old = list(tree.Nums)
        nums = []
        for key, value in zip(old[::2], old[1::2], strict=True):
            key = int(key)
            if key < len(self.pages):
                length = len(value) if isinstance(value, Array) else 0
                length = max([length, *[m + 1 for m in held[key]]])
                value = self.pdf.make_indirect(Array([held[key].get(m) for m in range(length)]))
                _mark_artifacts(self.pdf, self.pages[key], set(held[key]))
            nums += [key, value]
        tree.Nums = Array(nums)

    def _marked(self, element: Dictionary) -> Iterator[tuple[Dictionary, int, int]]:
        for item in _kids(element):
            if isinstance(item, int):
                yield element, int(item), self._page(element)
            elif isinstance(item, Dictionary) and item.get("/Type") == Name.MCR:
                yield element, int(item.MCID), self._page(item)
            elif _is_element(item):
                yield from self._marked(item)


def _mark_artifacts(pdf: pikepdf.Pdf, page: Dictionary, held: set[int]) -> None:
    """Rewrite a page's content: a marked-content sequence the tree does not hold, and any painting
    outside every marked-content sequence, become artifacts. WeasyPrint marks all but the first
    already; the common case (page numbers) is a substitution in the stream's bytes."""
    marked, loose = _scan(page)
    unheld = {mcid for mcid in marked if mcid not in held}
    if loose:
        _wrap_loose(pdf, page, unheld)
    elif unheld:
        content = page.Contents.read_bytes() if not isinstance(page.Contents, Array) else b"\n".join(c.read_bytes() for c in page.Contents)

        def artifact(found: re.Match) -> bytes:
            return b"/Artifact BMC" if int(found.group(1)) in unheld else found.group(0)

        page.Contents = pdf.make_stream(_MARKED.sub(artifact, content))


_MARKED = re.compile(rb"/[^\s/<>\[\]()]+\s*<<\s*/MCID\s+(\d+)\s*>>\s*BDC")
_SCANNED = "BDC BMC EMC S s f F f* B B* b b* Tj TJ ' \" Do sh BT ET"
_SHOWN = frozenset({"Tj", "TJ", "'", '"'})


def _scan(page: Dictionary) -> tuple[list[int], int]:
    """The MCIDs marked on a page, and how many paintings stand outside any marked-content sequence."""
    marked, loose, depth = [], 0, 0
    for operands, operator in pikepdf.parse_content_stream(page, _SCANNED):
        op = str(operator)
        if op in ("BDC", "BMC"):
            depth += 1
            if op == "BDC" and isinstance(operands[1], Dictionary) and "/MCID" in operands[1]:
                marked.append(int(operands[1].MCID))
        elif op == "EMC":
            depth -= 1
        elif depth == 0 and (op in _PATH_PAINT or op in _SHOWN or op in ("Do", "sh")):
            loose += 1
    return marked, loose


def _wrap_loose(pdf: pikepdf.Pdf, page: Dictionary, unheld: set[int]) -> None:
    out, depth, start = [], 0, None
    for operands, operator in pikepdf.parse_content_stream(page):
        op = str(operator)
        if op == "BDC" and depth == 0 and isinstance(operands[1], Dictionary) and "/MCID" in operands[1]:
            if int(operands[1].MCID) in unheld:
                operands, operator = [_ARTIFACT], Operator("BMC")
        if op in ("BDC", "BMC"):
            depth += 1
            start = None  # a sequence inside a text object: left as it is
        elif op == "EMC":
            depth -= 1
        elif depth == 0 and start is None and (op in _PATH_START or op == "BT"):
            start = len(out)  # a path or text object outside any sequence: wrapped once it ends
        elif depth == 0 and op in ("Do", "sh", "INLINE IMAGE"):
            out += [([_ARTIFACT], Operator("BMC")), (operands, operator), ([], Operator("EMC"))]
            continue
        out.append((operands, operator))
        if start is not None and (op in _PATH_PAINT or op == "n" or op == "ET"):
            if op != "n":  # a clip alone paints nothing
                out[start:] = [([_ARTIFACT], Operator("BMC")), *out[start:], ([], Operator("EMC"))]
            start = None
    page.Contents = pdf.make_stream(pikepdf.unparse_content_stream(out))


# --- the check: what a letter's PDF claims, and whether it holds ---------------------------------


def claimed_standard(pdf: pikepdf.Pdf) -> str:
    """The standard a PDF's XMP names: `pdf/a-2a` when it names PDF/A (whatever it adds), `pdf/ua-1`, or ''."""
    meta = pdf.open_metadata()
    part, conformance = meta.get("pdfaid:part"), meta.get("pdfaid:conformance")
    if part:
        return f"pdf/a-{part}{(conformance or '').lower()}"
    return PDF_UA if meta.get("pdfuaid:part") == "1" else ""


def problems(data: bytes, standard: str | None = None) -> list[str]:
    """What this PDF lacks of the properties `mend` gives it, in words (nothing when it holds them).

    `standard`: the one it must claim; by default the one it claims (and PDF/UA-1 at least).
    """
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PdfError as exc:
        return [f"cannot read the PDF: {exc}"]
    with pdf:
        found = []
        claimed = claimed_standard(pdf)
        expected = standard or claimed or PDF_UA
        if claimed != expected:
            found.append(f"it claims {claimed or 'no standard'}, not {expected}")
        if pdf.open_metadata().get("pdfuaid:part") != "1":
            found.append("no PDF/UA-1 identification in its XMP")
        if expected.startswith("pdf/a"):
            intents = [i for i in pdf.Root.get("/OutputIntents", []) if i.get("/S") == Name.GTS_PDFA1 and "/DestOutputProfile" in i]
            if not intents:
                found.append("no PDF/A output intent (an ICC profile)")
            if "/ID" not in pdf.trailer:
                found.append("no /ID in its trailer")
        if not str(pdf.Root.get("/Lang", "")):
            found.append("no /Lang")
        if not pdf.Root.get("/MarkInfo", {}).get("/Marked", False):
            found.append("not marked as tagged")
        found += _font_problems(pdf)
        found += _structure_problems(pdf)
        return found


def _font_problems(pdf: pikepdf.Pdf) -> list[str]:
    names = set()
    for page in pdf.pages:
        for name, font in page.obj.get("/Resources", {}).get("/Font", {}).items():
            descendant = font.DescendantFonts[0] if "/DescendantFonts" in font else font
            descriptor = descendant.get("/FontDescriptor", {})
            if not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                names.add(str(font.get("/BaseFont", name)))
    return [f"a font not embedded: {name}" for name in sorted(names)]


def structure_counts(pdf: pikepdf.Pdf) -> dict[str, int]:
    """How many structure elements of each type the tree holds (reachable from its root)."""
    counts: dict[str, int] = {}
    root = pdf.Root.get("/StructTreeRoot")
    stack = _kids(root) if root is not None else []
    while stack:
        item = stack.pop()
        if _is_element(item) and item.get("/Type") != Name.OBJR:
            counts[str(item.S)[1:]] = counts.get(str(item.S)[1:], 0) + 1
            stack += _kids(item)
    return counts


def _structure_problems(pdf: pikepdf.Pdf) -> list[str]:
    root = pdf.Root.get("/StructTreeRoot")
    if root is None:
        return ["no structure tree"]
    counts = structure_counts(pdf)
    found = [] if counts.get("Art") == 1 else [f"{counts.get('Art', 0)} /Art elements for the letter, not one"]
    if counts.get("NonStruct"):
        found.append(f"{counts['NonStruct']} /NonStruct elements")
    tree = _Tree(pdf, [p.obj for p in pdf.pages], root)
    held = {(page, mcid) for _, mcid, page in tree._marked(tree.document)}
    loose = unheld = 0
    for n, page in enumerate(pdf.pages):
        marked, painted = _scan(page.obj)
        unheld += sum((n, mcid) not in held for mcid in marked)
        loose += painted
    if unheld:
        found.append(f"{unheld} marked-content sequences that the structure tree does not hold")
    if loose:
        found.append(f"{loose} paintings neither tagged nor marked as artifacts")
    return found
