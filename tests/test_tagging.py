"""Letters fit to publish and to keep: read with pikepdf (not the engine's code), the PDFs claim
PDF/UA-1 (and PDF/A-2a in a final build) and hold what they claim: one letter element over both
pages, headings and lists tagged, the watermark and page numbers artifacts, every marked-content
sequence in the structure tree, /Lang, an output intent, embedded fonts. Images come from
templates/assets/ only, inlined in the HTML, with their alternative text."""

from __future__ import annotations

import io
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from conftest import SOME_LETTERS, add_series, make_project
from editing import edit
from hmicfrs_letters.cli import app
from hmicfrs_letters.pdf import tagging
from hmicfrs_letters.pdf.cache import PdfCache

CREST = """<svg xmlns="http://www.w3.org/2000/svg" width="60" height="60" viewBox="0 0 60 60">
<circle cx="30" cy="30" r="26" fill="#1d70b8"/></svg>"""
ORGANISATION = "Her Majesty's Inspectorate of Constabulary and Fire & Rescue Services"


def add_images(root: Path) -> None:
    """A crest in the letterhead and a signature for the police forces' and the fire services' series."""
    assets = root / "templates" / "assets"
    (assets / "signatures").mkdir(parents=True, exist_ok=True)
    (assets / "crest.svg").write_text(CREST)
    image = Image.new("RGBA", (240, 80), (255, 255, 255, 0))
    ImageDraw.Draw(image).line([(10, 60), (50, 15), (80, 65), (120, 20)], fill=(20, 20, 80, 255), width=4)
    image.save(assets / "signatures" / "signature.png")
    police = root / "data" / "assessments" / "apsp-2017.yaml"
    text = police.read_text()
    text = re.sub(r"(\n  organisation: .*\n)", r"\1  logo: assets/crest.svg\n", text, count=1)
    text = re.sub(r"(\n  name: Michael Cunningham QPM\n)", r"\1  signature: assets/signatures/signature.png\n", text, count=1)
    police.write_text(text)
    fire = root / "data" / "assessments" / "frs-2022.yaml"
    text = fire.read_text().replace(
        "  email: fire.inspections@example.gov.uk\n", "  email: fire.inspections@example.gov.uk\n  logo: assets/crest.svg\n"
    )
    fire.write_text(text + "pdf:\n  standard: pdf/a-3a\n")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Both series with a crest and a signature: Cleveland's letter (approved) built final, Avon and
    Somerset's (a draft) and the fire services' built as usual."""
    root = add_series(make_project(tmp_path_factory.mktemp("tagging") / "project", SOME_LETTERS))
    add_images(root)
    runner = CliRunner()
    for args in (
        ["build", "--assessment", "apsp-2017", "-r", "cleveland", "-r", "avon-and-somerset"],
        ["build", "--assessment", "apsp-2017", "--final", "-r", "cleveland"],
        ["build", "--assessment", "frs-2022", "-r", "london"],
    ):
        result = runner.invoke(app, ["--project", str(root), *args])
        assert result.exit_code == 0, result.output
    return root


def open_pdf(path: Path) -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(path.read_bytes()))


def elements(pdf: pikepdf.Pdf) -> list[pikepdf.Dictionary]:
    """Every structure element reachable from the root, in order."""
    found, stack = [], [pdf.Root.StructTreeRoot]
    while stack:
        node = stack.pop()
        kids = node.get("/K")
        kids = list(kids) if isinstance(kids, pikepdf.Array) else [] if kids is None else [kids]
        for kid in reversed(kids):
            if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
                found.append(kid)
                stack.append(kid)
    return found


def counts(pdf: pikepdf.Pdf) -> Counter:
    return Counter(str(e.S)[1:] for e in elements(pdf))


def held(pdf: pikepdf.Pdf) -> set[tuple[int, int]]:
    """(page, MCID) of every marked-content sequence that an element of the tree holds."""
    pages = {page.objgen: n for n, page in enumerate(pdf.pages)}
    found = set()
    for element in elements(pdf):
        kids = element.K if isinstance(element.K, pikepdf.Array) else [element.K]
        for kid in kids:
            if isinstance(kid, int):
                found.add((pages[element.Pg.objgen], int(kid)))
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                found.add((pages[kid.Pg.objgen], int(kid.MCID)))
    return found


def sequences(pdf: pikepdf.Pdf, n: int) -> tuple[list[int], int, int]:
    """A page's marked-content sequences: the MCIDs, the artifacts that show text, and the paintings outside any sequence."""
    mcids, text_artifacts, loose = [], 0, 0
    stack: list[str] = []
    shown = False
    for operands, operator in pikepdf.parse_content_stream(pdf.pages[n]):
        op = str(operator)
        if op in ("BDC", "BMC"):
            stack.append(str(operands[0]))
            if op == "BDC" and isinstance(operands[1], pikepdf.Dictionary) and "/MCID" in operands[1]:
                mcids.append(int(operands[1].MCID))
            shown = False
        elif op == "EMC":
            if stack.pop() == "/Artifact" and shown:
                text_artifacts += 1
            shown = False
        elif op in ("Tj", "TJ"):
            shown = True
            loose += not stack
        elif op in ("S", "f", "f*", "B", "b", "Do", "sh"):
            loose += not stack
    return mcids, text_artifacts, loose


