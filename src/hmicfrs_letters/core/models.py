"""Typed records: forces, assessments and letters, as the rest of the engine sees them."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

PENDING = "pending"
# Slugs name files: keep them to lower-case words so no slug can reach outside its folder.
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# A findings paragraph is a paragraph: far longer is a mistake, and would make a letter slow to lay out.
MAX_FINDINGS_CHARS = 20_000
DRAFT, APPROVED = "draft", "approved"
STATUSES = (DRAFT, APPROVED)
# What a letter's status shows as where its file cannot be read, or (in a build) it failed.
INVALID, FAILED = "invalid", "failed"


@dataclass(frozen=True)
class Force:
    slug: str
    name: str
    chief_officer_title: str
    copied_to: str
    copied_to_full: str
    nation: str


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    standard_findings: str = ""


@dataclass(frozen=True)
class Sender:
    organisation: str
    address: tuple[str, ...]
    direct_line: str
    fax: str


@dataclass(frozen=True)
class Signatory:
    name: str
    titles: tuple[str, ...]


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    phone: str


@dataclass(frozen=True)
class Assessment:
    slug: str
    subject: str
    date: dt.date
    template: str
    page_limit: int
    sender: Sender
    signatory: Signatory
    contact: Contact
    categories: tuple[Category, ...]
    # SHA-256 of the approved fixed wording (see wording.py); empty until first approved.
    wording_sha256: str = ""

    def category(self, key: str) -> Category | None:
        return next((c for c in self.categories if c.key == key), None)


@dataclass(frozen=True)
class ApprovalRecord:
    """Who approved a letter, on which day, and the fingerprint of what they approved (core.approval)."""

    by: str
    on: dt.date
    sha256: str


@dataclass(frozen=True)
class Letter:
    """One force's letter of one assessment: the parts that vary."""

    force: Force
    outcome: str
    status: str
    findings: str
    recipient_name: str = ""
    copied_to_name: str = ""
    approved: ApprovalRecord | None = None  # written by `letters approve`; not part of the letter's text

    @property
    def is_draft(self) -> bool:
        return self.status != APPROVED


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the nearest choice, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
