"""`letters check`: every problem in the data and templates, without writing anything."""

from __future__ import annotations

import jinja2

from hmicfrs_letters.errors import Problem
from hmicfrs_letters.pages import page_problems
from hmicfrs_letters.render import render_letter
from hmicfrs_letters.templates import make_environment, template_problem
from hmicfrs_letters.validate import Batch
from hmicfrs_letters.wording import wording_problems


def check_batch(batch: Batch, pages: bool = True) -> list[Problem]:
    """All problems of an assessment: its files, every template, each letter rendered to HTML,
    the wording lock and (with pages) each letter's page count."""
    project = batch.project
    env = make_environment(project.templates_dir)
    problems = list(batch.problems)
    broken = False
    for name in env.list_templates(filter_func=lambda n: n.endswith(".j2")):
        try:
            env.get_template(name)
        except jinja2.TemplateError as exc:
            problems.append(template_problem(exc, project.templates_dir, "templates"))
            broken = True
    htmls = {}
    for item in batch.letters:
        problems.extend(item.problems)
        if item.letter is None or broken:
            continue
        try:
            htmls[item.slug] = render_letter(env, batch.assessment, item.letter, item.shown)
        except Exception as exc:  # an error inside a template, met while rendering this letter
            problems.append(template_problem(exc, project.templates_dir, "templates"))
    if not broken:
        problems.extend(wording_problems(batch, env))
    if pages:
        problems.extend(page_problems(batch, htmls))
    return sorted(dict.fromkeys(problems), key=lambda p: (p.path, p.line or 0))
