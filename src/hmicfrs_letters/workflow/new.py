"""`letters new`: start a recipient's letter as a draft, from its outcome's standard findings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.files import HeldFile
from hmicfrs_letters.core.models import DRAFT, PENDING, SLUG, did_you_mean
from hmicfrs_letters.core.validate import Batch, read_letter_bytes
from hmicfrs_letters.workflow.yamledit import dump, literal, plain, read_back, round_trip

# The field an outcome's `standard_findings` start a new letter's text in.
STANDARD_FIELD = "findings"
# Said in every new file with a Markdown field, since a folded block (`>`) would run paragraphs and lists together.
MARKDOWN_HELP = (
    "Markdown fields are literal blocks (`|`), indented by two spaces:\na blank line between paragraphs, `- ` before each item of a list."
)


def new_letter(batch: Batch, slug: str, outcome: str | None = None, restart: bool = False, to: str | None = None) -> Path:
    """Write a letter file as a draft, with its outcome's standard findings: `slug` is the letter's
    id, its file's name; `to` its recipient's slug when that is another (written as `recipient:`).

    A file whose fields are not written yet (a pending placeholder) is taken over; one with a
    field written is refused unless `restart` asks to start again.
    """
    project, assessment, recipients = batch.project, batch.assessment, batch.recipients
    folder = project.letters_dir(assessment.slug)
    to = to or slug
    if not SLUG.fullmatch(slug):
        raise LetterError(Problem(project.shown(folder), f"{slug!a} is not a letter id: lower-case letters, digits and hyphens"))
    if to not in recipients.recipients:
        where = project.shown(project.recipients_file(recipients.name))
        raise LetterError(Problem(where, f"no {recipients.singular} {to!a}{did_you_mean(to, recipients.recipients)}"))
    category = None
    if outcome is not None and not assessment.graded:
        raise LetterError(Problem(project.shown(project.assessment_file(assessment.slug)), "this series has no outcomes (no 'categories')"))
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
    recipient = recipients.recipients[to]
    data = CommentedMap()
    if to != slug:
        data["recipient"] = to
    if assessment.date is None:  # each letter gives its own
        data["date"] = dt.date.today()
    if assessment.graded:
        data["outcome"] = category.key if category else PENDING
    data["status"] = DRAFT
    for spec in assessment.fields:  # every field to write, the findings started from the outcome's standard wording
        standard = category.standard_findings if category and spec.name == STANDARD_FIELD else ""
        if spec.translated and len(assessment.languages) > 1 and spec.required:  # in each of the letters' languages
            blank = literal("") if spec.type == "markdown" else DoubleQuotedScalarString("")
            data[spec.name] = CommentedMap((language, blank) for language in assessment.languages)
        elif spec.type == "markdown" and (spec.required or standard):
            data[spec.name] = literal(standard)
        elif spec.required and spec.default is None:
            data[spec.name] = DoubleQuotedScalarString("")
    if category and category.standard_findings:
        start = f"{recipient.name}. Started by `letters new` from the standard findings for the outcome\n'{category.label}'.\n"
        start += f"Make them this {recipients.singular}'s, then run `letters approve {slug}`."
    else:
        todo = "set the outcome, write the fields" if assessment.graded else "write the fields"
        start = f"{recipient.name}. Started by `letters new`: {todo},\nthen run `letters approve {slug}`."
    markdown = any(spec.type == "markdown" for spec in assessment.fields)
    data.yaml_set_start_comment(f"{start}\n{MARKDOWN_HELP}" if markdown else start)
    shown = project.shown(path)
    with HeldFile(path, shown, project.locks_dir, project.data_dir) as held:
        if held.data is not None and not restart:
            _refuse_if_started(batch, slug, held.data)
            _keep_by_hand(data, held.data, shown)
        held.write(read_back(dump(data).encode("utf-8"), shown, plain(data)), then="the letter was not started")
    return path


# What a person writes by hand in a letter file that is not its text: kept when a draft is started over a placeholder.
BY_HAND = ("addressees", "salutation", "signatory", "copied_to")


def _keep_by_hand(data: CommentedMap, raw: bytes, shown: str) -> None:
    """Carry over the addressees, salutation, signatory and copies the file being taken over gives."""
    try:
        old = round_trip(raw.decode("utf-8"), shown)
    except (LetterError, UnicodeDecodeError):
        return
    if isinstance(old, CommentedMap):
        for key in BY_HAND:
            if old.get(key) not in (None, "", []):
                data[key] = old[key]


def _refuse_if_started(batch: Batch, slug: str, raw: bytes) -> None:
    """Refuse to replace a letter with a field written, or that cannot be read to tell."""
    item = read_letter_bytes(batch, slug, raw)
    if item.letter is None:
        why = f"cannot be read as a letter ({item.errors[0].message if item.errors else 'see `letters check`'})"
    elif item.letter.values:
        why = f"already has {', '.join(repr(name) for name in item.letter.values)} written"
    else:
        return  # a placeholder with no field written yet: taken over
    raise LetterError(Problem(item.shown, f"{why}; edit it, or start again with `letters new --restart`, which replaces it"))
