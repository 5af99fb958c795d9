"""The national overview: how the forces' letters fall across the outcomes, from the same YAML.

The figures are counted here; every word of the page, and the bar chart's drawing, is in
templates/base/overview.html.j2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from hmicfrs_letters.cache import PdfCache, environment_digest
from hmicfrs_letters.models import PENDING
from hmicfrs_letters.output import write_atomic
from hmicfrs_letters.render import render_page
from hmicfrs_letters.validate import Batch

OVERVIEW_TEMPLATE = "base/overview.html.j2"


@dataclass
class OutcomeRow:
    """One outcome (a category, or pending) and the forces whose letters have it."""

    key: str
    label: str
    forces: list[str] = field(default_factory=list)
    approved: int = 0

    @property
    def count(self) -> int:
        return len(self.forces)

    @property
    def drafts(self) -> int:
        return self.count - self.approved


def overview_context(batch: Batch) -> dict[str, Any]:
    """The overview's figures: forces per outcome, and how many letters are pending, draft or unreadable."""
    assessment = batch.assessment
    rows = {c.key: OutcomeRow(c.key, c.label) for c in assessment.categories}
    pending = OutcomeRow(PENDING, "")
    invalid = []
    for item in batch.letters:
        letter = item.letter
        if letter is None:
            invalid.append(item.slug)
            continue
        row = rows.get(letter.outcome, pending)
        row.forces.append(letter.force.name)
        row.approved += not letter.is_draft
    outcomes = list(rows.values())
    letters = [item.letter for item in batch.letters if item.letter]
    return {
        "assessment": assessment,
        "outcomes": outcomes,
        "pending": pending,
        "total": len(batch.letters),
        "decided": sum(row.count for row in outcomes),
        "approved": sum(not letter.is_draft for letter in letters),
        "drafts": sum(letter.is_draft for letter in letters),
        "invalid": invalid,
        "largest": max([row.count for row in [*outcomes, pending]] + [1]),
    }


def render_overview(env: jinja2.Environment, batch: Batch) -> str:
    return render_page(env, OVERVIEW_TEMPLATE, **overview_context(batch))


def write_overview(env: jinja2.Environment, batch: Batch, out_dir: Path, pdf: bool) -> list[Path]:
    """overview.html, and overview.pdf when PDFs are built; the files written."""
    html = render_overview(env, batch)
    written = [out_dir / "overview.html"]
    write_atomic(written[0], html)
    if pdf:
        assets = batch.project.templates_dir / "assets"
        cache = PdfCache(out_dir.parent / ".cache" / "pdf", environment_digest(assets))  # the build's own cache
        key = cache.key(html)
        cached = cache.get(key)
        if cached is None:
            from hmicfrs_letters.pdf import PdfRenderer

            rendered = PdfRenderer(assets).render(html)
            cached = rendered.data, rendered.pages
            cache.put(key, *cached)
        written.append(out_dir / "overview.pdf")
        write_atomic(written[1], cached[0])
    return written
