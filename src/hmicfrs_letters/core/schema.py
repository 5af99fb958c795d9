"""Reading records from loaded YAML: every missing, mistyped or unknown key becomes a placed problem."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from hmicfrs_letters.core.errors import Problem
from hmicfrs_letters.core.load import Document, KeyPath
from hmicfrs_letters.core.models import (
    PENDING,
    SLUG,
    STATUSES,
    Assessment,
    Category,
    Contact,
    Force,
    Letter,
    Sender,
    Signatory,
    did_you_mean,
)


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

    def _wrong(self, name: str, expected: str) -> None:
        got = type(self.value[name]).__name__
        self.problems.append(self.doc.problem(f"'{name}' should be {expected}, not {_kind(got)}", *self.at, name))

    def text(self, name: str, required: bool = True, blank_ok: bool = False) -> str:
        if blank_ok and self.value.get(name, "") is None:
            return ""  # `findings:` with nothing after it is findings not yet written, as ""
        value = self._get(name, required)
        if value is None:
            return ""
        if not isinstance(value, str):
            self._wrong(name, "text (put it in quotes)")
            return ""
        if required and not blank_ok and not value.strip():
            self.problems.append(self.doc.problem(f"'{name}' is empty", *self.at, name))
        return value

    def choice(self, name: str, choices: Iterable[str]) -> str:
        value = self.text(name)
        choices = tuple(choices)
        if value and value not in choices:
            self.problems.append(
                self.doc.problem(
                    f"'{name}' is '{value}'{did_you_mean(value, choices)}; expected one of: {', '.join(choices)}", *self.at, name
                )
            )
        return value

    def texts(self, name: str) -> tuple[str, ...]:
        value = self._get(name, True)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self._wrong(name, "a list of lines of text")
            return ()
        return tuple(value)

    def integer(self, name: str, default: int) -> int:
        value = self._get(name, False)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self._wrong(name, "a whole number of 1 or more")
            return default
        return value

    def date(self, name: str) -> dt.date:
        value = self._get(name, True)
        if value is None:
            return dt.date.min
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            self._wrong(name, "a date written as YYYY-MM-DD")
            return dt.date.min
        return value

    def mapping(self, name: str, allowed: Iterable[str]) -> Fields:
        return Fields(self.doc, (*self.at, name), self.value.get(name), allowed, self.problems)

    def items(self, name: str) -> list[tuple[KeyPath, Any]]:
        value = self._get(name, True)
        if value is None:
            return []
        if not isinstance(value, list) or not value:
            self._wrong(name, "a non-empty list")
            return []
        return [((*self.at, name, i), item) for i, item in enumerate(value)]


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


def read_forces(doc: Document, problems: list[Problem]) -> dict[str, Force]:
    """The forces of forces.yaml, by slug."""
    top = Fields(doc, (), doc.data, ("forces",), problems)
    forces: dict[str, Force] = {}
    for at, item in top.items("forces"):
        f = Fields(doc, at, item, Force.__dataclass_fields__, problems)
        force = Force(**{name: f.text(name) for name in Force.__dataclass_fields__})
        if force.slug and not SLUG.fullmatch(force.slug):
            problems.append(doc.problem(f"slug {force.slug!a} may hold only lower-case letters, digits and single hyphens", *at, "slug"))
        elif force.slug in forces:
            problems.append(doc.problem(f"force '{force.slug}' is listed twice", *at, "slug"))
        elif force.slug:
            forces[force.slug] = force
    return forces


def read_assessment(slug: str, doc: Document, problems: list[Problem]) -> Assessment:
    """The assessment file: what all its letters share."""
    top = Fields(doc, (), doc.data, Assessment.__dataclass_fields__.keys() - {"slug"}, problems)
    sender = top.mapping("sender", Sender.__dataclass_fields__)
    signatory = top.mapping("signatory", Signatory.__dataclass_fields__)
    contact = top.mapping("contact", Contact.__dataclass_fields__)
    categories = []
    for at, item in top.items("categories"):
        c = Fields(doc, at, item, Category.__dataclass_fields__, problems)
        category = Category(c.text("key"), c.text("label"), c.text("standard_findings", required=False))
        if category.key == PENDING:
            problems.append(doc.problem(f"'{PENDING}' is kept for letters without an outcome; choose another key", *at, "key"))
        categories.append(category)
    return Assessment(
        slug=slug,
        subject=top.text("subject"),
        date=top.date("date"),
        template=top.text("template"),
        page_limit=top.integer("page_limit", 2),
        sender=Sender(sender.text("organisation"), sender.texts("address"), sender.text("direct_line"), sender.text("fax")),
        signatory=Signatory(signatory.text("name"), signatory.texts("titles")),
        contact=Contact(contact.text("name"), contact.text("email"), contact.text("phone")),
        categories=tuple(categories),
        wording_sha256=top.text("wording_sha256", required=False),
    )


LETTER_KEYS = ("outcome", "status", "findings", "recipient_name", "copied_to_name")


def read_letter(force: Force, assessment: Assessment, doc: Document, problems: list[Problem]) -> Letter:
    """One force's letter file."""
    f = Fields(doc, (), doc.data, LETTER_KEYS, problems)
    return Letter(
        force=force,
        outcome=f.choice("outcome", (*(c.key for c in assessment.categories), PENDING)),
        status=f.choice("status", STATUSES),
        findings=f.text("findings", blank_ok=True),
        recipient_name=f.text("recipient_name", required=False),
        copied_to_name=f.text("copied_to_name", required=False),
    )
