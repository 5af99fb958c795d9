"""Typed records: recipient lists, assessments (series of letters) and letters, as the rest of the engine sees them."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

PENDING = "pending"
# Slugs name files: keep them to lower-case words so no slug can reach outside its folder.
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Field names are what templates read (`fields.inspection_dates`): identifiers in lower case.
FIELD_NAME = re.compile(r"[a-z][a-z0-9_]*")
# A Markdown field is paragraphs: far longer is a mistake, and would make a letter slow to lay out.
MAX_FIELD_CHARS = 20_000
DRAFT, APPROVED = "draft", "approved"
STATUSES = (DRAFT, APPROVED)
# What a letter's status shows as where its file cannot be read, or (in a build) it failed.
INVALID, FAILED = "invalid", "failed"
FIELD_TYPES = ("text", "markdown", "date", "choice", "list")


@dataclass(frozen=True)
class Recipient:
    """One recipient of a list: its slug and name, and whatever else its list says of it.

    Templates read any key as `recipient.<key>` (Jinja looks the item up when there is no such
    attribute); a key the list does not give is an error in the template, not an empty string.
    """

    slug: str
    name: str
    details: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        if key in ("slug", "name"):
            return getattr(self, key)
        return self.details[key]

    def __contains__(self, key: object) -> bool:
        return key in ("slug", "name") or key in self.details

    def addresses(self, key: str) -> tuple[str, ...]:
        """Its e-mail addresses under this key (`email` or `cc`), as a tuple; none when its list gives none."""
        value = self.details.get(key, ())
        return (value,) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class RecipientList:
    """A list of recipients (data/recipients/<name>.yaml), and what to call one and many of them."""

    name: str
    recipients: Mapping[str, Recipient]
    singular: str = "recipient"
    plural: str = "recipients"

    def __iter__(self) -> Iterator[Recipient]:
        return iter(self.recipients.values())

    def __len__(self) -> int:
        return len(self.recipients)


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    standard_findings: str = ""


@dataclass(frozen=True)
class Sender:
    """The letterhead: the organisation, and whichever of its address and numbers are given."""

    organisation: str
    address: tuple[str, ...] = ()
    email: str = ""
    direct_line: str = ""
    fax: str = ""
    logo: str = ""  # an image under templates/assets/ ("assets/crest.svg"), printed in the letterhead


@dataclass(frozen=True)
class Signatory:
    name: str
    titles: tuple[str, ...]
    signature: str = ""  # an image of the signature under templates/assets/ ("assets/signatures/roy.png")


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    phone: str


@dataclass(frozen=True)
class EmailSettings:
    """An assessment's `email:` mapping: who sends its letters, where replies go, and the subject (a
    template string of {placeholders}, rendered in a sandbox; the letter's subject when empty)."""

    sender: str = ""  # `from`: required to make the outbox
    reply_to: str = ""
    subject: str = ""


@dataclass(frozen=True)
class FieldSpec:
    """One per-letter field a series declares: its type, whether a letter must give it, and how to ask for it."""

    name: str
    type: str = "text"
    required: bool = True
    choices: tuple[str, ...] = ()
    default: Any = None
    label: str = ""
    help: str = ""
    # A `list` field: the sub-fields of each item (declared as fields are), and how many items it may have (0: no bound).
    items: tuple[FieldSpec, ...] = ()
    min_items: int = 0
    max_items: int = 0
    item_label: str = ""  # what one item is called ("Cause of concern"); the form guesses it from the label when not given
    # `translated: true`: a letter in several languages gives it in each, as a mapping (`{cy: …, en-GB: …}`).
    translated: bool = False

    @property
    def title(self) -> str:
        """What people call the field: its label, or its name in words."""
        return self.label or self.name.replace("_", " ").capitalize()


# The standards a series' PDFs may claim (the assessment's `pdf: {standard: ...}`, WeasyPrint's
# names): tagged PDF/UA-1 alone, or PDF/A-2a or PDF/A-3a for the archive, with PDF/UA-1 beside it.
PDF_UA = "pdf/ua-1"
PDF_STANDARDS = (PDF_UA, "pdf/a-2a", "pdf/a-3a")
FINAL_PDF_STANDARD = "pdf/a-2a"  # the letters of `letters build --final`, when the series chooses none