def test_a_final_letter_claims_pdf_a_2a_and_pdf_ua_1_and_holds_them(built):
    pdf = open_pdf(built / "output" / "apsp-2017" / "final" / "pdf" / "cleveland.pdf")
    meta = pdf.open_metadata()
    assert (meta.get("pdfaid:part"), meta.get("pdfaid:conformance"), meta.get("pdfuaid:part")) == ("2", "A", "1")
    xmp = pdf.Root.Metadata.read_bytes()
    assert (
        xmp.count(b"<x:xmpmeta") == 1 and b"http://www.aiim.org/pdfua/ns/id/</pdfaSchema:namespaceURI>" in xmp
    )  # one packet, UA's schema declared
    (intent,) = pdf.Root.OutputIntents
    assert intent.S == "/GTS_PDFA1" and "sRGB" in str(intent.OutputConditionIdentifier)
    assert intent.DestOutputProfile.read_bytes()[36:40] == b"acsp"  # an ICC profile
    assert len(pdf.trailer.ID) == 2
    manifest = json.loads((built / "output" / "apsp-2017" / "final" / "manifest.json").read_text())
    assert manifest["pdf_standard"] == "pdf/a-2a" and manifest["versions"]["pikepdf"] == pikepdf.__version__
    assert str(pdf.Root.Lang) == "en-GB" and pdf.Root.MarkInfo.Marked and pdf.Root.ViewerPreferences.DisplayDocTitle
    for page in pdf.pages:
        for font in page.Resources.Font.values():
            descriptor = (font.DescendantFonts[0] if "/DescendantFonts" in font else font).FontDescriptor
            assert "/FontFile2" in descriptor or "/FontFile3" in descriptor or "/FontFile" in descriptor


def test_one_letter_element_over_both_pages_and_each_part_tagged_as_what_it_is(built):
    pdf = open_pdf(built / "output" / "apsp-2017" / "final" / "pdf" / "cleveland.pdf")
    assert len(pdf.pages) == 2
    found = counts(pdf)
    assert found["Art"] == 1 and found["Part"] == 1 and found["NonStruct"] == 0
    assert found["H1"] == 1 and found["BlockQuote"] == 1 and found["Link"] == 1
    (letter,) = [e for e in elements(pdf) if e.S == "/Art"]
    pages = {page.objgen: n for n, page in enumerate(pdf.pages)}
    inside = {pages[e.Pg.objgen] for e in elements(pdf) if e.P.objgen == letter.objgen or _under(e, letter)}
    assert inside == {0, 1}  # the one letter element holds the content of both pages
    figures = {str(e.Alt) for e in elements(pdf) if e.S == "/Figure"}
    assert figures == {ORGANISATION, "Signature of Michael Cunningham QPM"}


