"""Editing a letter's file from the browser, on the command line's rules, losing no one's save.

A page edits one version of a letter's file, named by the SHA-256 of its bytes. Saving applies
the page's values to that file in YAML's round-trip mode (comments, key order and quoting kept;
Markdown as literal blocks), validates the result as `letters check` does, and writes it whole,
holding the file (core.files.HeldFile) throughout. If the file is no longer the version the page
was made from (another window, a text editor, `git pull`), nothing is written: the save is
refused with both versions, for the person to choose.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.files import HeldFile, read_data_file
from hmicfrs_letters.core.load import parse_yaml
from hmicfrs_letters.core.models import APPROVED, DRAFT, EditRecord, FieldSpec
from hmicfrs_letters.core.validate import Batch, LetterInput, read_letter_bytes
from hmicfrs_letters.workflow.yamledit import dump, literal, plain, read_back, round_trip

# The keys a page may set, besides the fields its series declares; never `approved` (approving
# is `letters approve`'s alone) and never a key of another file.
EDITABLE = ("outcome", "addressees", "salutation", "signatory", "copied_to")
# Where a new key goes when the file lacks it: after these, in this order.
_ORDER = ("outcome", "status", "approved", "edited", "addressees", "salutation", "signatory", "copied_to")


def version(data: bytes | None) -> str:
    """The version of a file's bytes, as pages name it; '' for a file that is not there."""
    return "" if data is None else hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class LetterFile:
    """A letter's file as a page edits it: where it is, its text, and its version."""

    path: Path
    shown: str
    data: bytes | None

    @property
    def text(self) -> str:
        return "" if self.data is None else self.data.decode("utf-8", errors="replace")

    @property
    def version(self) -> str:
        return version(self.data)


class Conflict(LetterError):
    """The file is not the version the page was made from: `theirs` is the file now, `mine` the page's values applied to it."""

    def __init__(self, theirs: LetterFile, mine: bytes) -> None:
        self.theirs, self.mine = theirs, mine
        super().__init__(
            Problem(theirs.shown, "changed on disk since this page showed it (in another window or an editor): nothing was saved")
        )


@dataclass(frozen=True)
class Saved:
    """What a save did: the letter as the page's values make it, and whether the file was written."""

    item: LetterInput
    written: bool
    version: str


def letter_file(batch: Batch, slug: str) -> LetterFile:
    """The file of one of the assessment's letters (a recipient of its list); LetterError for any other slug."""
    path = _path(batch, slug)
    shown = batch.project.shown(path)
    return LetterFile(path, shown, read_data_file(batch.project.data_dir, path, shown))


def _path(batch: Batch, slug: str) -> Path:
    # Only one of the assessment's letters, or a recipient of its own list: the slug names no other file.
    if slug not in batch.recipients.recipients and slug not in batch.names(by_recipient=False):
        raise LetterError(Problem(batch.project.shown(batch.project.letters_dir(batch.assessment.slug)), f"no letter '{slug}'"))
    return batch.project.letters_dir(batch.assessment.slug) / f"{slug}.yaml"


def edited(batch: Batch, data: bytes | None, values: Mapping[str, Any], record: EditRecord | None = None) -> bytes:
    """The file's bytes with these values set: a value of None or '' takes its key out; every other byte as it was.

    Keys are the editable ones and the assessment's fields; Markdown fields are written as
    literal blocks, dates as dates, lists as lists. `record`: who saved it and when, written as
    its `edited:` record (replacing the one it had).
    """
    types = {spec.name: spec.type for spec in batch.assessment.fields}
    lists = {spec.name: spec for spec in batch.assessment.fields if spec.type == "list"}
    allowed = set(EDITABLE) | set(types)
    shown = batch.project.shown(batch.project.letters_dir(batch.assessment.slug))
    try:
        loaded = round_trip(data.decode("utf-8"), shown) if data else None
    except UnicodeDecodeError as exc:
        raise LetterError(Problem(shown, f"cannot edit: {exc}")) from None
    document = loaded if isinstance(loaded, CommentedMap) else CommentedMap(status=DRAFT)
    # What the file is to read as once written: what it read as, with these values set.
    meant = dict(parse_yaml(data.decode("utf-8"), shown).data) if isinstance(loaded, CommentedMap) else {"status": DRAFT}
    changed = []
    for key, value in values.items():
        if key not in allowed:
            raise LetterError(Problem("(the page)", f"'{key}' cannot be set from a page"))
        if value is None or value == "" or value == [] or value == ():
            document.pop(key, None)
            meant.pop(key, None)
            continue
        scalar = _items(document.get(key), value, lists[key]) if key in lists else _scalar(value, types.get(key))
        if key in document:
            document[key] = scalar
        else:
            document.insert(_position(document, key), key, scalar)
        meant[key] = plain(scalar)
        changed.append(key)
    if record is not None:
        entry = CommentedMap(by=record.by, on=record.on)
        if "edited" in document:
            document["edited"] = entry
        else:
            document.insert(_position(document, "edited"), "edited", entry)
        meant["edited"] = {"by": record.by, "on": record.on}
        changed.append("edited")
    try:
        return read_back(dump(document).encode("utf-8"), shown, meant)
    except LetterError:  # text that reads back as something else when written plain (`1:20`, a number): quoted, it cannot
        for key in changed:
            document[key] = _quoted(document[key])
        return read_back(dump(document).encode("utf-8"), shown, meant)


