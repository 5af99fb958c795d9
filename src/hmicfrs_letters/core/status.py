"""A letter's states and the words for them, written once; the rules that decide them are core.state.

Kept apart and light (no import beyond the standard library), so that `letters --help` can name
the reasons a final build refuses a letter without loading the engine.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    INVALID = "invalid"
    DRAFT = "draft"
    APPROVED = "approved"
    CHANGED = "changed"
    ISSUED = "issued"  # approved, and sent as approved (its file's `issued:` record)


# The statuses whose approval stands: the letter as it is now is the one approved (and, issued, the one sent).
STANDING = frozenset({Status.APPROVED, Status.ISSUED})


# What each state is called on a page (`list` and JSON show the state itself).
TITLES = {
    Status.INVALID: "Cannot be made",
    Status.DRAFT: "Draft",
    Status.APPROVED: "Approved",
    Status.CHANGED: "Changed since approval: not approved",
    Status.ISSUED: "Issued",
}
# An issued letter's title, with its record (core.state.LetterState.title).
ISSUED_TITLE = "Issued on {on} to {to}"
# Every reason a final build refuses a letter (core.state.LetterState.refusal), as `build --help` names them:
# "refused when any letter it would build …".
REFUSALS = (
    "is a draft",
    "has a pending outcome",
    "changed since it was approved (or is marked approved without an approval record)",
    "has errors (its file's, its template's, its PDF's, the page limit's)",
    "cannot be read",
)

# A letter's own text in place of a standard passage of its template (core.state, from core.skeleton.replaced_passages):
# a note in `letters check` and on the preview's letter page, not a fault.
REPLACED = "'{name}' ({title}) replaces the standard passage \u201c{passage}\u201d"
REPLACED_PLAIN = "{title} replaces the standard passage \u201c{passage}\u201d."
