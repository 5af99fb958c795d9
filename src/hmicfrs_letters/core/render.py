"""Step 3a, render: the context of one letter, and its HTML. No I/O beyond reading templates."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from hmicfrs_letters.core import findings
from hmicfrs_letters.core.mail import fill
from hmicfrs_letters.core.models import Assessment, FieldSpec, Letter
from hmicfrs_letters.core.templates import Templates


class Placeholder(str):
    """A value that stands for a field or a recipient's detail by its name, `{inspection_dates}`: what the
    wording lock renders in place of everything that varies between letters."""


class Missing:
    """A field the letter does not give yet: false in an `{% if %}`, a marked placeholder naming it when printed."""

    def __init__(self, spec: FieldSpec, to_be_written: str = "") -> None:
        # What a Markdown field's placeholder says after its title, in the letter's language: "to be
        # written" (templates/base/languages.yaml's `to_be_written`); nothing when the language gives none.
        self.spec, self.to_be_written = spec, to_be_written

    def __bool__(self) -> bool:
        return False

    def __html__(self) -> str:
        title = escape(self.spec.title)
        # data-field names the field, for `letters check` and `letters approve` to name it (core.state).
        if self.spec.type == "markdown":
            said = f"{title}: {escape(self.to_be_written)}" if self.to_be_written else title
            return f'<p class="placeholder" role="note" data-field="{self.spec.name}"><strong>[{said}.]</strong></p>'
        # <mark>, not the block placeholder's padded box: inside a sentence, padding reads back from the
        # PDF as a space before the next word, and the letter would fail its text check.
        return f'<mark class="placeholder-field" data-field="{self.spec.name}">[{title}]</mark>'

    def __str__(self) -> str:
        return f"[{self.spec.title}]"


def field_values(assessment: Assessment, letter: Letter, words: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Each declared field as templates print it: text as text (escaped when printed), Markdown converted
    and sanitised, dates as dates, and a field the letter does not give as a Missing placeholder; a
    `translated` field as a mapping of the letter's languages to each of those (`fields.findings["cy"]`).
    `words`: each language's words (core.templates), for what a placeholder says in it."""
    languages = letter.in_languages(assessment)

    def said(language: str) -> str:
        return str((words or {}).get(language, {}).get("to_be_written", ""))

    return {
        spec.name: {language: _shown(spec, _in(letter.value(spec.name), language), said(language)) for language in languages}
        if spec.translated
        else _shown(spec, letter.value(spec.name), said(languages[0]))
        for spec in assessment.fields
    }


def _in(value: Any, language: str) -> Any:
    """A `translated` field's value in one language (None when not written in it)."""
    return value.get(language) if isinstance(value, Mapping) else None


def _shown(spec: FieldSpec, value: Any, to_be_written: str = "") -> Any:
    """One field's value as templates print it; a `list` field's as a list of its items, each a mapping of its sub-fields'."""
    if value is None:
        value = spec.default
    if value is None:
        return [] if spec.type == "list" else Missing(spec, to_be_written)
    if spec.type == "markdown":
        return Markup(f"<p>{escape(value)}</p>") if isinstance(value, Placeholder) else findings.convert(value).html
    if spec.type == "list":
        return [{sub.name: _shown(sub, item.get(sub.name), to_be_written) for sub in spec.items} for item in value]
    return value


def letter_reference(assessment: Assessment, letter: Letter) -> str:
    """The letter's reference, from its assessment's `reference:` pattern; '' when it has none."""
    return (
        fill(assessment.reference, {"id": letter.id or letter.recipient.slug, "assessment": assessment.slug})
        if assessment.reference
        else ""
    )


def letter_context(
    assessment: Assessment, letter: Letter, source: str, state: str | None = None, words: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Everything a letter template may use; YAML values arrive as data, never as markup.

    `state`: the letter's state as core.state decides it (draft, approved, changed), which the
    letter shows; its file's status by default. `words`: each language's words (`Templates.words`).
    """
    return {
        "assessment": assessment,
        "recipient": letter.recipient,
        "force": letter.recipient,  # the name the first series' templates use
        # The approval and issue records are about the letter, not in it: the text approved is the text issued.
        "letter": dataclasses.replace(letter, approved=None, issued=None),
        "date": letter.dated(assessment),
        "language": letter.in_languages(assessment)[0],
        # The letter's languages, its own first: a `translated` field's value is a mapping of them.
        "languages": list(letter.in_languages(assessment)),
        "fields": field_values(assessment, letter, words),
        "outcome": assessment.category(letter.outcome),
        "signatory": assessment.signatories.get(letter.signatory or assessment.signatory),
        "addressees": letter.addressees,
        "salutation": letter.salutation,
        "copied_to": letter.copied_to,
        "reference": letter_reference(assessment, letter),
        "source": source,
        "state": str(state or letter.status),
    }


def render_letter(templates: Templates, assessment: Assessment, letter: Letter, source: str, state: str | None = None) -> str:
    """The letter as one standalone HTML document; LetterError, placed in the template, on an error inside it."""
    return templates.render(assessment.template, letter_context(assessment, letter, source, state, templates.words))
