"""The wording lock: the approved fixed wording of an assessment's letters, and its fingerprint.

The fixed wording is the letter's text with the parts that vary between letters held neutral:
the template is rendered for a neutral letter whose recipient's details and declared fields are
`{placeholders}` naming them, approved (so without draft marks). Everything the templates and
the assessment file put into the letter is in it, down to the last comma; nothing a letter file
says is. Its SHA-256 is recorded in the assessment file, and the text itself beside it
(`data/assessments/<assessment>.wording.txt`) so that a change can be shown word by word.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hmicfrs_letters.core.errors import LetterError, Problem, Severity
from hmicfrs_letters.core.files import write_atomic, writing
from hmicfrs_letters.core.load import MAX_FILE_BYTES, load_yaml
from hmicfrs_letters.core.models import APPROVED, Assessment, FieldSpec, Letter, Recipient
from hmicfrs_letters.core.reading import read_project_text
from hmicfrs_letters.core.render import Placeholder, render_letter
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.text import letter_passages
from hmicfrs_letters.core.validate import Batch
from hmicfrs_letters.workflow.yamledit import edit_yaml

KEY = "wording_sha256"
_HEX = re.compile(r"[0-9a-f]{64}")


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


def neutral_letter(assessment: Assessment) -> Letter:
    """A letter whose every varying part is a `{placeholder}` naming it: the recipient's details and each
    declared field. Per-letter addressees, salutation, signatory and copies are left out, so the
    template's own wording for them is what the lock holds."""
    return Letter(
        recipient=_NeutralRecipient(Placeholder("{recipient.slug}"), Placeholder("{recipient.name}")),
        status=APPROVED,
        outcome=assessment.categories[0].key if assessment.categories else "",
        values={spec.name: _neutral(spec) for spec in assessment.fields},
        date=None if assessment.date else _NeutralDate("{date}"),  # type: ignore[arg-type]
    )


class _HeldChoice(Placeholder):
    """A choice field's value that prints as `{name}` but is its value to the template's tests
    (`{% if fields.word == "brigade" %}`): the passages it chooses between are fixed wording, the
    word it prints is the letter's."""

    value: str

    def __new__(cls, name: str, value: str) -> _HeldChoice:
        held = super().__new__(cls, f"{{{name}}}")
        held.value = value
        return held

    def __eq__(self, other: object) -> bool:
        return self.value == other

    def __ne__(self, other: object) -> bool:
        return self.value != other

    def __hash__(self) -> int:
        return hash(self.value)


def skeleton_letter(assessment: Assessment, letter: Letter) -> Letter:
    """This letter as the lock sees a letter, its recipient, date and written fields `{placeholders}`,
    but with the template's choices it makes kept: its outcome, its `choice` fields' values, and
    which fields it leaves unwritten. Two letters whose skeletons agree differ in no fixed word."""
    values = {
        spec.name: _HeldChoice(spec.name, value)
        if spec.type == "choice"
        else _neutral(spec) * len(value)
        if spec.type == "list"
        else _neutral(spec)
        for spec in assessment.fields
        if (value := spec.default if letter.value(spec.name) is None else letter.value(spec.name)) is not None
    }
    return Letter(
        recipient=_NeutralRecipient(Placeholder("{recipient.slug}"), Placeholder("{recipient.name}")),
        status=APPROVED,
        outcome=letter.outcome,
        values=values,
        date=_NeutralDate("{date}"),  # type: ignore[arg-type]
    )


def fixed_wording(templates: Templates, assessment: Assessment) -> str:
    """The letter's fixed wording: one passage a line, the varying parts as placeholders; LetterError
    if the templates cannot render it."""
    html = render_letter(templates, assessment, neutral_letter(assessment), "{source}")
    return "".join(passage.text + "\n" for passage in letter_passages(html))


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def wording_problems(batch: Batch, templates: Templates | None = None) -> list[Problem]:
    """Whether the fixed wording is still the approved one: an error with a word diff when not."""
    project, assessment = batch.project, batch.assessment
    shown = project.shown(project.assessment_file(assessment.slug))
    line = load_yaml(project.assessment_file(assessment.slug), shown, project.data_dir).line(KEY)
    if not assessment.wording_sha256:
        return [
            Problem(
                shown,
                f"no approved wording recorded ('{KEY}'); run `letters approve-wording` once the wording is approved",
                severity=Severity.WARNING,
            )
        ]
    if not _HEX.fullmatch(assessment.wording_sha256):
        return [Problem(shown, f"'{KEY}' should be 64 lower-case hexadecimal digits; run `letters approve-wording`", line)]
    try:
        text = fixed_wording(templates or Templates(project.templates_dir), assessment)
    except LetterError as exc:
        return exc.problems
    if fingerprint(text) == assessment.wording_sha256:
        return []
    approved_path = project.wording_file(assessment.slug)
    approved, unread = None, "is missing"
    try:
        approved = read_project_text(project.data_dir, approved_path, project.shown(approved_path), MAX_FILE_BYTES)
    except LetterError as exc:
        if os.path.lexists(approved_path):  # there, but a link out of data/, a FIFO, not UTF-8…
            unread = f"cannot be read ({exc.problems[0].message})"
    if approved is None:
        detail = f"(the approved text, {project.shown(approved_path)}, {unread}: no diff to show)"
    elif fingerprint(approved) != assessment.wording_sha256:
        detail = f"({project.shown(approved_path)} does not match the fingerprint either: no diff to show)"
    else:
        detail = word_diff(approved, text)
    return [
        Problem(
            shown,
            "the letters' fixed wording differs from the approved wording (changes below); "
            "fix the templates, or run `letters approve-wording` if the change is approved",
            line,
            detail=detail,
        )
    ]


