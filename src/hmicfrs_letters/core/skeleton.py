"""Letters as the wording lock sees them: every varying part a `{placeholder}` naming it.

A *neutral* letter (`neutral_letter`) holds every recipient's detail and every declared field as
a placeholder: its text is the fixed wording that workflow.wording locks. A letter's *skeleton*
(`skeleton_letter`) is the same, but with the template's choices that letter makes kept (its
outcome, its `choice` fields' values, which fields it leaves unwritten): `letters diff` compares
skeletons, and `replaced_passages` finds the standard passages a letter's own text replaces.
"""

from __future__ import annotations

import dataclasses
import re
import weakref
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from hmicfrs_letters.core.errors import LetterError
from hmicfrs_letters.core.models import APPROVED, Assessment, FieldSpec, Letter, Recipient
from hmicfrs_letters.core.render import Placeholder, render_letter
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.text import letter_passages


class _NeutralRecipient(Recipient):
    """A recipient whose every detail is a placeholder naming it: `{recipient.chief_officer_title}`."""

    def __getitem__(self, key: str) -> Placeholder:
        return Placeholder(f"{{recipient.{key}}}")


class _NeutralDate(Placeholder):
    """The date of a series whose letters each give their own: `{date}`, as a template prints or writes it."""

    def isoformat(self) -> str:
        return str(self)


def _neutral(spec: FieldSpec) -> Any:
    """A field's value held neutral: `{name}`; a `list` field's, one item whose sub-fields are `{name.sub}`;
    a `translated` field's, `{name.cy}` in each language the letter is in."""
    if spec.type == "list":
        return ({sub.name: Placeholder(f"{{{spec.name}.{sub.name}}}") for sub in spec.items},)
    if spec.translated:
        return _NeutralTranslations(spec.name)
    return Placeholder(f"{{{spec.name}}}")


class _NeutralTranslations(Mapping[str, Placeholder]):
    """A `translated` field held neutral: in any language asked for, `{findings.cy}` (core.render asks for the letter's)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getitem__(self, language: str) -> Placeholder:
        return Placeholder(f"{{{self.name}.{language}}}")

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def _neutral_recipient() -> Recipient:
    return _NeutralRecipient(Placeholder("{recipient.slug}"), Placeholder("{recipient.name}"))


def neutral_letter(assessment: Assessment) -> Letter:
    """A letter whose every varying part is a `{placeholder}` naming it: the recipient's details and each
    declared field. Per-letter addressees, salutation, signatory and copies are left out, so the
    template's own wording for them is what the lock holds."""
    return Letter(
        recipient=_neutral_recipient(),
        status=APPROVED,
        outcome=assessment.categories[0].key if assessment.categories else "",
        values={spec.name: _neutral(spec) for spec in assessment.fields},
        date=None if assessment.date else _NeutralDate("{date}"),  # type: ignore[arg-type]
    )


class HeldChoice(Placeholder):
    """A choice field's value that prints as `{name}` but is its value to the template's tests
    (`{% if fields.word == "brigade" %}`): the passages it chooses between are fixed wording, the
    word it prints is the letter's."""

    value: str

    def __new__(cls, name: str, value: str) -> HeldChoice:
        held = super().__new__(cls, f"{{{name}}}")
        held.value = value
        return held

    def __eq__(self, other: object) -> bool:
        return self.value == other

    def __ne__(self, other: object) -> bool:
        return self.value != other

    def __hash__(self) -> int:
        return hash(self.value)


def skeleton_values(assessment: Assessment, values: Mapping[str, Any]) -> dict[str, Any]:
    """A letter's field values as its skeleton holds them: a choice's value kept (HeldChoice), a list's
    number of items kept, every other written field its `{placeholder}`; an unwritten field left out."""
    return {
        spec.name: HeldChoice(spec.name, value)
        if spec.type == "choice"
        else _neutral(spec) * len(value)
        if spec.type == "list"
        else _neutral(spec)
        for spec in assessment.fields
        if (value := spec.default if values.get(spec.name) is None else values.get(spec.name)) is not None
    }


def skeleton_letter(assessment: Assessment, letter: Letter) -> Letter:
    """This letter as the lock sees a letter, its recipient, date and written fields `{placeholders}`,
    but with the template's choices it makes kept: its outcome, its `choice` fields' values, and
    which fields it leaves unwritten. Two letters whose skeletons agree differ in no fixed word."""
    return Letter(
        recipient=_neutral_recipient(),
        status=APPROVED,
        outcome=letter.outcome,
        values=skeleton_values(assessment, letter.values),
        date=_NeutralDate("{date}"),  # type: ignore[arg-type]
        language=letter.language,
        languages=letter.languages,
    )


