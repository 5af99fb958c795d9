"""`letters verify`: the PDFs already in the output folder hold their letters' text, as the data gives it now."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.reading import read_project_file
from hmicfrs_letters.pdf.cache import MAX_ENTRY_BYTES
from hmicfrs_letters.pdf.verify import describe, missing_passages
from hmicfrs_letters.workflow.series import Workflow


@dataclass
class VerifyReport:
    checked: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def verify_output(work: Workflow, final: bool = False) -> VerifyReport:
    """Check the PDFs already in out/<assessment>/pdf (or, `final`, in its final/ hand-over folder)
    against the chosen letters as the data gives them now (core.state: as they build); in final/,
    the letters it holds unless some are chosen."""
    project, batch, slugs = work.project, work.batch, work.chosen
    folder = (work.out or project.output_dir).resolve() / batch.assessment.slug
    pdf_dir = folder / "final" / "pdf" if final else folder / "pdf"
    report = VerifyReport()
    if final and not slugs:
        slugs = sorted(path.stem for path in pdf_dir.glob("*.pdf"))
        if not slugs:
            report.problems.append(Problem(project.shown(folder / "final"), "no final build here; run `letters build --final`"))
    for state in work.states(batch.select(slugs)):
        item, html = state.item, state.html
        path = pdf_dir / f"{item.slug}.pdf"
        shown = project.shown(path)
        if html is None:
            report.problems += [p for p in state.problems if p.is_error]
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
