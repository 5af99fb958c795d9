"""Step 1, load: YAML files into plain data, keeping the line of every key for messages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.yamlerrors import explain

try:  # the C parser is several times faster and gives the same marks
    _SafeLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _SafeLoader = yaml.SafeLoader


class _Loader(_SafeLoader):
    """The safe loader, with YAML 1.2's booleans: only true and false.

    YAML 1.1 also reads on, off, yes and no as booleans: the approval record's `on:` (its date)
    would be the key True, and a force's `copied_to: No` the value False.
    """

    yaml_implicit_resolvers: ClassVar[dict] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in _SafeLoader.yaml_implicit_resolvers.items()
    }


_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))

# Limits that keep a hostile file from exhausting time or memory: the raw size, and the number
# of nodes once aliases are followed (a "billion laughs" document is tiny on disk).
MAX_FILE_BYTES = 1_000_000
MAX_NODES = 50_000

KeyPath = tuple[str | int, ...]


@dataclass
class Document:
    """A loaded YAML file: its data, its path as shown to users, and where each key stands."""

    path: str
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)
    # Folded blocks (`>`) that hold a blank line or a list item, and the line of the first: YAML
    # folds them into the text around them, so their paragraphs and lists are lost.
    folded: dict[KeyPath, int] = field(default_factory=dict)

    def line(self, *keys: str | int) -> int | None:
        """The line of the deepest of these keys that the file has (1-based)."""
        while keys:
            if keys in self.lines:
                return self.lines[keys]
            keys = keys[:-1]
        return self.lines.get(())

    def problem(self, message: str, *keys: str | int, **kwargs: Any) -> Problem:
        """A problem placed at these keys of this file."""
        key = keys[0] if keys and isinstance(keys[0], str) else ""
        return Problem(self.path, message, self.line(*keys), key=key, **kwargs)


def load_yaml(path: Path, shown_as: str) -> Document:
    """Read one YAML file; raise LetterError with a one-line, placed message if it is unusable."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LetterError(Problem(shown_as, f"file is too large ({size:,} bytes; the limit is {MAX_FILE_BYTES:,})"))
        raw = path.read_bytes()
    except OSError as exc:
        raise LetterError(Problem(shown_as, f"cannot read file: {exc.strerror or exc}")) from None
    return load_bytes(raw, shown_as)


def load_bytes(raw: bytes, shown_as: str) -> Document:
    """A YAML file's bytes, as read once (see core.files.HeldFile), parsed as load_yaml does."""
    if len(raw) > MAX_FILE_BYTES:
        raise LetterError(Problem(shown_as, f"file is too large ({len(raw):,} bytes; the limit is {MAX_FILE_BYTES:,})"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line, column = before.count(b"\n") + 1, exc.start - (before.rfind(b"\n") + 1) + 1
        raise LetterError(
            Problem(shown_as, f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8", line, column)
        ) from None
    return parse_yaml(text, shown_as)


def parse_yaml(text: str, shown_as: str) -> Document:
    """Parse YAML text with the safe loader (no tags that run code), recording key lines."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Document(shown_as, None, {(): 1})
        lines: dict[KeyPath, int] = {(): node.start_mark.line + 1}
        problems: list[Problem] = []
        _walk(node, (), lines, problems, shown_as, [0])
        if problems:
            raise LetterError(problems)
        folded: dict[KeyPath, int] = {}
        _find_folded_breaks(node, (), text.splitlines(), folded)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        if (exc.problem_mark or exc.context_mark) is None:
            raise LetterError(Problem(shown_as, ": ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML")) from None
        told = explain(exc, text)
        raise LetterError(Problem(shown_as, told.message, told.line, told.column, detail=told.excerpt)) from None
    except yaml.YAMLError as exc:
        raise LetterError(Problem(shown_as, f"invalid YAML: {exc}")) from None
    finally:
        loader.dispose()
    return Document(shown_as, data, lines, folded)


def _walk(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], problems: list[Problem], shown_as: str, count: list[int]) -> None:
    count[0] += 1
    if count[0] > MAX_NODES:
        raise LetterError(Problem(shown_as, f"document is too large once its aliases are expanded (over {MAX_NODES:,} values)"))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark)
            sub = (*path, key)
            if sub in lines:
                problems.append(Problem(shown_as, f"duplicate key '{key}'", key_node.start_mark.line + 1))
            lines[sub] = key_node.start_mark.line + 1
            _walk(value_node, sub, lines, problems, shown_as, count)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            sub = (*path, index)
            lines[sub] = item.start_mark.line + 1
            _walk(item, sub, lines, problems, shown_as, count)


_LIST_ITEM = re.compile(r"\s*(?:[-*+]|\d+[.)])\s")


def _find_folded_breaks(node: yaml.Node, path: KeyPath, lines: list[str], found: dict[KeyPath, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                _find_folded_breaks(value_node, (*path, key_node.value), lines, found)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _find_folded_breaks(item, (*path, index), lines, found)
    elif isinstance(node, yaml.ScalarNode) and node.style == ">":
        end = node.end_mark.line + (node.end_mark.column > 0)  # the block's last line, or the one after it
        body = list(range(node.start_mark.line + 1, min(end, len(lines))))
        while body and not lines[body[-1]].strip():  # blank lines at the end are chomped, not folded
            body.pop()
        for number in body:
            if not lines[number].strip() or _LIST_ITEM.match(lines[number]):
                found[path] = number + 1
                return
