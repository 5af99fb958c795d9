"""A save that met a change on disk, as a choice field by field: never YAML, never a whole file.

When the letter's file changed since the page was made (another window, a text editor, a pull),
nothing is written (workflow.edit.Conflict). The page then shows each field whose saved value
differs from the one typed: the version on disk and yours, both as they print, yours with the
differences marked. For each the person keeps the version on disk or takes theirs; saving posts
their values again, without the fields where they kept the one on disk (a control the form does
not post leaves its key alone: preview.forms.values), against the version now on disk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from hmicfrs_letters.core import findings
from hmicfrs_letters.core.models import PENDING, Assessment
from hmicfrs_letters.preview import forms
from hmicfrs_letters.preview.compare import tracked_changes

CHOICE = "choice:"  # the radio buttons' names: choice:<key>, valued "theirs" or "mine"


@dataclass(frozen=True)
class Difference:
    """One key whose value on disk differs from the one typed: both as they print."""

    key: str
    label: str
    theirs: Markup
    mine: Markup


def differences(assessment: Assessment, on_disk: Mapping[str, Any], posted: Mapping[str, Any]) -> list[Difference]:
    """Each key the posted form sets to something other than the file on disk has, in the form's order."""
    values = forms.values(assessment, posted)
    found = []
    for key, label, kind in _keys(assessment):
        if key not in values:
            continue
        theirs, mine = _shown(on_disk.get(key), assessment, key), _shown(values[key], assessment, key)
        if theirs == mine:
            continue
        if kind == "list" and key not in ("addressees", "copied_to"):  # a group that repeats: its items numbered
            found.append(Difference(key, label, _items(on_disk.get(key)), _items(values[key])))
        elif kind == "markdown":
            found.append(Difference(key, label, findings.convert(theirs).html, tracked_changes(theirs, mine)))
        else:
            found.append(Difference(key, label, _plain(theirs), _plain(mine)))
    return found


def chosen(assessment: Assessment, items: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The posted form without the controls of each key whose version on disk was chosen, and without the choices."""
    items = list(items)
    kept_theirs = {name[len(CHOICE) :] for name, value in items if name.startswith(CHOICE) and value != "mine"}
    return [(name, value) for name, value in items if not name.startswith(CHOICE) and _key_of(assessment, name) not in kept_theirs]


def _keys(assessment: Assessment) -> list[tuple[str, str, str]]:
    """The keys a page edits, with what people call them and their kind."""
    keys = [("outcome", "Outcome", "outcome")] if assessment.graded else []
    keys += [(spec.name, spec.title, spec.type) for spec in assessment.fields]
    keys += [("addressees", "Addressees", "list"), ("salutation", "Salutation", "text"), ("signatory", "Signatory", "text")]
    return [*keys, ("copied_to", "Copied to", "list")]


def _key_of(assessment: Assessment, name: str) -> str:
    """The letter's key a form control sets."""
    if name.startswith(forms.FIELD):
        return name[len(forms.FIELD) :].split("-")[0]  # a list's item's sub-field: field:<list>-<n>-<sub>
    if name.startswith("addressee-"):
        return "addressees"
    return name


def _shown(value: Any, assessment: Assessment, key: str) -> str:
    """A value as the person reads it: an outcome by its title, a list one item a line, text as typed."""
    if key == "outcome":
        category = assessment.category(str(value)) if value else None
        return category.label if category else ("Pending" if value in (None, "", PENDING) else str(value))
    if key == "addressees" and isinstance(value, Sequence) and not isinstance(value, str):
        return "\n".join(", ".join(str(v) for v in entry.values() if v) if isinstance(entry, Mapping) else str(entry) for entry in value)
    if isinstance(value, Sequence) and not isinstance(value, str) and value and all(isinstance(v, Mapping) for v in value):
        return "\n\n".join("\n".join(_shown(v, assessment, "") for v in entry.values()) for entry in value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "\n".join(str(v) for v in value)
    if value is None:
        return ""
    return (value.isoformat() if hasattr(value, "isoformat") else str(value)).strip()


def _items(value: Any) -> Markup:
    """A list field's items as a numbered list, each sub-field's text a paragraph of its item, as typed."""
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        return _plain("")
    entries = (entry.values() if isinstance(entry, Mapping) else [entry] for entry in value)
    shown = (Markup("").join(Markup("<p>{}</p>").format(_plain(str(v).strip())) for v in texts if v) for texts in entries)
    return Markup('<ol class="items">') + Markup("").join(Markup("<li>{}</li>").format(item) for item in shown) + Markup("</ol>")


def _plain(text: str) -> Markup:
    return Markup("<br>").join(escape(line) for line in text.split("\n")) if text else Markup('<span class="none">(empty)</span>')
