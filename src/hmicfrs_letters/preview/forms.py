"""The letter page's forms: what a posted form asks to change, and whether to believe it came from our page.

Every request that changes a file is a POST carrying the server's token (a secret that only the
pages it served hold) from the server's own origin. The values a form posts become the values of
a letter's keys, by the names the page gave its controls: `field:<name>` for a declared field,
`outcome`, `salutation`, `signatory`, `copied_to` (one line each), and `addressee-<n>-<part>`.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from hmicfrs_letters.core.models import Assessment

FIELD = "field:"
ADDRESSEE_ROWS = 3  # rows a page offers for addressees: enough for the letters seen so far
ADDRESSEE_PARTS = ("name", "role", "organisation")
# The most a form's body may hold: a letter file may hold a megabyte (core.load), which a form
# sends encoded, a few times larger at most. A larger body is refused unread.
MAX_FORM_BYTES = 4_000_000


class Guard:
    """The server's token, and the checks a state-changing request must pass."""

    def __init__(self) -> None:
        self.token = secrets.token_urlsafe(32)

    def refusal(self, form_token: str | None, origin: str | None, referer: str | None, host: str | None) -> str | None:
        """Why this request may not change anything (None when it may): no or a wrong token, or another origin."""
        if not form_token or not hmac.compare_digest(form_token, self.token):
            return "this form is not one this server gave: reload the page and try again"
        return self.origin_refusal(origin, referer, host)

    @staticmethod
    def origin_refusal(origin: str | None, referer: str | None, host: str | None) -> str | None:
        """Why a request from elsewhere is refused (None when it came from this server's pages): its headers
        alone, checked before its body is read."""
        source = origin if origin and origin != "null" else referer
        if not source or urlsplit(source).netloc != (host or ""):
            return "this request did not come from this server's own pages"
        return None


def values(assessment: Assessment, form: Mapping[str, Any]) -> dict[str, Any]:
    """The letter's keys as a posted form sets them; a control the page did not show leaves its key alone."""
    found: dict[str, Any] = {}
    for spec in assessment.fields:
        if FIELD + spec.name in form and not spec.translated:  # a translated field is edited in its file
            found[spec.name] = str(form[FIELD + spec.name]).replace("\r\n", "\n").strip("\n")
            if spec.type != "markdown":
                found[spec.name] = found[spec.name].strip()
    if assessment.graded and "outcome" in form:
        found["outcome"] = str(form["outcome"])
    for key in ("salutation", "signatory"):
        if key in form:
            found[key] = str(form[key]).strip()
    if "copied_to" in form:
        found["copied_to"] = [line.strip() for line in str(form["copied_to"]).splitlines() if line.strip()]
    if any(f"addressee-0-{part}" in form for part in ADDRESSEE_PARTS):
        rows = []
        for n in range(ADDRESSEE_ROWS):
            row = {part: str(form.get(f"addressee-{n}-{part}", "")).strip() for part in ADDRESSEE_PARTS}
            if any(row.values()):
                rows.append({part: value for part, value in row.items() if value})
        found["addressees"] = rows
    return found
