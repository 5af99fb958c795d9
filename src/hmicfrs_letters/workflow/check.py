"""`letters check`: every problem in the data and templates; nothing is written but the PDF cache."""

from __future__ import annotations

from hmicfrs_letters.build.pages import page_problems
from hmicfrs_letters.core.approval import approval_problem
from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.render import render_letter
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.validate import Batch
from hmicfrs_letters.workflow.wording import wording_problems


def check_batch(batch: Batch, pages: bool = True) -> list[Problem]:
    """All problems of an assessment: its files, every template, each letter rendered to HTML,
    each approval record against its letter, the wording lock and (with pages) each letter's PDF
    made and its pages counted."""
    templates = Templates(batch.project.templates_dir)
    problems = list(batch.problems)
    broken = templates.problems()
    problems += broken
    htmls = {}
    for item in batch.letters:
        problems.extend(item.problems)
        if item.letter is None or broken:
            continue
        try:
            htmls[item.slug] = render_letter(templates, batch.assessment, item.letter, item.shown)
            if changed := approval_problem(templates, batch.assessment, item):
                problems.append(changed)
        except LetterError as exc:  # an error inside a template, met while rendering this letter
            problems += exc.problems
    if not broken:
        problems.extend(wording_problems(batch, templates))
    if pages:
        problems.extend(page_problems(batch, htmls))
    return sorted(dict.fromkeys(problems), key=lambda p: (p.path, p.line or 0))
