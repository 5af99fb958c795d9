"""`letters verify`: the PDFs already in the output folder hold their letters' text, as the data gives it now."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.reading import read_project_file
from hmicfrs_letters.core.render import render_letter
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.validate import Batch
from hmicfrs_letters.pdf.cache import MAX_ENTRY_BYTES
from hmicfrs_letters.pdf.verify import describe, missing_passages


@dataclass
class VerifyReport:
    checked: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def verify_output(batch: Batch, slugs: Sequence[str] = (), out: Path | None = None, final: bool = False) -> VerifyReport:
    """Check the PDFs already in out/<assessment>/pdf (or, `final`, in its final/ hand-over folder)
    against the letters the data gives now; in final/, the letters it holds unless some are named."""
    project = batch.project
    templates = Templates(project.templates_dir)
    folder = (out or project.output_dir).resolve() / batch.assessment.slug
    pdf_dir = folder / "final" / "pdf" if final else folder / "pdf"
    report = VerifyReport()
    if final and not slugs:
        slugs = sorted(path.stem for path in pdf_dir.glob("*.pdf"))
        if not slugs:
            report.problems.append(Problem(project.shown(folder / "final"), "no final build here; run `letters build --final`"))
    for item in batch.select(slugs):
        path = pdf_dir / f"{item.slug}.pdf"
        shown = project.shown(path)
        if item.letter is None:
            report.problems += item.errors
            continue
        try:
            html = render_letter(templates, batch.assessment, item.letter, item.shown)
        except LetterError as exc:
            report.problems += exc.problems
            continue
        try:  # as the engine reads every file: a FIFO or a link left in output/ is a problem, not a hang
            pdf = read_project_file(pdf_dir, path, shown, MAX_ENTRY_BYTES)
        except LetterError as exc:
            missing = not os.path.lexists(path)
            report.problems.append(Problem(shown, f"{item.name}: no PDF; run `letters build`") if missing else exc.problems[0])
            continue
        report.checked.append(item.slug)
        try:
            missing = missing_passages(html, pdf)
        except Exception as exc:  # PDFium raises on a damaged file
            report.problems.append(Problem(shown, f"{item.name}: cannot read the PDF: {type(exc).__name__}: {exc}"))
            continue
        if missing:
            report.problems.append(Problem(shown, f"{item.name}: {describe(missing)}"))
    return report
