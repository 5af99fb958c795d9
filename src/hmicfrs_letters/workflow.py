"""From draft to issued letter: start a draft, approve it, and build the final, audited output.

A letter is approved only when it passes every check: its file is valid, its outcome is set,
its findings are written and hold no placeholder, it fits the page limit, and the fixed
wording is the approved one. A final build refuses while any letter it would build is not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from hmicfrs_letters.build import BuildReport, build
from hmicfrs_letters.errors import LetterError, Problem
from hmicfrs_letters.findings import placeholders
from hmicfrs_letters.manifest import write_manifest
from hmicfrs_letters.models import PENDING, did_you_mean
from hmicfrs_letters.output import write_atomic
from hmicfrs_letters.overview import render_overview, write_overview
from hmicfrs_letters.pages import page_counts
from hmicfrs_letters.render import render_letter
from hmicfrs_letters.templates import make_environment, template_problem
from hmicfrs_letters.validate import Batch, LetterInput
from hmicfrs_letters.wording import wording_problems
from hmicfrs_letters.workers import TaskFailed
from hmicfrs_letters.yamledit import dump, edit_yaml, folded

# The element the templates show where findings are still to be written.
_TEMPLATE_PLACEHOLDER = re.compile(r"""class=["'][^"']*\bplaceholder\b""")


# --- letters new ----------------------------------------------------------------------------


def new_letter(batch: Batch, slug: str, outcome: str | None = None) -> Path:
    """Write a force's letter file as a draft, with its outcome's standard findings; never overwrite."""
    project, assessment = batch.project, batch.assessment
    folder = project.letters_dir(assessment.slug)
    if slug not in batch.forces:
        raise LetterError(Problem(project.shown(project.forces_file), f"no force '{slug}'{did_you_mean(slug, batch.forces)}"))
    category = None
    if outcome is not None and outcome != PENDING:
        category = assessment.category(outcome)
        if category is None:
            keys = [c.key for c in assessment.categories]
            raise LetterError(
                Problem(
                    project.shown(project.assessment_file(assessment.slug)),
                    f"unknown outcome '{outcome}'{did_you_mean(outcome, keys)}; expected one of: {', '.join(keys)}",
                )
            )
    path = folder / f"{slug}.yaml"
    if path.exists():
        raise LetterError(Problem(project.shown(path), "already exists; edit it, or delete it first to start again"))
    force = batch.forces[slug]
    data = CommentedMap()
    data["outcome"] = category.key if category else PENDING
    data["status"] = "draft"
    data["findings"] = folded(category.standard_findings) if category else DoubleQuotedScalarString("")
    if category and category.standard_findings:
        start = f"{force.name}. Started by `letters new` from the standard findings for the outcome\n'{category.label}'.\n"
        start += f"Make them this force's, then run `letters approve {slug}`."
    else:
        start = f"{force.name}. Started by `letters new`: set the outcome, write the findings,\nthen run `letters approve {slug}`."
    data.yaml_set_start_comment(start)
    write_atomic(path, dump(data))
    return path


# --- letters approve ------------------------------------------------------------------------


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
    project, assessment = batch.project, batch.assessment
    env = make_environment(project.templates_dir)
    reasons: dict[str, list[str]] = {item.slug: [] for item in items}
    lock = [p for p in wording_problems(batch, env) if p.is_error]
    htmls = {}
    for item in items:
        why, letter = reasons[item.slug], item.letter
        if letter is None:
            why += [p.message for p in item.errors]
            continue
        why += [p.message for p in item.errors]
        if letter.outcome == PENDING:
            why.append(f"the outcome is pending; set 'outcome' to one of: {', '.join(c.key for c in assessment.categories)}")
        if not letter.findings.strip():
            why.append("the findings are not written")
        else:
            marks = placeholders(letter.findings)
            if marks:
                why.append(f"the findings hold a placeholder: {', '.join(repr(m) for m in marks)}")
        if lock:
            why.append("the fixed wording is not the approved wording (see `letters check`)")
        try:
            html = render_letter(env, assessment, letter, item.shown)
        except Exception as exc:  # an error inside a template
            why.append(str(template_problem(exc, project.templates_dir, "templates")))
            continue
        if letter.findings.strip() and _TEMPLATE_PLACEHOLDER.search(html):
            why.append("the letter still shows a placeholder")
        if not why:
            htmls[item.slug] = html
    for slug, pages in page_counts(project, htmls).items():
        if isinstance(pages, TaskFailed):
            reasons[slug].append(f"its pages could not be counted: {pages.message}")
        elif pages > assessment.page_limit:
            reasons[slug].append(f"it has {pages} pages, over the limit of {assessment.page_limit}")
    return reasons


def approve(batch: Batch, slugs: Sequence[str]) -> list[Approval]:
    """Set `status: approved` in each letter that passes every check; say why for the others."""
    items = batch.select(slugs)
    reasons = approval_reasons(batch, [item for item in items if not (item.letter and item.letter.status == "approved")])
    results = []
    for item in items:
        result = Approval(item, reasons.get(item.slug, []), already=item.slug not in reasons)
        if result.approved and not result.already:
            edit_yaml(item.source, item.shown, _set_approved)
        results.append(result)
    return results


def _set_approved(data: CommentedMap) -> None:
    data["status"] = "approved"


# --- letters build --final ------------------------------------------------------------------


def final_problems(batch: Batch, slugs: Sequence[str] = ()) -> list[Problem]:
    """Why a final build of these letters must not go ahead: drafts, pending outcomes, unreadable files, changed wording."""
    project = batch.project
    unready = []
    for item in batch.select(slugs):
        letter = item.letter
        if letter is None:
            unready.append(f"{item.slug} (invalid)")
        elif letter.is_draft or letter.outcome == PENDING:
            marks = [m for m, on in (("draft", letter.is_draft), ("pending", letter.outcome == PENDING)) if on]
            unready.append(f"{item.slug} ({', '.join(marks)})")
    problems = []
    if unready:
        problems.append(
            Problem(
                project.shown(project.letters_dir(batch.assessment.slug)),
                f"final build refused: {len(unready)} {'letter is' if len(unready) == 1 else 'letters are'} not approved: "
                f"{', '.join(unready)}; approve them with `letters approve SLUG...`, or build without --final",
            )
        )
    lock = [p for p in wording_problems(batch) if p.is_error]
    if lock:
        problems.append(
            Problem(lock[0].path, "final build refused: the fixed wording is not the approved wording (see `letters check`)", lock[0].line)
        )
    return problems


def publish(
    batch: Batch, slugs: Sequence[str] = (), formats: Sequence[str] = ("html", "pdf"), final: bool = False, **options
) -> BuildReport:
    """A build with its national overview and audit manifest; a final one only when every letter is approved."""
    if final:
        problems = final_problems(batch, slugs)
        if problems:
            raise LetterError(problems)
    env = make_environment(batch.project.templates_dir)
    try:
        overview = render_overview(env, batch)
    except Exception as exc:  # an error inside the overview's template
        raise LetterError(template_problem(exc, batch.project.templates_dir, "templates")) from None
    # the letters' workers make the overview's PDF too, in parallel, rather than this process after them
    report = build(batch, slugs=slugs, formats=formats, prerender=[overview], **options)
    try:
        write_overview(env, batch, report.out_dir, pdf="pdf" in formats)
    except Exception as exc:  # an error inside the overview's template
        raise LetterError(template_problem(exc, batch.project.templates_dir, "templates")) from None
    write_manifest(batch, report, final)
    return report
