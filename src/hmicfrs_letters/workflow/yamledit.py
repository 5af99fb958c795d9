"""Writing YAML that people also edit: comments, key order, quoting and layout are kept.

Reading for validation stays with PyYAML (core/load.py); only the commands that change a data file
(`new`, `approve`, `approve-wording`) write through ruamel.yaml's round-trip mode.
"""

from __future__ import annotations

import io
import json
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import LiteralScalarString

from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.files import write_atomic
from hmicfrs_letters.core.load import MAX_FILE_BYTES, parse_yaml
from hmicfrs_letters.core.models import ApprovalRecord, IssueRecord
from hmicfrs_letters.core.reading import read_project_text

WIDTH = 96
_LIST_ITEM = re.compile(r"\s*(?:[-*+]|\d+[.)])\s+")


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap what people wrapped by hand
    yaml.indent(mapping=2, sequence=4, offset=2)  # the layout of the project's files
    return yaml


def round_trip(text: str, shown: str) -> Any:
    """YAML text loaded with its comments, key order and quoting, to be changed and dumped again.

    It is parsed as core.load parses every file first: ruamel.yaml has no limit of its own on how
    deep a document nests, and would exhaust Python's recursion limit on one that nests too deep.
    """
    parse_yaml(text, shown)  # LetterError, placed, for what the engine would not read either
    try:
        return _yaml().load(text)
    except YAMLError as exc:
        raise LetterError(Problem(shown, f"cannot edit: {exc}")) from None


def edit_yaml(path: Path, shown: str, within: Path, change: Callable[[CommentedMap], None]) -> None:
    """Load a mapping with its comments (read as core.reading reads, inside `within`), apply the change, write it back atomically."""
    data = round_trip(read_project_text(within, path, shown, MAX_FILE_BYTES), shown)
    if not isinstance(data, CommentedMap):
        raise LetterError(Problem(shown, "cannot edit: the file is not a mapping of keys"))
    change(data)
    write_atomic(path, dump(data))


def dump(data: CommentedMap) -> str:
    stream = io.StringIO()
    _yaml().dump(data, stream)
    return stream.getvalue()


def literal(text: str, indent: int = 2, wrap: bool = True) -> LiteralScalarString:
    """Markdown as a literal block (`|`), so that its blank lines and list items stay as typed.

    With `wrap`, lines longer than an editor's width are wrapped at word breaks (Markdown reads a
    line break inside a paragraph as a space, so the letter reads the same); without it (a save
    from the letter page), every line stays as the person typed it.
    """
    lines = []
    for line in text.strip("\n").split("\n"):
        if not wrap or len(line) <= WIDTH - indent:
            lines.append(line)
            continue
        hang = " " * len(_LIST_ITEM.match(line)[0]) if _LIST_ITEM.match(line) else ""
        lines += textwrap.wrap(line, WIDTH - indent, subsequent_indent=hang, break_long_words=False, break_on_hyphens=False) or [""]
    return LiteralScalarString("\n".join(lines) + "\n" if text.strip() else "")


def read_back(new: bytes, shown: str, meant: Any) -> bytes:
    """`new`, once read back with the loader that validated it (core.load) as `meant`, the plain data
    the write was to give; LetterError, with the file left as it was, when it reads as anything else."""
    try:
        got = parse_yaml(new.decode("utf-8"), shown).data
    except (LetterError, UnicodeDecodeError) as exc:
        why = exc.problems[0].message if isinstance(exc, LetterError) else str(exc)
        raise LetterError(
            Problem(shown, f"not written: the file as it would be written cannot be read ({why}); it is left as it was")
        ) from None
    if got != meant:
        differ = sorted(str(key) for key in _differing(got, meant))
        raise LetterError(
            Problem(shown, f"not written: the file as it would be written reads back otherwise ({', '.join(differ)}); it is left as it was")
        )
    return new


