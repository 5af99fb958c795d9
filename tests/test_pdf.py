"""What the PDF carries besides the words: metadata, fonts, tags, page numbers, watermark, safety."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import ROOT, build_letters
from hmicfrs_letters.pdf.engine import AssetFetcher, PdfRenderer
from textutil import pdf_text

ASSETS = ROOT / "templates" / "assets"


@pytest.fixture(scope="module")
def built(tmp_path_factory, fixture_project) -> Path:
    out = tmp_path_factory.mktemp("out")
    report = build_letters(fixture_project, chosen=["cleveland", "kent"], out=out, jobs=1)
    assert not report.failed
    return out / "apsp-2017"


def test_metadata(built):
    reader = PdfReader(built / "pdf" / "cleveland.pdf")
    meta = reader.metadata
    assert meta["/Title"] == "HMICFRS assessment: Abuse of position for a sexual purpose: Cleveland Police"
    assert meta["/Author"].startswith("Michael Cunningham QPM")
    assert "Letter to the Chief Constable, Cleveland Police" in meta["/Subject"]
    assert meta["/CreationDate"] == "D:20171002"
    assert reader.trailer["/Root"]["/Lang"] == "en-GB"


def test_tagged_for_accessibility(built):
    root = PdfReader(built / "pdf" / "cleveland.pdf").trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"])
    assert "/StructTreeRoot" in root


def test_fonts_are_embedded_and_ours(built):
    reader = PdfReader(built / "pdf" / "cleveland.pdf")
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = (font.get("/FontDescriptor") or font["/DescendantFonts"][0].get_object()["/FontDescriptor"]).get_object()
            fonts[str(font["/BaseFont"]).split("+")[-1]] = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    assert fonts, "no fonts found"
    assert all(fonts.values()), fonts
    assert set(fonts) >= {"Liberation-Sans", "Liberation-Sans-Bold", "Liberation-Sans-Italic"}


def test_page_numbers_on_every_page(built):
    pages = PdfReader(built / "pdf" / "cleveland.pdf").pages
    assert len(pages) == 2
    assert [p.extract_text().strip().splitlines()[-1] for p in pages] == ["Page 1 of 2", "Page 2 of 2"]


def test_draft_has_a_watermark_and_approved_has_none(built):
    assert "DRAFT" in pdf_text(built / "pdf" / "kent.pdf")
    assert "DRAFT" not in pdf_text(built / "pdf" / "cleveland.pdf")
    assert 'class="watermark"' in (built / "html" / "kent.html").read_text()
    assert 'class="watermark"' not in (built / "html" / "cleveland.html").read_text()


def test_pending_letter_shows_a_placeholder(built):
    text = pdf_text(built / "pdf" / "kent.pdf")
    assert "[Findings to be written.] The outcome of this force's assessment is pending." in text


def test_html_is_standalone_and_semantic(built):
    html = (built / "html" / "cleveland.html").read_text()
    assert '<html lang="en-GB">' in html
    assert "<style>" in html and "<link" not in html and "src=" not in html
    assert '<a href="mailto:john.young@hmic.gsi.gov.uk">john.young@hmic.gsi.gov.uk</a>' in html
    assert "<cite>PEEL: police legitimacy 2016</cite>" in html
    assert '<blockquote class="recommendation"><p><em>To address this cause of concern' in html


SCRIPT = """
import sys
from pathlib import Path
from hmicfrs_letters.pdf.engine import PdfRenderer
html = Path(sys.argv[1]).read_text()
sys.stdout.buffer.write(PdfRenderer(Path(sys.argv[2])).render(html).data)
"""


def test_same_input_gives_the_same_bytes_across_processes(built, tmp_path):
    html = built / "html" / "cleveland.html"
    runs = [
        subprocess.run(
            [sys.executable, "-c", SCRIPT, str(html), str(ASSETS)], capture_output=True, check=True, env={"PYTHONHASHSEED": seed}
        ).stdout
        for seed in ("1", "2")
    ]
    assert runs[0] == runs[1] == (built / "pdf" / "cleveland.pdf").read_bytes()


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://127.0.0.1:9/x.css",
        "https://example.org/font.ttf",
        "data:text/plain,hello",
        (ASSETS / ".." / "base" / "letter.css").resolve().as_uri(),
        ASSETS.as_uri() + "/../base/letter.css",
        ASSETS.as_uri() + "/fonts/missing.ttf",
    ],
)
def test_fetcher_refuses_everything_but_our_assets(url):
    fetcher = AssetFetcher(ASSETS)
    with pytest.raises(ValueError, match="refused"):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def test_fetcher_serves_our_assets():
    response = AssetFetcher(ASSETS).fetch(ASSETS.as_uri() + "/fonts/LiberationSans-Regular.ttf")
    assert response.read() == (ASSETS / "fonts" / "LiberationSans-Regular.ttf").read_bytes()


def test_external_resources_in_html_are_never_fetched(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    renderer = PdfRenderer(ASSETS)
    html = (
        f'<html><head><link rel="stylesheet" href="{secret.as_uri()}"><link rel="attachment" href="{secret.as_uri()}"></head>'
        f'<body><p>Hello</p><img src="{secret.as_uri()}"><img src="http://127.0.0.1:9/x.png"></body></html>'
    )
    pdf = renderer.render(html).data
    assert b"TOP SECRET" not in pdf and b"/EmbeddedFile" not in pdf
    assert set(renderer.fetcher.refused) == {secret.as_uri(), "http://127.0.0.1:9/x.png"}


def test_a_one_page_letter_has_no_page_number(tmp_path):
    rendered = PdfRenderer(ASSETS).render("<html lang='en-GB'><body><p>A short letter.</p></body></html>")
    assert rendered.pages == 1
    (tmp_path / "one.pdf").write_bytes(rendered.data)
    assert pdf_text(tmp_path / "one.pdf") == "A short letter."


def test_importing_the_pdf_module_starts_no_compiler(tmp_path):
    """WeasyPrint's library lookups would run gcc and ld sixteen times (0.2 s of every worker's start)."""
    log = tmp_path / "ran"
    for tool in ("gcc", "cc", "ld"):  # stand-ins that note each run and find nothing, as the real ones do
        fake = tmp_path / "bin" / tool
        fake.parent.mkdir(exist_ok=True)
        fake.write_text(f"#!/bin/sh\necho {tool} >> {log}\nexit 1\n")
        fake.chmod(0o755)
    script = "import hmicfrs_letters.pdf.engine as pdf; print(pdf.HTML(string='<p>x</p>').render().pages[0].width > 0)"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env={"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin"}, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
    assert not log.exists(), log.read_text()
