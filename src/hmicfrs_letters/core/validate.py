"""Step 2, validate: every file of one assessment read into records, with every problem collected."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hmicfrs_letters.core import findings
from hmicfrs_letters.core.chars import UNEXTRACTABLE, unextractable_message
from hmicfrs_letters.core.errors import LetterError, Problem, Said, Severity
from hmicfrs_letters.core.load import Document, load_bytes, load_yaml
from hmicfrs_letters.core.models import (
    INVALID,
    MAX_FIELD_CHARS,
    PENDING,
    SLUG,
    Assessment,
    FieldSpec,
    Letter,
    Recipient,
    RecipientList,
    did_you_mean,
)
from hmicfrs_letters.core.project import Project
from hmicfrs_letters.core.schema import read_assessment, read_letter, read_recipients


@dataclass
class LetterInput:
    """One letter file: the letter when it could be read, and its problems. `slug` is the letter's id,
    its file's name: its recipient's slug unless the file names another with `recipient:`."""

    slug: str
    source: Path
    shown: str
    letter: Letter | None
    problems: list[Problem] = field(default_factory=list)
    recipient: Recipient | None = None  # known from its list even when the file cannot be read (by the file's name)
    doc: Document | None = None  # the file as loaded, for the lines of its keys

    @property
    def id(self) -> str:
        return self.slug

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def status(self) -> str:
        """draft, approved, or invalid when the file could not be read."""
        return self.letter.status if self.letter else INVALID

    @property
    def name(self) -> str:
        """The recipient's name, or the file's when it could not be read."""
        return self.recipient.name if self.recipient else self.slug


@dataclass
class Batch:
    """One assessment's shared records and all its letters."""

    project: Project
    assessment: Assessment
    recipients: RecipientList
    letters: list[LetterInput]
    problems: list[Problem] = field(default_factory=list)

    @property
    def date(self) -> dt.date | None:
        """The date all its letters share (their own, or the assessment's), or None when their dates differ."""
        dates = {item.letter.dated(self.assessment) for item in self.letters if item.letter}
        if not dates:
            return self.assessment.date
        return dates.pop() if len(dates) == 1 else None

    def names(self, by_recipient: bool = True) -> set[str]:
        """What selects letters: each letter's id and (by_recipient) its recipient's slug."""
        recipients = {item.recipient.slug for item in self.letters if item.recipient} if by_recipient else set()
        return {item.slug for item in self.letters} | recipients

    def select(self, slugs: Sequence[str], by_recipient: bool = True) -> list[LetterInput]:
        """The letters named by id, and (by_recipient) every letter to a recipient named by slug (all
        when none are named), in the order named; a name that is neither is an error."""
        if not slugs:
            return self.letters
        known = self.names(by_recipient)
        unknown = [s for s in slugs if s not in known]
        if unknown:
            folder = self.project.shown(self.project.letters_dir(self.assessment.slug))
            noun = self.recipients.singular
            raise LetterError([Problem(folder, f"no letter for {noun} {s!a}{did_you_mean(s, known)}") for s in unknown])
        chosen = [
            item
            for s in slugs
            for item in self.letters
            if s == item.slug or (by_recipient and item.recipient is not None and s == item.recipient.slug)
        ]
        return list({id(item): item for item in chosen}.values())


def load_batch(project: Project, assessment: str | None = None) -> Batch:
    """Read an assessment and all its letters.

    Problems in the shared files raise LetterError, since no letter can be built without them;
    problems in one recipient's file stay with that letter.
    """
    slug = project.resolve_assessment(assessment)
    problems: list[Problem] = []
    if project.old_forces_file.exists():
        problems.append(
            Problem(
                project.shown(project.old_forces_file),
                "recipient lists have moved to data/recipients/<list>.yaml: move this file to data/recipients/police-forces.yaml "
                "and name the list in each assessment file (recipients: police-forces)",
            )
        )
    assessment_doc = assessment_document(project, slug, problems)
    if assessment_doc:
        problems += assessment_doc.problems
    record = read_assessment(slug, assessment_doc, problems) if assessment_doc else None
    recipients = _recipients(project, record, assessment_doc, problems) if record else None
    if record is None or recipients is None or any(p.is_error for p in problems):
        raise LetterError(problems)

    folder = project.letters_dir(slug)
    files = {p.stem: p for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}
    letters = [_read_letter(project, record, recipients, name, path) for name, path in files.items()]
    if record.every_recipient:  # a series is the letters it has, unless it says it writes to every recipient
        written = {item.recipient.slug for item in letters if item.recipient} | files.keys()
        for missing in sorted(recipients.recipients.keys() - written):
            problems.append(
                Problem(
                    project.shown(folder),
                    f"no letter file for {recipients.singular} '{missing}' ({missing}.yaml)",
                    severity=Severity.WARNING,
                )
            )
    return Batch(project, record, recipients, letters, problems)


