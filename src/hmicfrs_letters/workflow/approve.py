"""`letters approve`: a letter is approved only when it passes every check.

Its file is valid, its outcome is set, its findings are written and hold no placeholder
(core.validate.approval_gaps), the letter renders and shows no placeholder, it fits the page
limit, and the fixed wording is the approved one. These are the only approval rules: the
preview shows the same reasons, and a final build issues only what passed them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ruamel.yaml.comments import CommentedMap

from hmicfrs_letters.build.pages import over_page_limit, page_counts
from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.models import APPROVED
from hmicfrs_letters.core.render import render_letter
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.validate import Batch, LetterInput, approval_gaps
from hmicfrs_letters.workflow.wording import wording_problems
from hmicfrs_letters.workflow.yamledit import edit_yaml

# The element the templates show where findings are still to be written.
_TEMPLATE_PLACEHOLDER = re.compile(r"""class=["'][^"']*\bplaceholder\b""")


@dataclass
class Approval:
    """What became of one letter asked to be approved."""

    item: LetterInput
    reasons: list[str] = field(default_factory=list)
    already: bool = False

    @property
    def approved(self) -> bool:
        return not self.reasons


def approval_reasons(batch: Batch, items: Sequence[LetterInput]) -> dict[str, list[str]]:
    """Why each of these letters may not be approved (an empty list when it may)."""
    assessment = batch.assessment
    templates = Templates(batch.project.templates_dir)
    reasons: dict[str, list[str]] = {item.slug: [p.message for p in item.errors] for item in items}
    locked = any(p.is_error for p in wording_problems(batch, templates))
    htmls = {}
    for item in items:
        why, letter = reasons[item.slug], item.letter
        if letter is None:
            continue
        if letter.is_draft:  # an approved letter's gaps are errors of its file already
            why += [reason for _key, reason in approval_gaps(letter, assessment)]
        if locked:
            why.append("the fixed wording is not the approved wording (see `letters check`)")
        try:
            html = render_letter(templates, assessment, letter, item.shown)
        except LetterError as exc:
            why += [str(p) for p in exc.problems]
            continue
        if letter.findings.strip() and _TEMPLATE_PLACEHOLDER.search(html):
            why.append("the letter still shows a placeholder")
        if not why:
            htmls[item.slug] = html
    letters = {item.slug: item.letter for item in items}
    for slug, pages in page_counts(batch, htmls).items():
        over = pages.message if isinstance(pages, Problem) else over_page_limit(assessment, letters[slug], pages)
        if over:
            reasons[slug].append(over)
    return reasons


def approve(batch: Batch, slugs: Sequence[str]) -> list[Approval]:
    """Set `status: approved` in each letter that passes every check; say why for the others."""
    items = batch.select(slugs)
    reasons = approval_reasons(batch, [item for item in items if not (item.letter and item.letter.status == APPROVED)])
    results = []
    for item in items:
        result = Approval(item, reasons.get(item.slug, []), already=item.slug not in reasons)
        if result.approved and not result.already:
            try:
                edit_yaml(item.source, item.shown, batch.project.data_dir, _set_approved)
            except OSError as exc:  # data/ read-only or full: this letter is not approved, and says why
                result.reasons.append(f"cannot write: {exc.strerror or exc}")
        results.append(result)
    return results


def _set_approved(data: CommentedMap) -> None:
    data["status"] = APPROVED