# Line breaks other than "\n": YAML reads U+2028, U+2029 and NEL as line breaks too, and a browser
# sends a pasted one as it is. Saved as "\n", so the text reads back as it was meant.
_BREAKS = re.compile("\r\n|[\r\x85\u2028\u2029]")


def _text(value: str) -> str:
    return _BREAKS.sub("\n", value)


def _quoted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return CommentedMap((key, _quoted(item)) for key, item in value.items())
    if isinstance(value, list | tuple):
        return CommentedSeq(_quoted(item) for item in value)
    return DoubleQuotedScalarString(value) if isinstance(value, str) else value


def _scalar(value: Any, kind: str | None) -> Any:
    if isinstance(value, str):
        value = _text(value)
    if kind == "markdown":
        return literal(str(value).replace("\r\n", "\n"), wrap=False)  # as typed: the page's box shows it as it was
    if kind == "date" and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value  # kept as typed: the validation says what is wrong with it
    if isinstance(value, Sequence) and not isinstance(value, str):
        items = CommentedSeq(_scalar(item, None) for item in value)
        return items
    if isinstance(value, Mapping):
        return CommentedMap((k, _text(v) if isinstance(v, str) else v) for k, v in value.items() if v)
    return value  # ruamel quotes what would not read back as this text


def _items(current: Any, value: Sequence[Mapping[str, Any]], spec: FieldSpec) -> CommentedSeq:
    """A list field's items set in the file's own list, item by item, where it has one (its comments and
    layout kept, a sub-field left as it was where its text is the same); each sub-field written as its type is."""
    kinds = {sub.name: sub.type for sub in spec.items}
    seq = current if isinstance(current, CommentedSeq) else CommentedSeq()
    while len(seq) > len(value):
        seq.pop()
    for n, item in enumerate(value):
        entry = seq[n] if n < len(seq) and isinstance(seq[n], CommentedMap) else CommentedMap()
        for key in [key for key in entry if key not in item]:
            del entry[key]
        for key, text in item.items():
            new = _scalar(text, kinds.get(key))
            if key not in entry or plain(entry[key]) != plain(new):
                entry[key] = new
        if n < len(seq):
            seq[n] = entry
        else:
            seq.append(entry)
    return seq


def _position(document: CommentedMap, key: str) -> int:
    """Where a new key goes: after the keys that come before it in a letter file's usual order."""
    keys = list(document)
    if key in _ORDER:
        before = _ORDER[: _ORDER.index(key)]
        return max((keys.index(k) + 1 for k in before if k in keys), default=0)
    return len(keys)


def try_edit(batch: Batch, slug: str, values: Mapping[str, Any], data: bytes | None) -> LetterInput:
    """The letter as these values would make it, validated as `letters check` does; nothing is written."""
    return read_letter_bytes(batch, slug, edited(batch, data, values))


def save(batch: Batch, slug: str, values: Mapping[str, Any], seen: str, by: str = "", on: dt.date | None = None) -> Saved:
    """Save these values into the letter's file, if it is still the version `seen` and the result is valid.

    Raises Conflict when the file changed since; returns the letter, unwritten, when the values
    make it invalid (its problems say where); an approved letter's changed text then stands as
    changed since its approval, as on the command line. `by`: who saves it; a save that changes
    the file records them and the day (`on`, today by default) as its `edited:` record.
    """
    path = _path(batch, slug)
    shown = batch.project.shown(path)
    with HeldFile(path, shown, batch.project.locks_dir, batch.project.data_dir) as held:
        now = LetterFile(path, shown, held.data)
        if now.version != seen:
            raise Conflict(now, edited(batch, held.data, values))
        new = edited(batch, held.data, values)
        if by and new != held.data:
            new = edited(batch, held.data, values, EditRecord(by, on or dt.date.today()))
        item = read_letter_bytes(batch, slug, new)
        if item.errors:
            return Saved(item, written=False, version=now.version)
        if new != held.data:
            held.write(new)
        return Saved(item, written=True, version=version(new))


def set_draft(batch: Batch, slug: str, seen: str) -> Saved:
    """Set an approved letter back to draft (its approval record stays, naming the last approval)."""
    path = _path(batch, slug)
    shown = batch.project.shown(path)
    with HeldFile(path, shown, batch.project.locks_dir, batch.project.data_dir) as held:
        if version(held.data) != seen:
            raise Conflict(LetterFile(path, shown, held.data), held.data or b"")
        document = round_trip(held.data.decode("utf-8"), shown) if held.data else None
        if not isinstance(document, CommentedMap) or document.get("status") != APPROVED:
            raise LetterError(Problem(shown, "is not approved: nothing to set back"))
        document["status"] = DRAFT
        meant = {**parse_yaml(held.data.decode("utf-8"), shown).data, "status": DRAFT}
        new = read_back(dump(document).encode("utf-8"), shown, meant)
        held.write(new)
        return Saved(read_letter_bytes(batch, slug, new), written=True, version=version(new))
