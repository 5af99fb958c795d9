"""Step 3a, render: the context of one letter, and its HTML. Pure functions, no I/O."""

from __future__ import annotations

from typing import Any

import jinja2

from hmicfrs_letters import findings
from hmicfrs_letters.models import Assessment, Letter


def letter_context(assessment: Assessment, letter: Letter, source: str) -> dict[str, Any]:
    """Everything a letter template may use; YAML values arrive as data, never as markup."""
    return {
        "assessment": assessment,
        "force": letter.force,
        "letter": letter,
        "outcome": assessment.category(letter.outcome),
        "findings_html": findings.convert(letter.findings).html if letter.findings.strip() else "",
        "source": source,
    }


def render_letter(env: jinja2.Environment, assessment: Assessment, letter: Letter, source: str) -> str:
    """The letter as one standalone HTML document."""
    return env.get_template(assessment.template).render(letter_context(assessment, letter, source))


def render_page(env: jinja2.Environment, template: str, **context: Any) -> str:
    """Any other page (the index of a build) from its template."""
    return env.get_template(template).render(context)
