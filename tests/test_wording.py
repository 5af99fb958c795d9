"""All 43 letters carry the fixed wording identically: only the addressee and the findings vary."""

from __future__ import annotations

from collections import Counter

import pytest

from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.render import render_letter
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.validate import load_batch
from textutil import html_lines

# The parts of a letter that may differ between forces, by their class in the base layout.
VARYING = {"addressee", "salutation", "findings", "watermark", "draft-banner"}


@pytest.fixture(scope="module")
def letters_html(fixture_project) -> dict[str, str]:
    batch = load_batch(Project.at(fixture_project))
    templates = Templates(batch.project.templates_dir)
    return {item.slug: render_letter(templates, batch.assessment, item.letter, item.shown) for item in batch.letters}


def fixed_lines(html: str) -> list[str]:
    return [text for text, classes in html_lines(html) if not classes & VARYING and "letter" in classes]


def test_there_are_43_letters(letters_html):
    assert len(letters_html) == 43


def test_fixed_wording_is_identical_in_every_letter(letters_html):
    versions = Counter(tuple(fixed_lines(html)) for html in letters_html.values())
    assert len(versions) == 1, f"{len(versions)} different versions of the fixed wording"
    (wording,) = versions
    assert any(line.startswith("In December 2016, we published") for line in wording)
    assert "Yours sincerely" in wording


def test_the_varying_parts_do_vary(letters_html):
    addressees = {tuple(t for t, c in html_lines(html) if "addressee" in c) for html in letters_html.values()}
    assert len(addressees) == 43
    findings = {tuple(t for t, c in html_lines(html) if "findings" in c) for slug, html in letters_html.items()}
    assert len(findings) > 5


def test_the_check_would_see_a_changed_fixed_line(letters_html):
    html = letters_html["kent"].replace("within six months", "within six weeks")
    assert fixed_lines(html) != fixed_lines(letters_html["cleveland"])


@pytest.mark.parametrize(
    ("slug", "recipient", "salutation", "copied"),
    [
        (
            "cleveland",
            ["Chief Constable", "Cleveland Police", "Via email"],
            "Dear Chief Constable",
            "Copied to: Police and Crime Commissioner",
        ),
        (
            "metropolitan",
            ["Commissioner", "Metropolitan Police Service", "Via email"],
            "Dear Commissioner",
            "Copied to: Deputy Mayor for Policing and Crime (MOPAC)",
        ),
    ],
)
def test_addressee_block(letters_html, slug, recipient, salutation, copied):
    lines = html_lines(letters_html[slug])
    assert [t for t, c in lines if "recipient" in c] == recipient
    assert [t for t, c in lines if "copied-to" in c] == [copied]
    assert [t for t, c in lines if "salutation" in c] == [salutation]