@dataclass(frozen=True)
class Assessment:
    """A series of letters: what all its letters share."""

    slug: str
    subject: str
    date: dt.date | None  # None when every letter gives its own
    template: str
    page_limit: int
    recipients: str  # the name of its recipient list
    sender: Sender
    signatories: Mapping[str, Signatory]
    signatory: str  # the key of the signatory of a letter that names none
    contact: Contact | None = None
    categories: tuple[Category, ...] = ()
    fields: tuple[FieldSpec, ...] = ()
    # SHA-256 of the approved fixed wording (see workflow/wording.py); empty until first approved.
    wording_sha256: str = ""
    # SHA-256 of the approved wording of its letters' other paths (a choice's other passages, an optional
    # field's standard passage, an outcome's), beside the base wording; empty until first approved.
    variants_sha256: str = ""
    # A letter to every recipient of the list: a recipient without one is a warning.
    every_recipient: bool = False
    extends: str = ""  # the assessment whose keys it takes (core.validate.assessment_document)
    language: str = "en-GB"  # its letters' language: their `lang`, and the words of their dates and page numbers
    # `languages: [cy, en-GB]`: its letters are in each, the first their own language (their `language`).
    languages: tuple[str, ...] = ()
    email: EmailSettings = field(default_factory=EmailSettings)
    # Each letter's reference, as a pattern of {placeholders} (`HMICFRS/APSP-2017/{id}`); none when empty.
    reference: str = ""
    pdf_standard: str = ""  # its `pdf: {standard: ...}`: empty when it chooses none
    # `approval: {second_person: true}`: a letter's approver must not be who last saved it (its `edited:` record).
    second_person: bool = False

    def standard(self, final: bool = False) -> str:
        """The standard its PDFs claim: its own choice, else PDF/A-2a for a final build and PDF/UA-1 for any other."""
        return self.pdf_standard or (FINAL_PDF_STANDARD if final else PDF_UA)

    def category(self, key: str) -> Category | None:
        return next((c for c in self.categories if c.key == key), None)

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def graded(self) -> bool:
        """Whether its letters carry an outcome (the series has categories)."""
        return bool(self.categories)


@dataclass(frozen=True)
class Addressee:
    name: str = ""
    role: str = ""
    organisation: str = ""

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(line for line in (self.name, self.role, self.organisation) if line)


@dataclass(frozen=True)
class ApprovalRecord:
    """Who approved a letter, on which day, and the fingerprint of what they approved (core.approval)."""

    by: str
    on: dt.date
    sha256: str


@dataclass(frozen=True)
class EditRecord:
    """Who last saved a letter from the preview, and on which day (its `edited:` record): about the letter, not in it."""

    by: str
    on: dt.date


@dataclass(frozen=True)
class IssueRecord:
    """When and to whom a letter was sent, and what: its message's Message-ID and its PDF's SHA-256
    (written by `letters send` once the server accepted it, or by `letters mark-issued`)."""

    on: dt.date
    by: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    message_id: str
    sha256: str

    def as_json(self) -> dict[str, Any]:
        """The record as `list --json` and the manifest give it."""
        return {
            "on": self.on.isoformat(),
            "by": self.by,
            "to": list(self.to),
            "cc": list(self.cc),
            "message_id": self.message_id,
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class Letter:
    """One letter of one assessment, to one recipient (who may have others): the parts that vary."""

    recipient: Recipient
    status: str
    outcome: str = ""  # a category key, or pending; empty where the series has no categories
    values: Mapping[str, Any] = field(default_factory=dict)  # the declared fields the file gives
    addressees: tuple[Addressee, ...] = ()
    salutation: str = ""
    signatory: str = ""  # a key of the assessment's signatories; empty for its default
    copied_to: tuple[str, ...] = ()
    approved: ApprovalRecord | None = None  # written by `letters approve`; not part of the letter's text
    id: str = ""  # the letter's file name; its recipient's slug by default
    date: dt.date | None = None  # the letter's own date, over the assessment's
    language: str = ""  # the letter's own language, over the assessment's
    languages: tuple[str, ...] = ()  # the letter's own languages, over the assessment's (and over its `language`)
    # Its own addresses, when they differ from its recipient's (neither is part of the letter's text).
    email: tuple[str, ...] | None = None
    cc: tuple[str, ...] | None = None
    issued: IssueRecord | None = None  # written by `letters send` and `letters mark-issued`
    edited: EditRecord | None = None  # written by each save from the preview; not part of the letter's text

    @property
    def to(self) -> tuple[str, ...]:
        """Where its e-mail goes: its own `email`, or its recipient's."""
        return self.email if self.email is not None else self.recipient.addresses("email")

    @property
    def copies(self) -> tuple[str, ...]:
        """Who is copied in on its e-mail: its own `cc`, or its recipient's."""
        return self.cc if self.cc is not None else self.recipient.addresses("cc")

    @property
    def is_draft(self) -> bool:
        return self.status != APPROVED

    @property
    def force(self) -> Recipient:
        """The recipient, by the name the first series used."""
        return self.recipient

    def dated(self, assessment: Assessment) -> dt.date | None:
        """The letter's date: its own, or the assessment's."""
        return self.date or assessment.date

    def in_languages(self, assessment: Assessment) -> tuple[str, ...]:
        """The letter's languages, its own language first: its own `languages` or `language`, else its assessment's."""
        if self.languages:
            return self.languages
        if self.language:
            return (self.language,)
        return assessment.languages or (assessment.language,)

    def value(self, name: str) -> Any:
        """A field's value as the file gives it, or None when it does not (a `translated` field's: a mapping by language)."""
        return self.values.get(name)

    def text(self, name: str) -> str:
        """A text or Markdown field's value, or '' when the file does not give it (a `translated` field's: each language's, a paragraph apart)."""
        return "\n\n".join(text for _, text in self.texts(name))

    def texts(self, name: str) -> list[tuple[str, str]]:
        """A text or Markdown field's value as (language, text): one, with no language, for a field that is not
        translated; one a language the file gives for a `translated` one; none when the file gives none."""
        value = self.values.get(name)
        if isinstance(value, str):
            return [("", value)]
        if isinstance(value, Mapping):
            return [(str(language), text) for language, text in value.items() if isinstance(text, str)]
        return []


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the nearest choice, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