# An assessment's keys that `extends` does not take from the one it extends: its own wording's fingerprints.
NOT_EXTENDED = ("wording_sha256", "variants_sha256")
MAX_EXTENDS = 5


def assessment_document(project: Project, slug: str, problems: list[Problem], seen: tuple[str, ...] = ()) -> Document | None:
    """An assessment file as loaded, with the keys of the one it `extends:` that it does not give itself
    (`fields` merged by name: a field it declares replaces the one of the same name). A key it takes
    is placed at its own `extends:` line."""
    doc = _load(project, project.assessment_file(slug), problems)
    if doc is None or not isinstance(doc.data, dict) or "extends" not in doc.data:
        return doc
    base = doc.data["extends"]
    known = project.assessments()
    if not isinstance(base, str) or base not in known or base == slug or base in seen or len(seen) >= MAX_EXTENDS:
        why = "itself" if base in (slug, *seen) else "too long a chain" if len(seen) >= MAX_EXTENDS else "no such assessment"
        shown = base if isinstance(base, str) else str(base)
        problems.append(
            doc.problem(f"'extends' is {shown!a} ({why}){did_you_mean(shown, known)}; it names another assessment's file", "extends")
        )
        return doc
    parent = assessment_document(project, base, problems, (*seen, slug))
    if parent is None or not isinstance(parent.data, dict):
        return doc
    data = {key: value for key, value in parent.data.items() if key not in NOT_EXTENDED}
    lines = {path: doc.line("extends") or 1 for path in parent.lines if path and path[0] not in doc.data}
    own = {key: value for key, value in doc.data.items() if key != "extends"}
    if isinstance(data.get("fields"), dict) and isinstance(own.get("fields"), dict):
        own["fields"] = {**data["fields"], **own["fields"]}
    data.update(own)
    data["extends"] = base
    return Document(doc.path, data, {**lines, **doc.lines}, doc.folded, [*doc.problems, *parent.problems])


def _recipients(project: Project, assessment: Assessment, doc: Document, problems: list[Problem]) -> RecipientList | None:
    """The recipient list the assessment names."""
    if not assessment.recipients:
        return None
    known = project.recipient_lists()
    if assessment.recipients not in known:
        hint = did_you_mean(assessment.recipients, known)
        problems.append(
            doc.problem(
                f"no recipient list '{assessment.recipients}' in data/recipients/{hint}; known: {', '.join(known) or 'none'}", "recipients"
            )
        )
        return None
    path = project.recipients_file(assessment.recipients)
    list_doc = _load(project, path, problems)
    if list_doc:
        problems += list_doc.problems
    return read_recipients(assessment.recipients, list_doc, problems) if list_doc else None


def _load(project: Project, path: Path, problems: list[Problem]) -> Document | None:
    try:
        return load_yaml(path, project.shown(path), project.data_dir)
    except LetterError as exc:
        problems.extend(exc.problems)
        return None


def read_letter_bytes(batch: Batch, slug: str, raw: bytes | None) -> LetterInput:
    """One recipient's letter as these bytes of its file give it (read once, under a lock: core.files.HeldFile);
    None for a file that is not there."""
    path = batch.project.letters_dir(batch.assessment.slug) / f"{slug}.yaml"
    return _read_letter(batch.project, batch.assessment, batch.recipients, slug, path, raw)