@dataclass(frozen=True)
class WordingApproval:
    fingerprint: str
    text_file: Path
    changed: bool


def approve_wording(batch: Batch) -> WordingApproval:
    """Record the templates' current fixed wording as approved: its fingerprint and its text."""
    project, assessment = batch.project, batch.assessment
    text = fixed_wording(Templates(project.templates_dir), assessment)
    digest = fingerprint(text)
    path = project.assessment_file(assessment.slug)
    text_file = project.wording_file(assessment.slug)
    with writing(project.shown(text_file), then="the wording was not approved"):
        write_atomic(text_file, text)
    changed = digest != assessment.wording_sha256
    if changed:
        with writing(project.shown(path), then=f"the wording was not approved; {project.shown(text_file)} already holds the new text"):
            edit_yaml(path, project.shown(path), project.data_dir, lambda data: _set_fingerprint(data, digest))
    return WordingApproval(digest, text_file, changed)


def _set_fingerprint(data, digest: str) -> None:
    if KEY in data:
        data[KEY] = digest
        return
    keys = list(data)
    after = next((keys.index(k) + 1 for k in ("page_limit", "template") if k in keys), len(keys))
    data.insert(after, KEY, digest)
    data.yaml_set_comment_before_after_key(
        KEY, before="SHA-256 of the approved fixed wording (the text is beside this file); `letters approve-wording` sets it."
    )


def word_diff(old: str, new: str) -> str:
    """The lines that changed, numbered as in the approved text, removed words as [-old-] and added ones as {+new+}."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    shown = []
    for tag, a1, a2, b1, b2 in difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_opcodes():
        if tag != "equal":
            shown += _changed_block(old_lines[a1:a2], new_lines[b1:b2], first_line=a1 + 1)
    return "\n".join(shown)


def _changed_block(old: list[str], new: list[str], first_line: int) -> list[str]:
    """A run of changed lines: each new line paired, in order, with the most alike old line left, if alike enough."""
    shown, i = [], 0
    for line in new:
        ratios = [difflib.SequenceMatcher(None, candidate, line).ratio() for candidate in old[i:]]
        best = max(range(len(ratios)), key=ratios.__getitem__, default=None)
        if best is None or ratios[best] < 0.5:
            place = f"after line {first_line + i - 1}" if first_line + i > 1 else "at the start"
            shown.append(f"  {place}: {{+{line}+}}")
            continue
        shown += [f"  line {first_line + k}: [-{old[k]}-]" for k in range(i, i + best)]
        shown.append(f"  line {first_line + i + best}: {_word_changes(old[i + best], line)}")
        i += best + 1
    shown += [f"  line {first_line + k}: [-{old[k]}-]" for k in range(i, len(old))]
    return shown


def _word_changes(old: str, new: str, context: int = 6) -> str:
    """The changed words of one line, with a few unchanged words either side and `…` for the rest."""
    old_words, new_words = old.split(), new.split()
    tokens: list[tuple[str, bool]] = []  # (word or change mark, is a change)
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old_words, new_words, autojunk=False).get_opcodes():
        if op == "equal":
            tokens += [(word, False) for word in old_words[i1:i2]]
            continue
        if i2 > i1:
            tokens.append(("[-" + " ".join(old_words[i1:i2]) + "-]", True))
        if j2 > j1:
            tokens.append(("{+" + " ".join(new_words[j1:j2]) + "+}", True))
    changes = [i for i, (_, changed) in enumerate(tokens) if changed]
    keep = {i for c in changes for i in range(c - context, c + context + 1)}
    words, skipped = [], False
    for i, (word, _) in enumerate(tokens):
        if i in keep:
            words.append(word)
            skipped = False
        elif not skipped:
            words.append("…")
            skipped = True
    return " ".join(words)
