"""The national overview: how an assessment's letters fall across the outcomes, from the same YAML.

The figures are counted here; every word of the page, and the bar chart's drawing, is in
templates/base/overview.html.j2.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hmicfrs_letters.core.models import PENDING
from hmicfrs_letters.core.state import LetterState, Status
from hmicfrs_letters.core.status import STANDING
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.validate import Batch

OVERVIEW_TEMPLATE = "base/overview.html.j2"


@dataclass
class OutcomeRow:
    """One outcome (a category, or pending) and the recipients whose letters have it."""

    key: str
    label: str
    names: list[str] = field(default_factory=list)
    approved: int = 0

    @property
    def count(self) -> int:
        return len(self.names)

    @property
    def drafts(self) -> int:
        return self.count - self.approved


def overview_context(batch: Batch, states: Iterable[LetterState]) -> dict[str, Any]:
    """The overview's figures: recipients per outcome, and how many letters are pending, approved, draft
    (or changed since approval, and so not approved) or unreadable, by each letter's state."""
    assessment = batch.assessment
    rows = {c.key: OutcomeRow(c.key, c.label) for c in assessment.categories}
    pending = OutcomeRow(PENDING, "")
    everyone = OutcomeRow("", "")  # a series without categories has no outcomes: its recipients in one row
    invalid, approved, drafts, changed = [], 0, 0, 0
    for state in states:
        letter = state.item.letter
        if letter is None:
            invalid.append(state.slug)
            continue
        row = rows.get(letter.outcome, pending) if assessment.graded else everyone
        row.names.append(letter.recipient.name)
        row.approved += state.status in STANDING
        approved += state.status in STANDING
        changed += state.status is Status.CHANGED
        drafts += state.status not in STANDING
    outcomes = list(rows.values())
    return {
        "assessment": assessment,
        "words": batch.recipients,
        "everyone": everyone,
        "outcomes": outcomes,
        "pending": pending,
        "total": len(batch.letters),
        "decided": sum(row.count for row in outcomes),
        "approved": approved,
        "drafts": drafts,  # every letter read that is not approved, those changed since approval among them
        "changed": changed,
        "invalid": invalid,
        "largest": max([row.count for row in [*outcomes, pending]] + [1]),
    }


def render_overview(templates: Templates, batch: Batch, states: Iterable[LetterState]) -> str:
    """The overview's HTML, from every letter's state; its PDF is made after the letters' (build.bulk)."""
    return templates.render(OVERVIEW_TEMPLATE, overview_context(batch, states))
