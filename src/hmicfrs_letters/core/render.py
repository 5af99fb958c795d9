"""Step 3a, render: the context of one letter, and its HTML. No I/O beyond reading templates."""

from __future__ import annotations

import dataclasses
from typing import Any

from hmicfrs_letters.core import findings
from hmicfrs_letters.core.models import Assessment, Letter
from hmicfrs_letters.core.templates import Templates


def letter_context(assessment: Assessment, letter: Letter, source: str) -> dict[str, Any]:
    """Everything a letter template may use; YAML values arrive as data, never as markup."""
    return {
        "assessment": assessment,
        "force": letter.force,
        # The approval record is about the letter, not in it: the text approved is the text issued.
        "letter": dataclasses.replace(letter, approved=None),
        "outcome": assessment.category(letter.outcome),
        "findings_html": findings.convert(letter.findings).html if letter.findings.strip() else "",
        "source": source,
    }


def render_letter(templates: Templates, assessment: Assessment, letter: Letter, source: str) -> str:
    """The letter as one standalone HTML document; LetterError, placed in the template, on an error inside it."""
    return templates.render(assessment.template, letter_context(assessment, letter, source))