def _read_letter(
    project: Project, assessment: Assessment, recipients: RecipientList, slug: str, path: Path, raw: bytes | None = None
) -> LetterInput:
    item = LetterInput(slug, path, project.shown(path), None, recipient=recipients.recipients.get(slug))
    if not SLUG.fullmatch(slug):
        item.problems.append(
            # Its name shown escaped: a look-alike or invisible character must not read as a good slug.
            Problem(
                item.shown,
                f"{slug!a} is not a slug: a letter file is named by its id (its {recipients.singular}'s slug unless it says "
                "'recipient:'), in lower-case letters, digits and hyphens",
            )
        )
        return item
    if raw is None:
        doc = _load(project, path, item.problems)
    else:
        try:
            doc = load_bytes(raw, item.shown)
        except LetterError as exc:
            item.problems.extend(exc.problems)
            doc = None
    if doc is None:
        return item
    named = doc.data.get("recipient") if isinstance(doc.data, dict) else None
    where = project.shown(project.recipients_file(recipients.name))
    if named is None:
        if slug not in recipients.recipients:
            hint = did_you_mean(slug, recipients.recipients) or f"; name its {recipients.singular} with 'recipient: <slug>'"
            item.problems.append(Problem(item.shown, f"'{slug}' is not in {where}{hint}"))
            return item
        named = slug
    elif not isinstance(named, str) or named not in recipients.recipients:
        shown = named if isinstance(named, str) else str(named)
        hint = did_you_mean(shown, recipients.recipients)
        item.problems.append(doc.problem(f"'recipient' is {shown!a}, which is not in {where}{hint}", "recipient"))
        return item
    item.recipient = recipients.recipients[named]
    item.doc = doc
    letter = read_letter(item.recipient, assessment, doc, item.problems, slug)
    if not item.errors:
        item.letter = letter
        item.problems.extend(check_letter(letter, assessment, doc))
    # After the letter is kept: it renders (the preview shows it), but will not build.
    item.problems.extend(doc.problems)
    return item


def approval_gaps(letter: Letter, assessment: Assessment) -> list[tuple[str, Said]]:
    """What keeps a letter's content from being approved, as (the key of its file, the reason; its `plain` for the letter page).

    The one set of these rules: `letters check` reports them for an approved letter, `letters
    approve` refuses with them, and a final build therefore finds none in what it issues.
    """
    gaps = []
    if letter.outcome == PENDING:
        technical = f"the outcome is pending; set 'outcome' to one of: {', '.join(c.key for c in assessment.categories)}"
        gaps.append(("outcome", Said(technical, "Choose the outcome: the letter cannot be approved while it is pending.", "outcome")))
    for spec in assessment.fields:
        if spec.required and spec.default is None and (unwritten := _unwritten(letter, assessment, spec)) is not None:
            gaps.append(
                (spec.name, Said(f"'{spec.name}' is not written{unwritten}", f"Write the {_called(spec.title)}{unwritten}.", spec.name))
            )
    for key, name, called in _unwritten_items(letter, assessment):
        gaps.append((key, Said(f"'{name}' is not written", f"Write the {called}.", key)))
    gaps += placeholder_gaps(letter, assessment)
    return gaps


def _unwritten(letter: Letter, assessment: Assessment, spec: FieldSpec) -> str | None:
    """None when the letter gives the field; else '', or for a `translated` field written in some of the
    letter's languages only, ' in <the others>'."""
    value = letter.value(spec.name)
    if value is None:
        return ""
    if not spec.translated:
        return None
    missing = [language for language in letter.in_languages(assessment) if language not in value]
    return f" in {', '.join(missing)}" if missing else None


def placeholder_gaps(letter: Letter, assessment: Assessment) -> list[tuple[str, Said]]:
    """The approval rule on placeholders left in a letter's text ('[date]', 'TODO'): (field, why) for each field that has one."""
    gaps = []
    for key, name, called, text in _texts(letter, assessment):
        if marks := findings.placeholders(text):
            quoted = ", ".join(repr(m) for m in marks)
            said = f"Replace {', '.join(f'“{m}”' for m in marks)} in the {called} with what it stands for."
            gaps.append((key, Said(f"'{name}' holds a placeholder: {quoted}", said, key)))
    return gaps


def _texts(letter: Letter, assessment: Assessment) -> list[tuple[str, str, str, str]]:
    """Each text or Markdown field the letter gives, and each such sub-field of a list's items, as (its key: the field's
    name, or <list>-<n>-<sub> for an item's (n from 1), as the letter page names its control; its place in the file, as
    messages name it; what people call it; its text)."""
    found = []
    for spec in assessment.fields:
        if spec.type in ("text", "markdown"):
            found.append((spec.name, spec.name, _called(spec.title), letter.text(spec.name)))
        elif spec.type == "list":
            for n, item in enumerate(letter.value(spec.name) or (), 1):
                for sub in spec.items:
                    if sub.type in ("text", "markdown") and isinstance(item.get(sub.name), str):
                        found.append(
                            (f"{spec.name}-{n}-{sub.name}", f"{spec.name}/{n}/{sub.name}", _item_called(spec, n, sub), item[sub.name])
                        )
    return found


