"""Reading records from loaded YAML: every missing, mistyped or unknown key becomes a placed problem."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from hmicfrs_letters.core.errors import Problem
from hmicfrs_letters.core.languages import known_language
from hmicfrs_letters.core.load import Document, KeyPath
from hmicfrs_letters.core.mail import REFERENCE_NAMES, SUBJECT_NAMES, address_problem, pattern_problem
from hmicfrs_letters.core.models import (
    FIELD_NAME,
    FIELD_TYPES,
    PDF_STANDARDS,
    PENDING,
    SLUG,
    STATUSES,
    Addressee,
    ApprovalRecord,
    Assessment,
    Category,
    Contact,
    EditRecord,
    EmailSettings,
    FieldSpec,
    IssueRecord,
    Letter,
    Recipient,
    RecipientList,
    Sender,
    Signatory,
    did_you_mean,
)

# What a letter file may hold besides the fields its series declares.
LETTER_KEYS = (
    "recipient",
    "date",
    "language",
    "languages",
    "status",
    "outcome",
    "addressees",
    "salutation",
    "signatory",
    "copied_to",
    "approved",
    "edited",
    "email",
    "cc",
    "issued",
)
# The keys of a recipient or a letter that hold e-mail addresses: one, or a list.
ADDRESS_KEYS = ("email", "cc")
# The signatory of an assessment file written with a single `signatory: {name, titles}`.
DEFAULT_SIGNATORY = "default"


class Fields:
    """Reads the keys of one YAML mapping, collecting a problem for each missing, mistyped or unknown key."""

    def __init__(self, doc: Document, at: KeyPath, value: Any, allowed: Iterable[str], problems: list[Problem]) -> None:
        self.doc, self.at, self.problems = doc, at, problems
        self.allowed = tuple(allowed)
        where = "/".join(str(k) for k in at) or "the file"
        if not isinstance(value, dict):
            self.problems.append(doc.problem(f"{where} should be a mapping of keys ({', '.join(self.allowed)})", *at))
            value = {}
        self.value = value
        for key in value:
            if key not in self.allowed:
                hint = did_you_mean(str(key), self.allowed)
                self.problems.append(doc.problem(f"unknown key '{key}'{hint or '; expected one of: ' + ', '.join(self.allowed)}", *at, key))

    def has(self, name: str) -> bool:
        return self.value.get(name) is not None

    def _get(self, name: str, required: bool) -> Any:
        if name not in self.value:
            if required:
                self.problems.append(self.doc.problem(f"missing required key '{name}'", *self.at))
            return None
        if self.value[name] is None:  # `key:` with nothing after it: there, but empty
            if required:
                self.problems.append(self.doc.problem(f"'{name}' is empty", *self.at, name))
            return None
        return self.value[name]

    def wrong(self, name: str, expected: str) -> None:
        """A problem: the key's value is not of the kind expected."""
        got = type(self.value[name]).__name__
        self.problems.append(self.doc.problem(f"'{name}' should be {expected}, not {_kind(got)}", *self.at, name))

    def text(self, name: str, required: bool = True, blank_ok: bool = False) -> str:
        if blank_ok and self.value.get(name, "") is None:
            return ""  # `findings:` with nothing after it is findings not yet written, as ""
        value = self._get(name, required)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.wrong(name, "text (put it in quotes)")
            return ""
        if required and not blank_ok and not value.strip():
            self.problems.append(self.doc.problem(f"'{name}' is empty", *self.at, name))
        return value

    def choice(self, name: str, choices: Iterable[str], required: bool = True) -> str:
        value = self.text(name, required)
        choices = tuple(choices)
        if value and value not in choices:
            self.problems.append(
                self.doc.problem(
                    f"'{name}' is '{value}'{did_you_mean(value, choices)}; expected one of: {', '.join(choices)}", *self.at, name
                )
            )
        return value

    def texts(self, name: str, required: bool = True) -> tuple[str, ...]:
        value = self._get(name, required)
        if value is None:
            return ()
        if isinstance(value, str) and not required:  # one line may be written without the list
            return (value,)
        if not isinstance(value, list):
            self.wrong(name, "a list of lines of text")
            return ()
        return tuple(value)

    def addresses(self, name: str) -> tuple[str, ...] | None:
        """E-mail addresses: one as text, or a list of them, each checked; None when the key is not given."""
        if self.value.get(name) is None:
            return None
        value = self.value[name]
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            self.wrong(name, "an e-mail address, or a list of them")
            return None
        for n, item in enumerate(items):
            problem = address_problem(item)
            if problem:
                self.problems.append(self.doc.problem(f"'{name}': {problem}", *self.at, name, *((n,) if isinstance(value, list) else ())))
        return tuple(item.strip() for item in items)

    def pattern(self, name: str, names: tuple[str, ...]) -> str:
        """A pattern of {placeholders} (core.mail): text that may name only these values."""
        value = self.text(name, required=False)
        problem = pattern_problem(value, names) if value else ""
        if problem:
            self.problems.append(self.doc.problem(f"'{name}': {problem}", *self.at, name))
            return ""
        return value

    def language(self, name: str = "language") -> str:
        """A language tag (en-GB, cy); '' when not given, or a placed problem when it is not one whose dates are known."""
        value = self.text(name, required=False)
        if value and not _language_ok(value):
            self.problems.append(self.doc.problem(f"'{name}' is {value!a}: {LANGUAGE_HINT}", *self.at, name))
            return ""
        return value

    def languages(self, name: str = "languages") -> tuple[str, ...]:
        """`languages: [cy, en-GB]`: the tags, each known and given once; () when not given."""
        value = self._get(name, False)
        if value is None:
            return ()
        if value == []:
            self.problems.append(
                self.doc.problem(f"'{name}' is empty: give the letter's languages, its own first, as [cy, en-GB]", *self.at, name)
            )
            return ()
        if not isinstance(value, list):
            self.wrong(name, "a list of languages, the letter's own first, as [cy, en-GB]")
            return ()
        for n, tag in enumerate(value):
            if not isinstance(tag, str) or not _language_ok(tag):
                self.problems.append(self.doc.problem(f"'{name}' holds {tag!a}: {LANGUAGE_HINT}", *self.at, name, n))
                return ()
            if tag in value[:n]:
                self.problems.append(self.doc.problem(f"'{name}' gives {tag!a} twice", *self.at, name, n))
                return ()
        return tuple(value)

    def languages_of(self) -> tuple[str, tuple[str, ...]]:
        """(`language`, `languages`) as one: the first of `languages` is the language when it gives them;
        a `language` that is not that first one is a problem."""
        language, languages = self.language(), self.languages()
        if languages and language and language != languages[0]:
            self.problems.append(
                self.doc.problem(
                    f"'language' is '{language}' but 'languages' puts '{languages[0]}' first; give one of them", *self.at, "language"
                )
            )
        return (languages[0] if languages else language), languages

    def integer(self, name: str, default: int) -> int:
        value = self._get(name, False)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.wrong(name, "a whole number of 1 or more")
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self._get(name, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.wrong(name, "true or false")
            return default
        return value

    def date(self, name: str, required: bool = True) -> dt.date | None:
        value = self._get(name, required)
        if value is None:
            return dt.date.min if required else None
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            self.wrong(name, "a date written as YYYY-MM-DD")
            return dt.date.min if required else None
        return value

    def mapping(self, name: str, allowed: Iterable[str]) -> Fields:
        return Fields(self.doc, (*self.at, name), self.value.get(name), allowed, self.problems)

    def items(self, name: str, required: bool = True) -> list[tuple[KeyPath, Any]]:
        value = self._get(name, required)
        if value is None:
            return []
        if not isinstance(value, list) or (required and not value):
            self.wrong(name, "a non-empty list" if required else "a list")
            return []
        return [((*self.at, name, i), item) for i, item in enumerate(value)]

    def entries(self, name: str) -> list[tuple[KeyPath, str, Any]]:
        """The (place, key, value) of each entry of an optional mapping."""
        value = self._get(name, False)
        if value is None:
            return []
        if not isinstance(value, dict):
            self.wrong(name, "a mapping of keys")
            return []
        return [((*self.at, name, str(key)), str(key), item) for key, item in value.items()]


LANGUAGE_HINT = "not a language whose dates are known; write its tag as `lang` takes it, as en-GB or cy"


def _language_ok(tag: str) -> bool:
    return bool(LANGUAGE_TAG.fullmatch(tag)) and known_language(tag)


def _kind(python_type: str) -> str:
    return {
        "str": "text",
        "int": "a number",
        "float": "a number",
        "bool": "true/false",
        "list": "a list",
        "dict": "a mapping",
        "date": "a date",
        "datetime": "a date and time",
        "NoneType": "empty",
    }.get(python_type, python_type)


# --- recipient lists ------------------------------------------------------------------------


def read_recipients(name: str, doc: Document, problems: list[Problem]) -> RecipientList:
    """A recipient list (data/recipients/<name>.yaml): its recipients by slug, and what it calls them."""
    top = Fields(doc, (), doc.data, ("recipients", "singular", "plural"), problems)
    recipients: dict[str, Recipient] = {}
    for at, item in top.items("recipients"):
        if not isinstance(item, dict):
            problems.append(doc.problem("each recipient should be a mapping with at least 'slug' and 'name'", *at))
            continue
        entry = Fields(doc, at, item, item.keys(), problems)
        slug, title = entry.text("slug"), entry.text("name")
        details: dict[str, str | tuple[str, ...]] = {}
        for key, value in item.items():
            if key in ("slug", "name"):
                continue
            if key in ADDRESS_KEYS:
                found = entry.addresses(key)
                if found is not None:
                    details[str(key)] = found
                continue
            if isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                details[str(key)] = value if isinstance(value, str) else tuple(value)
            else:
                entry.wrong(key, "text or a list of lines of text")
        if slug and not SLUG.fullmatch(slug):
            problems.append(doc.problem(f"slug {slug!a} may hold only lower-case letters, digits and single hyphens", *at, "slug"))
        elif slug in recipients:
            problems.append(doc.problem(f"'{slug}' is listed twice", *at, "slug"))
        elif slug:
            recipients[slug] = Recipient(slug, title, details)
    return RecipientList(
        name, recipients, top.text("singular", required=False) or "recipient", top.text("plural", required=False) or "recipients"
    )


# --- assessments ----------------------------------------------------------------------------

ASSESSMENT_KEYS = (
    "subject",
    "date",
    "template",
    "page_limit",
    "wording_sha256",
    "variants_sha256",
    "recipients",
    "sender",
    "signatories",
    "signatory",
    "contact",
    "categories",
    "fields",
    "email",
    "reference",
    "pdf",
    "every_recipient",
    "extends",
    "language",
    "languages",
    "approval",
)
APPROVAL_KEYS = ("second_person",)
EMAIL_KEYS = ("from", "reply_to", "subject")
SIGNATORY_KEYS = ("name", "titles", "signature")
FIELD_KEYS = ("type", "required", "choices", "default", "label", "help", "items", "min_items", "max_items", "item_label", "translated")
# A language as `lang` takes it (a BCP 47 tag: en-GB, cy), whose dates babel can write.
LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")


def read_assessment(slug: str, doc: Document, problems: list[Problem]) -> Assessment:
    """The assessment file: what all its letters share."""
    top = Fields(doc, (), doc.data, ASSESSMENT_KEYS, problems)
    sender = top.mapping("sender", ("organisation", "address", "email", "direct_line", "fax", "logo"))
    contact = None
    if top.has("contact"):
        c = top.mapping("contact", ("name", "email", "phone"))
        contact = Contact(c.text("name"), c.text("email"), c.text("phone"))
    categories = []
    for at, item in top.items("categories", required=False):
        c = Fields(doc, at, item, ("key", "label", "standard_findings"), problems)
        category = Category(c.text("key"), c.text("label"), c.text("standard_findings", required=False))
        if category.key == PENDING:
            problems.append(doc.problem(f"'{PENDING}' is kept for letters without an outcome; choose another key", *at, "key"))
        categories.append(category)
    signatories, default = _signatories(top, doc, problems)
    email = EmailSettings()
    if top.has("email"):
        e = top.mapping("email", EMAIL_KEYS)
        sent_from, reply_to = (e.addresses(key) or () for key in ("from", "reply_to"))
        for key, found in (("from", sent_from), ("reply_to", reply_to)):
            if len(found) > 1:
                problems.append(doc.problem(f"'email/{key}' is one address, not a list", "email", key))
        email = EmailSettings(sent_from[0] if sent_from else "", reply_to[0] if reply_to else "", e.pattern("subject", SUBJECT_NAMES))
    language, languages = top.languages_of()
    return Assessment(
        slug=slug,
        subject=top.text("subject"),
        date=top.date("date", required=False),
        template=top.text("template"),
        page_limit=top.integer("page_limit", 2),
        recipients=top.text("recipients"),
        sender=Sender(
            sender.text("organisation"),
            sender.texts("address", required=False),
            sender.text("email", required=False),
            sender.text("direct_line", required=False),
            sender.text("fax", required=False),
            sender.text("logo", required=False),
        ),
        signatories=signatories,
        signatory=default,
        contact=contact,
        categories=tuple(categories),
        fields=_field_specs(top, doc, problems),
        wording_sha256=top.text("wording_sha256", required=False),
        variants_sha256=top.text("variants_sha256", required=False),
        email=email,
        reference=top.pattern("reference", REFERENCE_NAMES),
        pdf_standard=_pdf_standard(top),
        every_recipient=top.boolean("every_recipient", False),
        extends=top.text("extends", required=False),
        language=language or "en-GB",
        languages=languages,
        second_person=top.mapping("approval", APPROVAL_KEYS).boolean("second_person", False) if top.has("approval") else False,
    )


def _pdf_standard(top: Fields) -> str:
    """`pdf: {standard: ...}`: the standard the series' PDFs claim; empty when it chooses none (or a wrong one, an error)."""
    if not top.has("pdf"):
        return ""
    chosen = top.mapping("pdf", ("standard",)).choice("standard", PDF_STANDARDS, required=False)
    return chosen if chosen in PDF_STANDARDS else ""


def _signatory(fields: Fields) -> Signatory:
    return Signatory(fields.text("name"), fields.texts("titles"), fields.text("signature", required=False))


def _signatories(top: Fields, doc: Document, problems: list[Problem]) -> tuple[dict[str, Signatory], str]:
    """The signatories by key, and the key of the default: `signatories:` with `signatory: KEY`, or one `signatory: {name, titles}`."""
    signatories = {key: _signatory(Fields(doc, at, item, SIGNATORY_KEYS, problems)) for at, key, item in top.entries("signatories")}
    chosen = top.value.get("signatory")
    if isinstance(chosen, dict):
        if signatories:
            problems.append(doc.problem("'signatory' names the key of one of 'signatories', not a signatory of its own", "signatory"))
        return {DEFAULT_SIGNATORY: _signatory(top.mapping("signatory", SIGNATORY_KEYS))}, DEFAULT_SIGNATORY
    if chosen is None:
        if len(signatories) == 1:
            return signatories, next(iter(signatories))
        problems.append(
            doc.problem("missing required key 'signatory': who signs the letters, or which of 'signatories' by default", "signatory")
        )
        return signatories, ""
    key = top.choice("signatory", signatories)
    return signatories, key


def _field_specs(top: Fields, doc: Document, problems: list[Problem], key: str = "fields", nested: bool = False) -> tuple[FieldSpec, ...]:
    specs = []
    for at, name, item in top.entries(key):
        f = Fields(doc, at, item if item is not None else {}, FIELD_KEYS, problems)
        if not FIELD_NAME.fullmatch(name) or (name in LETTER_KEYS and not nested):
            reason = "is kept for the letter file itself" if name in LETTER_KEYS else "should be lower-case letters, digits and underscores"
            problems.append(doc.problem(f"field name '{name}' {reason}", *at))
            continue
        kind = f.choice("type", FIELD_TYPES, required=False) or "text"
        if kind == "list" and nested:
            problems.append(doc.problem("an item of a list may not hold a list itself", *at, "type"))
            kind = "text"
        choices = f.texts("choices", required=kind == "choice") if kind == "choice" or f.has("choices") else ()
        spec = FieldSpec(
            name=name,
            type=kind,
            required=f.boolean("required", True),
            choices=choices,
            label=f.text("label", required=False),
            help=f.text("help", required=False),
            translated=f.boolean("translated", False),
        )
        if spec.translated and (kind not in ("text", "markdown") or nested):
            problems.append(doc.problem("only a 'text' or 'markdown' field of the letter itself may be 'translated'", *at, "translated"))
            spec = dataclasses.replace(spec, translated=False)
        if spec.translated and f.has("default"):
            problems.append(doc.problem("a 'translated' field has no 'default': each letter gives it in its languages", *at, "default"))
        if kind == "list":
            if not f.has("items"):
                problems.append(doc.problem("a 'list' field declares its 'items': the fields of each item", *at))
            spec = dataclasses.replace(
                spec,
                items=_field_specs(f, doc, problems, "items", nested=True),
                min_items=f.integer("min_items", 0) if f.has("min_items") else 0,
                max_items=f.integer("max_items", 0) if f.has("max_items") else 0,
                item_label=f.text("item_label", required=False),
            )
        elif f.has("items") or f.has("min_items") or f.has("max_items") or f.has("item_label"):
            problems.append(doc.problem("'items', 'min_items', 'max_items' and 'item_label' are for a field of type 'list'", *at))
        default, problem = field_value(spec, f.value.get("default"))
        if problem:
            problems.append(doc.problem(f"'default' {problem}", *at, "default"))
        specs.append(dataclasses.replace(spec, default=default))
    return tuple(specs)


def _list_value(spec: FieldSpec, value: Any) -> tuple[Any, str]:
    """A `list` field's items, each a mapping of its sub-fields' values checked as fields are."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        return None, "should be a list of items, each a mapping of: " + ", ".join(sub.name for sub in spec.items)
    if len(value) < spec.min_items:
        return None, f"has {len(value)} items; it needs at least {spec.min_items}"
    if spec.max_items and len(value) > spec.max_items:
        return None, f"has {len(value)} items; it may have at most {spec.max_items}"
    items = []
    names = [sub.name for sub in spec.items]
    for number, item in enumerate(value, 1):
        checked = {}
        for key, given in item.items():
            sub = next((s for s in spec.items if s.name == key), None)
            if sub is None:
                hint = did_you_mean(str(key), names) or f"; expected one of: {', '.join(names)}"
                return None, f"item {number} has an unknown key '{key}'{hint}"
            checked_value, problem = field_value(sub, given)
            if problem:
                return None, f"item {number}: '{key}' {problem}"
            if checked_value is not None:
                checked[key] = checked_value
        items.append(checked)
    return tuple(items), ""


def field_value(spec: FieldSpec, value: Any) -> tuple[Any, str]:
    """A field's value checked against its type: (the value, or None when absent or blank; why it is wrong, or '')."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, ""
    if spec.type == "list":
        return _list_value(spec, value)
    if spec.type == "date":
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value, ""
        return None, "should be a date written as YYYY-MM-DD"
    if not isinstance(value, str):
        return None, f"should be text (put it in quotes), not {_kind(type(value).__name__)}"
    if spec.type == "text" and "\n" in value.strip():
        return None, "should be one line of text (a 'markdown' field holds paragraphs)"
    if spec.type == "choice" and value not in spec.choices:
        return None, f"is '{value}'{did_you_mean(value, spec.choices)}; expected one of: {', '.join(spec.choices)}"
    return value, ""


def translated_value(spec: FieldSpec, value: Any, languages: tuple[str, ...]) -> tuple[Any, str, tuple[str, ...]]:
    """A `translated` field's value: a mapping of the letter's languages to the text in each (checked as
    the field's type asks; a blank one left out, not written yet), or, in a letter of one language,
    that text alone. (the mapping or None; why it is wrong, or ''; the key of the language at fault)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, "", ()
    written = ", ".join(f"{language}: …" for language in languages)
    if not isinstance(value, dict):
        if isinstance(value, str) and len(languages) == 1:
            checked, problem = field_value(spec, value)
            return ({languages[0]: checked} if checked is not None else None), problem, ()
        return None, f"is translated: give it in each of the letter's languages, as {spec.name}: {{{written}}}", ()
    for key in value:
        if key not in languages:
            hint = did_you_mean(str(key), languages) or f"; the letter's languages are: {', '.join(languages)}"
            return None, f"gives {str(key)!a}, which is not one of the letter's languages{hint}", (str(key),)
    for language in languages:
        if language not in value:
            return None, f"has no '{language}': give it in each of the letter's languages, as {spec.name}: {{{written}}}", ()
    checked = {}
    for language in languages:
        one, problem = field_value(spec, value[language])
        if problem:
            return None, f"('{language}') {problem}", (language,)
        if one is not None:
            checked[language] = one
    return checked or None, "", ()


# --- letters --------------------------------------------------------------------------------

_SHA256 = re.compile(r"[0-9a-f]{64}")


def read_letter(recipient: Recipient, assessment: Assessment, doc: Document, problems: list[Problem], letter_id: str = "") -> Letter:
    """One letter file (its recipient already read from it: core.validate)."""
    keys = [k for k in LETTER_KEYS if k != "outcome" or assessment.graded] + [spec.name for spec in assessment.fields]
    f = Fields(doc, (), doc.data, keys, problems)
    language, languages = f.languages_of()
    own = Letter(recipient, "", language=language, languages=languages)
    values = {}
    for spec in assessment.fields:
        if spec.translated:
            value, problem, at = translated_value(spec, f.value.get(spec.name), own.in_languages(assessment))
        else:
            (value, problem), at = field_value(spec, f.value.get(spec.name)), ()
        if problem:
            problems.append(doc.problem(f"'{spec.name}' {problem}", spec.name, *at))
        elif value is not None:
            values[spec.name] = value
    addressees = []
    for at, item in f.items("addressees", required=False):
        a = Fields(doc, at, item, ("name", "role", "organisation"), problems)
        addressee = Addressee(a.text("name", False), a.text("role", False), a.text("organisation", False))
        if not addressee.lines and isinstance(item, dict):
            problems.append(doc.problem("an addressee needs at least one of 'name', 'role' and 'organisation'", *at))
        addressees.append(addressee)
    return Letter(
        recipient=recipient,
        status=f.choice("status", STATUSES),
        outcome=f.choice("outcome", (*(c.key for c in assessment.categories), PENDING)) if assessment.graded else "",
        values=values,
        addressees=tuple(addressees),
        salutation=f.text("salutation", required=False),
        signatory=f.choice("signatory", assessment.signatories, required=False),
        copied_to=f.texts("copied_to", required=False),
        approved=_approval_record(f) if f.value.get("approved") is not None else None,
        id=letter_id or recipient.slug,
        date=_letter_date(f, assessment),
        language=own.language,
        languages=own.languages,
        email=f.addresses("email"),
        cc=f.addresses("cc"),
        issued=_issue_record(f) if f.value.get("issued") is not None else None,
        edited=_edit_record(f) if f.value.get("edited") is not None else None,
    )


def _edit_record(letter: Fields) -> EditRecord:
    """The `edited:` mapping that each save from the preview writes: by and on."""
    f = letter.mapping("edited", EditRecord.__dataclass_fields__)
    return EditRecord(f.text("by"), f.date("on"))


def _issue_record(letter: Fields) -> IssueRecord:
    """The `issued:` mapping that `letters send` and `letters mark-issued` write."""
    f = letter.mapping("issued", IssueRecord.__dataclass_fields__)
    record = IssueRecord(
        f.date("on"), f.text("by"), f.addresses("to") or (), f.addresses("cc") or (), f.text("message_id"), f.text("sha256")
    )
    if record.sha256 and not _SHA256.fullmatch(record.sha256):
        f.problems.append(f.doc.problem("'issued/sha256' should be 64 lower-case hexadecimal digits", *f.at, "sha256"))
    return record


def _letter_date(letter: Fields, assessment: Assessment) -> dt.date | None:
    """The letter's own `date:`; required when the assessment gives none."""
    if assessment.date is None and not letter.has("date"):
        letter.problems.append(
            letter.doc.problem("missing required key 'date': the assessment gives no date, so each letter gives its own")
        )
        return None
    return letter.date("date", required=False)


def _approval_record(letter: Fields) -> ApprovalRecord:
    """The `approved:` mapping that `letters approve` writes: by, on and sha256."""
    f = letter.mapping("approved", ApprovalRecord.__dataclass_fields__)
    record = ApprovalRecord(f.text("by"), f.date("on"), f.text("sha256"))
    if record.sha256 and not _SHA256.fullmatch(record.sha256):
        f.problems.append(
            f.doc.problem("'approved/sha256' should be 64 lower-case hexadecimal digits; run `letters approve` again", *f.at, "sha256")
        )
    return record
