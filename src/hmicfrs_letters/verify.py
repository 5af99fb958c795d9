"""Verified output: a PDF's own text, read back, holds every passage of its letter verbatim.

Every passage of the letter's HTML (the fixed paragraphs, the addressee block, the findings)
must be found in the PDF's text, in order, after folding whitespace and making quotes alike.
A line broken after a hyphen reads back as "counter- corruption"; so whitespace after a dash
(or a slash, where long addresses break) is dropped on both sides. Hyphenation or ligatures added by the CSS would still fail the check,
as they should: what a reader copies from the PDF must be what was approved.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hmicfrs_letters.errors import Problem
from hmicfrs_letters.render import render_letter
from hmicfrs_letters.templates import make_environment, template_problem
from hmicfrs_letters.text import letter_passages, missing_in_order, pdf_text
from hmicfrs_letters.validate import Batch

_AFTER_DASH = re.compile(r"([-‐‑–—/])\s+")


class PdfTextMismatch(Exception):
    """The PDF's text lacks passages of the letter it was made from."""


def _comparable(text: str) -> str:
    return _AFTER_DASH.sub(r"\1", text.replace("\u00ad", ""))


def missing_passages(html: str, pdf: bytes) -> list[str]:
    """The passages of the letter in this HTML that the PDF's text does not hold, in order."""
    expected = [_comparable(p.text) for p in letter_passages(html)]
    return missing_in_order(expected, _comparable(pdf_text(pdf)))


def describe(missing: Sequence[str]) -> str:
    first = missing[0] if len(missing[0]) <= 90 else missing[0][:90] + "…"
    count = "1 passage" if len(missing) == 1 else f"{len(missing)} passages"
    return f"the PDF's text lacks {count} of the letter, first: '{first}'"


def check_rendered(html: str, pdf: bytes) -> None:
    """Raise PdfTextMismatch unless the PDF holds the letter's text (run where the PDF is rendered)."""
    missing = missing_passages(html, pdf)
    if missing:
        raise PdfTextMismatch(describe(missing))


@dataclass
class VerifyReport:
    checked: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def verify_output(batch: Batch, slugs: Sequence[str] = (), out: Path | None = None) -> VerifyReport:
    """Check the PDFs already in out/<assessment>/pdf against the letters the data gives now."""
    project = batch.project
    env = make_environment(project.templates_dir)
    pdf_dir = (out or project.output_dir).resolve() / batch.assessment.slug / "pdf"
    report = VerifyReport()
    for item in batch.select(slugs):
        path = pdf_dir / f"{item.slug}.pdf"
        shown = project.shown(path)
        if item.letter is None:
            report.problems += item.errors
            continue
        try:
            html = render_letter(env, batch.assessment, item.letter, item.shown)
        except Exception as exc:  # an error inside a template
            report.problems.append(template_problem(exc, project.templates_dir, "templates"))
            continue
        try:
            pdf = path.read_bytes()
        except OSError:
            report.problems.append(Problem(shown, f"{item.letter.force.name}: no PDF; run `letters build`"))
            continue
        report.checked.append(item.slug)
        try:
            missing = missing_passages(html, pdf)
        except Exception as exc:  # pypdf raises many kinds of error on a damaged file
            report.problems.append(Problem(shown, f"{item.letter.force.name}: cannot read the PDF: {type(exc).__name__}: {exc}"))
            continue
        if missing:
            report.problems.append(Problem(shown, f"{item.letter.force.name}: {describe(missing)}"))
    return report
