"""The two real letters of 2 October 2017, reproduced word for word in HTML and in PDF."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FIXTURES, build_letters
from textutil import html_lines, missing_in_order, missing_in_order_folded, pdf_text, seed_lines

SEEDS = ["cleveland", "north-yorkshire"]


@pytest.fixture(scope="module")
def built(tmp_path_factory, fixture_project) -> Path:
    out = tmp_path_factory.mktemp("out")
    report = build_letters(fixture_project, chosen=SEEDS, out=out, jobs=1)
    assert not report.failed
    return out / "apsp-2017"


@pytest.mark.parametrize("slug", SEEDS)
def test_html_has_every_seed_line_in_order(built: Path, slug: str):
    seed = seed_lines(FIXTURES / "seeds" / f"{slug}.txt")
    lines = [text for text, _ in html_lines((built / "html" / f"{slug}.html").read_text())]
    assert len(seed) == 18
    assert missing_in_order(seed, lines) == []


@pytest.mark.parametrize("slug", SEEDS)
def test_pdf_has_every_seed_line_in_order(built: Path, slug: str):
    seed = seed_lines(FIXTURES / "seeds" / f"{slug}.txt")
    assert missing_in_order_folded(seed, pdf_text(built / "pdf" / f"{slug}.pdf")) == []


def test_seed_comparison_catches_a_changed_word(built: Path):
    seed = seed_lines(FIXTURES / "seeds" / "cleveland.txt")
    lines = [text.replace("six months", "six weeks") for text, _ in html_lines((built / "html" / "cleveland.html").read_text())]
    assert len(missing_in_order(seed, lines)) == 1


def test_seed_comparison_catches_reordered_paragraphs(built: Path):
    seed = seed_lines(FIXTURES / "seeds" / "north-yorkshire.txt")
    text = pdf_text(built / "pdf" / "north-yorkshire.pdf")
    assert missing_in_order_folded(seed[-3:] + seed[:-3], text) != []
