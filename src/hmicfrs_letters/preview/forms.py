"""The letter page's forms: what a posted form asks to change, and whether to believe it came from our page.

Every request that changes a file is a POST carrying the server's token (a secret that only the
pages it served hold) from the server's own origin. The values a form posts become the values of
a letter's keys, by the names the page gave its controls: `field:<name>` for a declared field,
`outcome`, `salutation`, `signatory`, `copied_to` (one line each), and `addressee-<n>-<part>`.

A `list` field (a group that repeats) is `field:<name>`, the number of items the page shows, and
`field:<name>-<n>-<sub>` for each item's sub-fields (n from 1). Its "Add another" and "Remove"
buttons post `action=add:<name>` and `action=remove:<name>:<n>`: the page comes back with the item
added or removed and everything typed kept (regrouped), and nothing is saved until "Save".
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import FormData

from hmicfrs_letters.core.models import Assessment, FieldSpec

FIELD = "field:"
ADDRESSEE_ROWS = 3  # rows a page offers for addressees: enough for the letters seen so far
ADDRESSEE_PARTS = ("name", "role", "organisation")
# The most a form's body may hold: a letter file may hold a megabyte (core.load), which a form
# sends encoded, a few times larger at most. A larger body is refused unread.
MAX_FORM_BYTES = 4_000_000
# The most items a form may show of a list whose series sets no max_items.
ITEM_LIMIT = 100


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


def values(assessment: Assessment, form: Mapping[str, Any], on_disk: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The letter's keys as a posted form sets them; a control the page did not show leaves its key alone,
    and so does a field whose value `on_disk` is a mapping (a value by language: the page shows it, fixed)."""
    found: dict[str, Any] = {}
    for spec in assessment.fields:
        if on_disk is not None and isinstance(on_disk.get(spec.name), Mapping):
            continue
        if spec.type == "list":
            shown = items(spec, form)
            if shown is not None:  # an item left blank is no item
                found[spec.name] = [{key: text for key, text in item.items() if text} for item in shown if any(item.values())]
        elif FIELD + spec.name in form:
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


def item_key(spec: FieldSpec, number: int, sub: FieldSpec) -> str:
    """What the page calls one sub-field of a list's item (number from 1): its control is `control-<key>`, its name `field:<key>`."""
    return f"{spec.name}-{number}-{sub.name}"


def _typed(spec: FieldSpec, text: Any) -> str:
    typed = str(text).replace("\r\n", "\n").strip("\n")
    return typed if spec.type == "markdown" else typed.strip()


def _count(spec: FieldSpec, form: Mapping[str, Any]) -> int | None:
    """How many items the posted form shows of a list; None when the page showed no control for it."""
    said = str(form.get(FIELD + spec.name, "")) if FIELD + spec.name in form else None
    if said is None or not said.isdigit():
        return None
    return min(int(said), spec.max_items or ITEM_LIMIT)


def items(spec: FieldSpec, form: Mapping[str, Any]) -> list[dict[str, str]] | None:
    """A list field's items as the posted form shows them, blank ones too; None when the page showed no control for it."""
    count = _count(spec, form)
    if count is None:
        return None
    return [{sub.name: _typed(sub, form.get(FIELD + item_key(spec, n, sub), "")) for sub in spec.items} for n in range(1, count + 1)]


def file_items(spec: FieldSpec, value: Any) -> list[dict[str, str]] | None:
    """A list field's items as its file gives them, for the form to show; None when the form cannot show them
    faithfully (not a list of mappings of its sub-fields' text or dates): then it shows none and leaves the file's alone.
    Empty items make up min_items: as many boxes as the letter needs."""
    if value is None:
        value = []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        return None
    subs = {sub.name for sub in spec.items}
    shown = []
    for item in value:
        if not set(item) <= subs or any(isinstance(text, dict | list) for text in item.values()):
            return None
        shown.append({sub.name: _shown(item.get(sub.name)) for sub in spec.items})
    return shown + [{sub.name: "" for sub in spec.items} for _ in range(spec.min_items - len(shown))]  # at least min_items boxes


def _shown(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value).strip("\n")


@dataclass(frozen=True)
class Regrouped:
    """A list's items after its "Add another" or a "Remove" button: the form to show again, and what was done."""

    form: list[tuple[str, Any]]
    spec: FieldSpec
    added: bool  # an item added (else one removed)
    number: int  # the item added or removed (from 1); 0 when nothing was (at max_items, at min_items or no such item)
    count: int  # the items shown now


def regrouped(assessment: Assessment, form: FormData, action: str) -> Regrouped | None:
    """The posted form with an item added to a list (`add:<name>`) or one removed (`remove:<name>:<n>`), the
    items after it renumbered and every other control as posted; None when the action names no list the page showed.
    An item is not added past max_items, nor removed below min_items."""
    verb, _, rest = action.partition(":")
    name, _, said = rest.partition(":")
    spec = next((spec for spec in assessment.fields if spec.type == "list" and spec.name == name), None)
    shown = items(spec, form) if spec is not None else None
    if spec is None or shown is None or verb not in ("add", "remove") or (verb == "add") == bool(said):
        return None
    number = 0
    if verb == "add" and (not spec.max_items or len(shown) < spec.max_items) and len(shown) < ITEM_LIMIT:
        shown.append({sub.name: "" for sub in spec.items})
        number = len(shown)
    elif verb == "remove" and said.isdigit() and 1 <= int(said) <= len(shown) and len(shown) > spec.min_items:
        number = int(said)
        del shown[number - 1]
    prefix = FIELD + spec.name
    kept = [(key, value) for key, value in form.multi_items() if key != prefix and not key.startswith(prefix + "-") and key != "action"]
    kept.append((prefix, str(len(shown))))
    for n, item in enumerate(shown, 1):
        kept += [(FIELD + item_key(spec, n, sub), item[sub.name]) for sub in spec.items]
    return Regrouped(kept, spec, verb == "add", number, len(shown))


def typed_in(spec: FieldSpec, form: Mapping[str, Any]) -> bool:
    """Whether the posted form has anything typed for this field (in any item of a list)."""
    if spec.type == "list":
        return any(any(item.values()) for item in items(spec, form) or ())
    return bool(str(form.get(FIELD + spec.name, "")).strip())