def _item_called(spec: FieldSpec, n: int, sub: FieldSpec) -> str:
    """What people call one sub-field of a list's item (n from 1): "the recommendations in item 2 of the causes of concern"."""
    return f"{_ARTICLE.sub('', _called(sub.title))} in item {n} of the {_called(spec.title)}"


def _unwritten_items(letter: Letter, assessment: Assessment) -> list[tuple[str, str, str]]:
    """Each required sub-field that an item of a list leaves out or blank (the letter prints its placeholder):
    (its key, <list>-<n>-<sub>; its place in the file, <list>/<n>/<sub>; what people call it)."""
    found = []
    for spec in assessment.fields:
        if spec.type != "list":
            continue
        for n, item in enumerate(letter.value(spec.name) or (), 1):
            for sub in spec.items:
                if sub.required and sub.default is None and not str(item.get(sub.name) or "").strip():
                    found.append((f"{spec.name}-{n}-{sub.name}", f"{spec.name}/{n}/{sub.name}", _item_called(spec, n, sub)))
    return found


def _called(title: str) -> str:
    """A field's label as it reads inside a sentence: "Findings" -> "findings", "Chief officer's name" kept but lower-cased first."""
    return title[:1].lower() + title[1:] if title[1:2].islower() or len(title) == 1 else title


def check_letter(letter: Letter, assessment: Assessment, doc: Document) -> list[Problem]:
    """What is wrong with a well-formed letter, and what is merely unfinished (warnings)."""
    problems = []
    for spec in assessment.fields:
        text = letter.text(spec.name)
        if len(text) > MAX_FIELD_CHARS:
            said = f"The {_called(spec.title)} is {len(text):,} characters long, over the limit of {MAX_FIELD_CHARS:,}: shorten it."
            return [doc.problem(f"'{spec.name}' is {len(text):,} characters long; the limit is {MAX_FIELD_CHARS:,}", spec.name, plain=said)]
    for key, name, called, text in _texts(letter, assessment):
        if "/" in name and len(text) > MAX_FIELD_CHARS:  # an item's sub-field (a field's own is above)
            said = f"The {called} is {len(text):,} characters long, over the limit of {MAX_FIELD_CHARS:,}: shorten it."
            return [_at(doc, key, f"'{name}' is {len(text):,} characters long; the limit is {MAX_FIELD_CHARS:,}", plain=said)]
    if not letter.is_draft:
        gaps = approval_gaps(letter, assessment)
        problems += [
            _at(
                doc, key, f"approved, but {reason}; fix it or set 'status: draft'", plain=f"{reason.plain} Or set the letter back to draft."
            )
            for key, reason in gaps
        ]
    for spec in assessment.fields:
        if spec.type == "markdown" and letter.value(spec.name) is not None:
            problems += _markdown_problems(doc, letter.text(spec.name), spec.name, (spec.name,), _called(spec.title))
        elif spec.type == "list":
            # Each item's Markdown sub-fields, checked as a field is: keyed <list>-<n>-<sub> (n from 1), as the letter page names its control.
            for n, item in enumerate(letter.value(spec.name) or (), 1):
                for sub in spec.items:
                    if sub.type == "markdown" and isinstance(item.get(sub.name), str):
                        problems += _markdown_problems(
                            doc, item[sub.name], f"{spec.name}-{n}-{sub.name}", (spec.name, n - 1, sub.name), _item_called(spec, n, sub)
                        )
    for path, line in doc.folded.items():
        name = "/".join(str(key) for key in path)
        problems.append(
            Problem(
                doc.path,
                f"'{name}' is a folded block (>), so its paragraphs and list items run together as one paragraph; "
                f"write it as a literal block ('{name}: |') to keep them",
                line,
                severity=Severity.WARNING,
                key=str(path[0]),
                plain="Its paragraphs and list items run together as one paragraph in the letter: save it from this page to keep them.",
            )
        )
    if letter.is_draft:
        problems.append(doc.problem("draft: not yet approved", "status", severity=Severity.WARNING, plain="A draft: not approved yet."))
        if letter.outcome == PENDING:
            said = "The outcome is not chosen yet: the letter shows a placeholder for it."
            problems.append(
                doc.problem("outcome pending: the letter shows a placeholder for it", "outcome", severity=Severity.WARNING, plain=said)
            )
        for spec in assessment.fields:
            if spec.required and spec.default is None and (unwritten := _unwritten(letter, assessment, spec)) is not None:
                message = f"'{spec.name}' not written yet{unwritten}: the letter shows a placeholder"
                said = f"Write the {_called(spec.title)}{unwritten}."
                problems.append(_at(doc, spec.name, message, Severity.WARNING, plain=said))
        for key, name, called in _unwritten_items(letter, assessment):
            problems.append(
                _at(doc, key, f"'{name}' not written yet: the letter shows a placeholder", Severity.WARNING, plain=f"Write the {called}.")
            )
        # Caught while drafting, by the rule `letters approve` applies, not first at approval.
        for key, reason in placeholder_gaps(letter, assessment):
            message = f"{reason}; `letters approve` refuses the letter until it is replaced"
            problems.append(_at(doc, key, message, Severity.WARNING, plain=f"{reason.plain} The letter cannot be approved until then."))
    return problems


