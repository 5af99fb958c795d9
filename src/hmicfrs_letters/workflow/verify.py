"""`letters verify`: the PDFs already in the output folder hold their letters' text, as the data gives it now,
and still claim and hold the standard they are built to (pdf.tagging: PDF/UA-1, and PDF/A in a final build)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from hmicfrs_letters.build.manifest import MANIFEST
from hmicfrs_letters.core.errors import LetterError, Problem, Severity
from hmicfrs_letters.core.reading import read_project_file
from hmicfrs_letters.pdf import tagging
from hmicfrs_letters.pdf.cache import MAX_ENTRY_BYTES
from hmicfrs_letters.pdf.verify import describe, missing_passages
from hmicfrs_letters.workflow.series import Workflow


@dataclass
class VerifyReport:
    checked: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def verify_output(work: Workflow, final: bool = False, strict: bool = False) -> VerifyReport:
    """Check the PDFs already in out/<assessment>/pdf (or, `final`, in its final/ hand-over folder)
    against the chosen letters as the data gives them now (core.state: as they build); in final/,
    the letters it holds unless some are chosen, and whether it holds the whole series (a warning
    when not; an error, `strict`)."""
    project, batch, slugs = work.project, work.batch, work.chosen
    folder = (work.out or project.output_dir).resolve() / batch.assessment.slug
    pdf_dir = folder / "final" / "pdf" if final else folder / "pdf"
    report = VerifyReport()
    if final and not slugs:
        slugs = sorted(path.stem for path in pdf_dir.glob("*.pdf"))
        if not slugs:
            report.problems.append(Problem(project.shown(folder / "final"), "no final build here; run `letters build --final`"))
    if final and slugs:
        report.problems += _partial(project.shown(folder / "final" / MANIFEST), folder / "final", strict)
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
        unfit = tagging.problems(pdf, work.assessment.standard(final))
        if unfit:
            report.problems.append(Problem(shown, f"{item.name}: the PDF is not fit to publish: {'; '.join(unfit)}"))
    return report


def _partial(shown: str, final: Path, strict: bool) -> list[Problem]:
    """A hand-over folder that is not the whole series, as its manifest says (build.report.BuildReport.left_out)."""
    try:
        record = json.loads(read_project_file(final, final / MANIFEST, shown, MAX_ENTRY_BYTES))
        left_out, held = dict(record["left_out"]), len(record["letters"])
    except (LetterError, ValueError, KeyError, TypeError) as exc:
        why = exc.problems[0].message if isinstance(exc, LetterError) else "it does not say which letters it holds"
        return [Problem(shown, f"cannot tell whether the hand-over folder is the whole series: {why}")]
    if not left_out:
        return []
    names = ", ".join(f"{slug} ({why})" for slug, why in left_out.items())
    severity = Severity.ERROR if strict else Severity.WARNING
    return [
        Problem(
            shown,
            f"the hand-over folder holds {held} of {held + len(left_out)} letters, not the whole series; left out: {names}",
            severity=severity,
        )
    ]