def _under(element: pikepdf.Dictionary, ancestor: pikepdf.Dictionary) -> bool:
    while "/P" in element and "/S" in element.P:
        element = element.P
        if element.objgen == ancestor.objgen:
            return True
    return False


def test_every_marked_sequence_is_in_the_tree_and_page_numbers_and_the_watermark_are_artifacts(built):
    final = open_pdf(built / "output" / "apsp-2017" / "final" / "pdf" / "cleveland.pdf")
    draft = open_pdf(built / "output" / "apsp-2017" / "pdf" / "avon-and-somerset.pdf")
    for pdf, decorations in ((final, 1), (draft, 2)):  # the page number; and the watermark on a draft
        assert pdf.open_metadata().get("pdfuaid:part") == "1"
        tree = held(pdf)
        for n in range(len(pdf.pages)):
            mcids, text_artifacts, loose = sequences(pdf, n)
            assert {(n, m) for m in mcids} <= tree, f"page {n + 1}: a tagged sequence outside the structure tree"
            assert text_artifacts == decorations and loose == 0
    # The watermark is no part of the structure: the page's main part holds the letter alone.
    (main,) = [e for e in elements(draft) if e.S == "/Part"]
    assert [str(kid.S) for kid in main.K if isinstance(kid, pikepdf.Dictionary)] == ["/Art"]


def test_lists_and_headings_tagged_in_a_series_that_chooses_pdf_a_3a(built):
    pdf = open_pdf(built / "output" / "frs-2022" / "pdf" / "london.pdf")
    meta = pdf.open_metadata()
    assert (meta.get("pdfaid:part"), meta.get("pdfaid:conformance"), meta.get("pdfuaid:part")) == ("3", "A", "1")
    found = counts(pdf)
    assert found["L"] == 1 and found["LI"] == 2 and found["LBody"] == 2 and found["H1"] == 1 and found["H2"] == 2
    assert found["Art"] == 1 and found["NonStruct"] == 0
    assert {str(e.Alt) for e in elements(pdf) if e.S == "/Figure"} == {
        "His Majesty's Inspectorate of Constabulary and Fire & Rescue Services"
    }


def test_the_html_letter_with_a_logo_stands_alone(built):
    html = (built / "output" / "apsp-2017" / "final" / "html" / "cleveland.html").read_text()
    sources = re.findall(r'\ssrc="([^"]*)"', html)
    assert len(sources) == 2 and all(s.startswith(("data:image/svg+xml;base64,", "data:image/png;base64,")) for s in sources)
    assert not re.search(r'\s(?:src|href)="(?!data:|mailto:|#)', html) and "url(" not in html  # nothing to fetch
    assert f'alt="{ORGANISATION.replace("&", "&amp;").replace(chr(39), "&#39;")}"' in html
    assert 'alt="Signature of Michael Cunningham QPM"' in html


@pytest.mark.parametrize(
    ("logo", "message"),
    [
        ("../data/recipients/forces.yaml", "an image must be a file under templates/assets/, as 'assets/logo.svg'"),
        ("assets/pdf.css", "an image must be one of .svg, .png, .jpg, .jpeg"),
        ("assets/absent.png", "templates/assets/absent.png"),
    ],
)
def test_an_image_from_outside_assets_or_of_another_kind_is_refused_in_one_line(project, letters, logo, message):
    assessment = project / "data" / "assessments" / "apsp-2017.yaml"
    assessment.write_text(re.sub(r"(\n  organisation: .*\n)", rf"\1  logo: {logo}\n", assessment.read_text(), count=1))
    result = letters("check", "--no-pages")
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if message in line]
    assert lines and "Traceback" not in result.output


def test_the_standard_is_part_of_the_cache_key(tmp_path):
    cache = PdfCache(tmp_path, "assets")
    assert cache.key("<html>letter</html>", "pdf/ua-1") != cache.key("<html>letter</html>", "pdf/a-2a")