def plain(value: Any) -> Any:
    """A value as set in a round-trip document, as the loader reads it back: plain dicts, lists and strings."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return str(value) if isinstance(value, str) else value


def _differing(got: Any, meant: Any) -> list[Any]:
    if isinstance(got, dict) and isinstance(meant, dict):
        return [key for key in got.keys() | meant.keys() if got.get(key) != meant.get(key)]
    return ["the whole file"]


def approval_written(raw: bytes, record: ApprovalRecord, shown: str) -> bytes:
    """A letter file's bytes approved: set in place (set_approval) where that reads back as meant,
    else rewritten by the round trip (a flow-style `{status: draft, …}` file, say); read back
    either way, and LetterError, nothing written, when neither gives the file meant."""
    record_data = {"by": record.by, "on": record.on, "sha256": record.sha256}
    return _record_written(raw, shown, {"status": "approved", "approved": record_data}, lambda: set_approval(raw, record), "approve")


def issued_written(raw: bytes, record: IssueRecord, shown: str) -> bytes:
    """A letter file's bytes with its `issued:` record, as approval_written writes an approval: in place
    (set_issued) where that reads back as meant, else by the round trip; read back either way."""
    record_data = {
        "on": record.on,
        "by": record.by,
        "to": list(record.to),
        "cc": list(record.cc),
        "message_id": record.message_id,
        "sha256": record.sha256,
    }
    return _record_written(raw, shown, {"issued": record_data}, lambda: set_issued(raw, record), "record its issue")


def _record_written(raw: bytes, shown: str, keys: dict[str, Any], in_place: Callable[[], bytes], doing: str) -> bytes:
    text = raw.decode("utf-8")
    meant = {**parse_yaml(text, shown).data, **keys}
    try:
        return read_back(in_place(), shown, meant)
    except (LetterError, yaml.YAMLError, KeyError, ValueError, AttributeError):
        pass  # laid out otherwise than in blocks: the round trip writes it
    document = round_trip(text, shown)
    if not isinstance(document, CommentedMap):
        raise LetterError(Problem(shown, f"cannot {doing}: the file is not a mapping of keys"))
    for key, value in keys.items():
        document[key] = CommentedMap(value) if isinstance(value, dict) else value
    return read_back(dump(document).encode("utf-8"), shown, meant)


def set_approval(raw: bytes, record: ApprovalRecord) -> bytes:
    """A letter file's bytes with `status: approved` and its `approved:` record, and every other byte as it was.

    Only the status's value and the record are written, in place: comments, key order, quoting,
    wrapping, line endings, a byte order mark and `---`/`...` markers stay as they were. The file
    has been validated, so it is a mapping with a `status` key.
    """
    text = raw.decode("utf-8")
    newline = "\r\n" if "\r\n" in text else "\n"
    root = yaml.compose(text, Loader=yaml.SafeLoader)  # the pure-Python parser: its marks count characters
    keys = {key.value: (key, value) for key, value in root.value if isinstance(key, yaml.ScalarNode)}
    status_key, status = keys["status"]
    indent = " " * status_key.start_mark.column
    block = newline.join(
        [
            "approved:",
            f"{indent}  by: {_scalar(record.by)}",
            f"{indent}  on: {record.on.isoformat()}",
            f"{indent}  sha256: {record.sha256}",
        ]
    )
    edits = [(status.start_mark.index, status.end_mark.index, "approved")]
    if "approved" in keys:
        key, value = keys["approved"]
        end = _end(value)
        while end > key.start_mark.index and text[end - 1] in "\r\n":
            end -= 1
        edits.append((key.start_mark.index, end, block))
    else:
        line_end = text.find("\n", status.end_mark.index)
        at = len(text) if line_end < 0 else line_end + 1
        edits.append((at, at, ("" if line_end >= 0 or not text else newline) + indent + block + newline))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text.encode("utf-8")


def set_issued(raw: bytes, record: IssueRecord) -> bytes:
    """A letter file's bytes with its `issued:` record (replacing one it had), and every other byte as it was.

    The record goes where the old one was, or at the end of the file.
    """
    text = raw.decode("utf-8")
    newline = "\r\n" if "\r\n" in text else "\n"
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    keys = {key.value: (key, value) for key, value in root.value if isinstance(key, yaml.ScalarNode)}
    indent = " " * next(iter(keys.values()))[0].start_mark.column if keys else ""

    def listed(name: str, items: tuple[str, ...]) -> list[str]:
        return [f"{indent}  {name}: []"] if not items else [f"{indent}  {name}:", *(f"{indent}    - {_scalar(a)}" for a in items)]

    block = newline.join(
        [
            "issued:",
            f"{indent}  on: {record.on.isoformat()}",
            f"{indent}  by: {_scalar(record.by)}",
            *listed("to", record.to),
            *listed("cc", record.cc),
            f"{indent}  message_id: {_scalar(record.message_id)}",
            f"{indent}  sha256: {_scalar(record.sha256)}",
        ]
    )
    if "issued" in keys:
        key, value = keys["issued"]
        end = _end(value)
        while end > key.start_mark.index and text[end - 1] in "\r\n":
            end -= 1
        return (text[: key.start_mark.index] + block + text[end:]).encode("utf-8")
    body = text.rstrip("\r\n")
    if body.endswith("..."):  # an end-of-document marker stays the last line
        body, marker = body[:-3].rstrip("\r\n"), newline + "..."
    else:
        marker = ""
    return (body + newline + indent + block + marker + newline).encode("utf-8")


def _scalar(text: str) -> str:
    """Text as a YAML scalar: plain where it reads back as itself, double-quoted otherwise."""
    try:
        plain = "\n" not in text and yaml.safe_load(f"k: {text}") == {"k": text}
    except yaml.YAMLError:
        plain = False
    return text if plain else json.dumps(text, ensure_ascii=False)


def _end(node: yaml.Node) -> int:
    """Where a node's own text ends: a block collection's end mark lies at the next key."""
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.value and not node.flow_style:
        last = node.value[-1]
        return _end(last[1] if isinstance(last, tuple) else last)
    return node.end_mark.index