def _markdown_problems(doc: Document, text: str, key: str, path: tuple[str | int, ...], called: str) -> list[Problem]:
    """What is wrong with one Markdown text of a letter (a field, or a sub-field of a list's item at `path`), keyed `key`."""
    problems: list[Problem] = []
    name = "/".join(str(part + 1 if isinstance(part, int) else part) for part in path)
    line = doc.line(*path)
    converted = findings.convert(text)
    if converted.too_deep:
        problems.append(
            Problem(
                doc.path,
                f"'{name}' nests quotes or lists more than {findings.MAX_NESTING} levels deep; make them flatter",
                line,
                key=key,
                plain=f"The {called} has lists or quotes inside each other more than {findings.MAX_NESTING} deep: make them flatter.",
            )
        )
    if converted.has_image:
        problems.append(Problem(doc.path, f"'{name}' may not contain images", line, key=key, plain=f"Take the image out of the {called}."))
    if converted.has_top_heading:
        problems.append(
            Problem(
                doc.path,
                f"'{name}' has a '#' heading: the subject is the letter's only one; use '##' to '####'",
                line,
                key=key,
                plain=f"The {called} has a top-level heading (one “#”): the letter's subject is its only one. "
                "Start a heading with two to four “#” instead.",
            )
        )
    if converted.has_control:
        problems.append(
            Problem(
                doc.path,
                f"'{name}' writes a control character as a character reference (&#…;); remove it",
                line,
                key=key,
                plain=f"The {called} has an invisible control character written as a code (&#…;): remove it.",
            )
        )
    for char in dict.fromkeys(UNEXTRACTABLE.findall(findings.shown_text(converted))):
        if char not in text:  # written as a character reference (&#xFB01;): loading the YAML could not see it
            problems.append(
                Problem(doc.path, unextractable_message(char), line, key=key, plain=f"The {called}: {unextractable_message(char)}.")
            )
    if converted.has_raw_html:
        problems.append(
            Problem(
                doc.path,
                f"'{name}' contains HTML tags; they are printed as typed, not as markup (use Markdown)",
                line,
                key=key,
                plain=f"The {called} has HTML tags: they print as typed. Format the text as “How to format the text” shows.",
                severity=Severity.WARNING,
            )
        )
    return problems


def _at(doc: Document, key: str, message: str, severity: Severity = Severity.ERROR, plain: str = "") -> Problem:
    """A problem at the key's line, or with no line when the file lacks the key: its first line would point at something else."""
    if item := _ITEM_KEY.fullmatch(key):  # a sub-field of a list's item: <list>-<n>-<sub>
        name, n, sub = item.groups()
        line = doc.line(name, int(n) - 1, sub) if name in doc.data else None
    else:
        line = doc.line(key) if key in doc.data else None
    return Problem(doc.path, message, line, severity=severity, key=key, plain=plain)


# What a sub-field's label may start with that "the …" replaces: "Our recommendations" -> "the recommendations in item 2 of …".
_ARTICLE = re.compile(r"^(?:the|our|your|its|their|a|an) ")
_ITEM_KEY = re.compile(r"([a-z0-9_]+)-([0-9]+)-([a-z0-9_]+)")