def test_verify_reports_a_pdf_that_lost_its_tags_or_its_identification(built, tmp_path):
    root = tmp_path / "project"
    shutil.copytree(built, root)
    final = root / "output" / "apsp-2017" / "final" / "pdf" / "cleveland.pdf"
    with pikepdf.open(io.BytesIO(final.read_bytes())) as pdf:
        del pdf.Root.StructTreeRoot
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            del meta["pdfuaid:part"]
        pdf.save(final)
    result = CliRunner().invoke(app, ["--project", str(root), "verify", "--final"])
    assert result.exit_code == 1
    assert (
        "output/apsp-2017/final/pdf/cleveland.pdf: Cleveland Police: the PDF is not fit to publish: "
        "no PDF/UA-1 identification in its XMP; no structure tree"
    ) in result.output


def test_painting_outside_any_tag_becomes_an_artifact(built):
    """WeasyPrint marks its borders and backgrounds as artifacts; anything painted outside every
    marked sequence (a shape added after, say) is made one too, and the text stays tagged."""
    source = built / "output" / "apsp-2017" / "final" / "pdf" / "cleveland.pdf"
    with open_pdf(source) as pdf:
        pdf.pages[0].contents_add(pdf.make_stream(b"q 0 0 1 rg 10 10 50 50 re f Q"), prepend=False)
        loose = io.BytesIO()
        pdf.save(loose)
    with pikepdf.open(io.BytesIO(loose.getvalue())) as pdf:
        assert sequences(pdf, 0)[2] == 1
    with pikepdf.open(io.BytesIO(tagging.mend(loose.getvalue(), tagging.Layout(), "pdf/a-2a"))) as pdf:
        mcids, _, painted = sequences(pdf, 0)
        assert painted == 0 and {(0, m) for m in mcids} <= held(pdf) and mcids
        # The same tree (a second mend takes a <span>'s one line for a line of its paragraph).
        assert counts(pdf) - Counter(["Span"]) == counts(open_pdf(source)) - Counter(["Span"])


def test_a_paragraph_over_a_page_break_is_one_paragraph_and_the_next_one_its_own(project, letters):
    """Kent's findings, one paragraph long enough to run over two page breaks: one /P holds its
    lines on each page it runs over; the paragraphs before and after it stay paragraphs of their own."""
    edit(project / "data" / "assessments" / "apsp-2017.yaml", "page_limit: 2", "page_limit: 4")
    words = " ".join(f"finding-{n} well-founded" for n in range(380))
    edit(project / "data" / "assessments" / "apsp-2017" / "kent.yaml", 'findings: ""', f"findings: '{words}'")
    result = letters("build", "-r", "kent", "--format", "pdf")
    assert result.exit_code == 0, result.output
    pdf = open_pdf(project / "output" / "apsp-2017" / "pdf" / "kent.pdf")
    pages = {page.objgen: n for n, page in enumerate(pdf.pages)}
    (findings,) = [e for e in elements(pdf) if e.S == "/Sect"]
    (paragraph,) = [kid for kid in findings.K if isinstance(kid, pikepdf.Dictionary)]
    on = {pages[paragraph.Pg.objgen]} | {pages[k.Pg.objgen] for k in paragraph.K if isinstance(k, pikepdf.Dictionary)}
    assert on == set(range(len(pdf.pages) - 1)) or on == set(range(len(pdf.pages)))
    assert len(on) >= 3
    assert counts(pdf)["Art"] == 1 and counts(pdf)["Sect"] == 1
    body = findings.P
    assert [str(k.S) for k in body.K if isinstance(k, pikepdf.Dictionary)] == ["/P", "/P", "/BlockQuote", "/P", "/Sect", "/P", "/P"]


def test_the_html_letter_shows_its_images_in_a_browser_with_no_request_leaving_the_file(built, page):
    letter = built / "output" / "apsp-2017" / "final" / "html" / "cleveland.html"
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(letter.as_uri())
    assert page.evaluate("[...document.images].map(i => i.complete && i.naturalWidth > 0)") == [True, True]
    assert [url for url in requests if not url.startswith("data:")] == [letter.as_uri()]