# --- the standard passages a letter replaces with its own text ------------------------------------------

_PLACEHOLDER = re.compile(r"\{[a-z][A-Za-z0-9_.-]*\}")  # `{strengths.en-GB}`: a translated field's, in a language
# How many words of a replaced passage a message quotes.
QUOTED_WORDS = 12
# Skeletons' replaced passages remembered per Templates (one Templates is one version of the templates),
# by the skeleton's choices: letters alike in them replace alike.
_REMEMBERED: weakref.WeakKeyDictionary[Templates, dict[Any, Any]] = weakref.WeakKeyDictionary()
_MOST_REMEMBERED = 512


def _written(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != ()


def _fixed_words(text: str, spec: FieldSpec) -> list[str]:
    """A passage's words but its placeholders and the field's own placeholder mark (`[Title]`)."""
    return _PLACEHOLDER.sub(" ", text.replace(f"[{spec.title}]", " ")).split()


def _within(words: list[str], other: list[str]) -> bool:
    """Whether these words come in this order in the other passage's words."""
    rest = iter(other)
    return all(word in rest for word in words)


def _skeleton_texts(templates: Templates, assessment: Assessment, letter: Letter, values: Mapping[str, Any]) -> list[str]:
    html = render_letter(templates, assessment, dataclasses.replace(skeleton_letter(assessment, letter), values=values), "{source}")
    return [p.text for p in letter_passages(html) if "placeholder" not in p.classes]


def replaced_passages(templates: Templates, assessment: Assessment, letter: Letter) -> list[tuple[FieldSpec, str]]:
    """The standard passages this letter replaces with its own text, each with the optional field that
    replaces it: passages of the template's fixed wording that its skeleton prints when the field is
    left unwritten, and not when written. A passage whose fixed words a passage of the letter still
    prints in order (the field only fills in a placeholder within it) is not replaced. The passages
    are the skeleton's, their varying parts `{placeholders}`; nothing when a skeleton cannot be rendered."""
    written = [
        spec
        for spec in assessment.fields
        if not spec.required and spec.type != "choice" and spec.default is None and _written(letter.value(spec.name))
    ]
    if not written:
        return []
    # What the letter writes; an empty value is as good as none, to the template's `{% if %}` as here.
    values = skeleton_values(assessment, {name: value for name, value in letter.values.items() if _written(value)})
    key = (
        id(assessment),
        letter.outcome,
        tuple((name, getattr(v, "value", len(v) if isinstance(v, tuple) else "")) for name, v in values.items()),
    )
    remembered = _REMEMBERED.setdefault(templates, {})
    found = remembered.get(key)
    if found is not None and found[0] is assessment:
        return found[1]
    replaced: list[tuple[FieldSpec, str]] = []
    try:
        printed = _skeleton_texts(templates, assessment, letter, values)
        for spec in written:
            without = _skeleton_texts(templates, assessment, letter, {k: v for k, v in values.items() if k != spec.name})
            left = Counter(printed)
            fixed = [_fixed_words(text, spec) for text in printed]
            for text in without:
                if left[text] > 0:
                    left[text] -= 1
                    continue
                words = _fixed_words(text, spec)
                if words and not any(_within(words, other) for other in fixed):
                    replaced.append((spec, text))
    except LetterError:
        replaced = []
    if len(remembered) >= _MOST_REMEMBERED:
        remembered.clear()
    remembered[key] = (assessment, replaced)
    return replaced


def quoted(passage: str, recipient: Recipient) -> str:
    """A replaced passage as a message quotes it: its first words, the recipient's details filled in."""

    def detail(match: re.Match[str]) -> str:
        name = match.group(0)[1:-1]
        if name.startswith("recipient."):
            try:
                value = recipient[name.removeprefix("recipient.")]
            except (KeyError, TypeError):
                return match.group(0)
            return value if isinstance(value, str) else ", ".join(value)
        return match.group(0)

    words = _PLACEHOLDER.sub(detail, passage).split()
    return " ".join(words[:QUOTED_WORDS]) + ("…" if len(words) > QUOTED_WORDS else "")
