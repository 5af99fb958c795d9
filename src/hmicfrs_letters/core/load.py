"""Step 1, load: YAML files into plain data, keeping the line of every key for messages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from hmicfrs_letters.core.chars import CONTROL, UNEXTRACTABLE, describe, unextractable_message
from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.reading import read_project_text
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


class _Unbuildable(Exception):
    """Internal: carries the node a value could not be built from."""

    def __init__(self, node: yaml.Node, error: Exception) -> None:
        super().__init__(str(error))
        self.node, self.error = node, error


def _construct_object(self: Any, node: yaml.Node, deep: bool = False) -> Any:
    """The constructor's own, with any error building a value (an impossible date, an integer too
    long to convert) raised as _Unbuildable, which knows the value's node and so its line."""
    try:
        return _SafeLoader.construct_object(self, node, deep)
    except _Unbuildable:
        raise
    except yaml.YAMLError:
        raise
    except Exception as exc:  # whatever a constructor raises (ValueError, OverflowError, …) is this value's problem
        raise _Unbuildable(node, exc) from None


_Loader.construct_object = _construct_object  # type: ignore[method-assign]

# The tags a value may have: YAML's plain kinds, as the safe loader resolves them or as written
# (`!!str 0123`). Others (`!!binary`, `!!set`, `!!omap`, `!custom`) make values no letter uses,
# and `<<` merge keys hide where a key comes from: each is refused at its line.
_TAG = "tag:yaml.org,2002:"
ALLOWED_TAGS = frozenset(_TAG + kind for kind in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map"))
MERGE_TAG = _TAG + "merge"
_NUMBER_TAGS = (_TAG + "int", _TAG + "float")
MAX_NUMBER_CHARS = 100

# Limits that keep a hostile file from exhausting time or memory: the raw size, and the number
# of nodes once aliases are followed (a "billion laughs" document is tiny on disk).
MAX_FILE_BYTES = 1_000_000
MAX_NODES = 50_000
# The letters' data is at most four levels deep; libyaml itself stops at 1,000, deep enough to
# exhaust Python's recursion limit in whatever walks the result.
MAX_DEPTH = 20

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
    # Problems in its values that do not stop it being read: characters a PDF would lose.
    problems: list[Problem] = field(default_factory=list)

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


def load_yaml(path: Path, shown_as: str, within: Path) -> Document:
    """Read one YAML file, which must be inside `within` (see core.reading); LetterError with a one-line, placed message if it is unusable."""
    return parse_yaml(read_project_text(within, path, shown_as, MAX_FILE_BYTES), shown_as)


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
        walk = _Walk(text, shown_as)
        walk.node(node, (), 1)
        if walk.errors:
            raise LetterError(walk.errors)
        folded: dict[KeyPath, int] = {}
        _find_folded_breaks(node, (), text.splitlines(), folded)
        data = loader.construct_document(node)
    except _Unbuildable as exc:
        raise LetterError(Problem(shown_as, _unbuildable(exc.node, exc.error), _line(exc.node))) from None
    except yaml.MarkedYAMLError as exc:
        if (exc.problem_mark or exc.context_mark) is None:
            raise LetterError(Problem(shown_as, ": ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML")) from None
        told = explain(exc, text)
        raise LetterError(Problem(shown_as, told.message, told.line, told.column, detail=told.excerpt)) from None
    except yaml.YAMLError as exc:
        raise LetterError(Problem(shown_as, f"invalid YAML: {exc}")) from None
    finally:
        loader.dispose()
    return Document(shown_as, data, walk.lines, folded, walk.notes)


def _unbuildable(node: yaml.Node, error: Exception) -> str:
    """Why a value cannot be read, in plain words: a date or time that does not exist, a number too long."""
    value = str(node.value)
    shown = value if len(value) <= 40 else f"{value[:20]}…{value[-8:]} ({len(value):,} characters)"
    kind = node.tag.removeprefix(_TAG)
    if kind == "timestamp":
        return f"'{shown}' is not a date (or time) that exists ({error}): write a real one, or put the value in quotes"
    if kind in ("int", "float"):
        return f"'{shown}' cannot be read as a number ({error}): put the value in quotes if it is text"
    return f"'{shown}' cannot be read as YAML's {kind} ({error}): put the value in quotes if it is text"


# YAML's line breaks, as its parser counts lines.
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


class _Walk:
    """One pass over the parsed nodes, before anything is built from them: the line of every key,
    and what is wrong with the document as a whole (its size once aliases are expanded, its
    depth, duplicate keys, keys that are not text, control characters) or with its characters."""

    def __init__(self, text: str, shown_as: str) -> None:
        self.text, self.shown_as = text, shown_as
        self.lines: dict[KeyPath, int] = {}
        self.errors: list[Problem] = []  # the document cannot be used
        self.notes: list[Problem] = []  # it can, but its letter's PDF would fail (Document.problems)
        self.count = 0
        self._text_lines: list[str] | None = None

    def node(self, node: yaml.Node, path: KeyPath, depth: int) -> None:
        self.count += 1
        if self.count > MAX_NODES:
            raise LetterError(Problem(self.shown_as, f"document is too large once its aliases are expanded (over {MAX_NODES:,} values)"))
        if depth > MAX_DEPTH:  # building it, or walking it, would take one Python frame a level
            raise LetterError(
                Problem(
                    self.shown_as, f"values are nested more than {MAX_DEPTH} levels deep; a letter's data is a few levels deep", _line(node)
                )
            )
        self.lines.setdefault(path, _line(node))
        if node.tag not in ALLOWED_TAGS:
            shown = node.tag.replace(_TAG, "!!")
            message = (
                f"the YAML tag '{shown}' is not allowed: write plain text, numbers, dates, lists and mappings "
                "(put a value that starts with '!' or is '=' in quotes)"
            )
            self.errors.append(Problem(self.shown_as, message, _line(node)))
            return
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.tag == MERGE_TAG:
                    message = "a merge key ('<<:') is not allowed: write each key out where it belongs"
                    self.errors.append(Problem(self.shown_as, message, _line(key_node)))
                    continue
                if not isinstance(key_node, yaml.ScalarNode):
                    self.errors.append(Problem(self.shown_as, "a key must be a name, not a list or a mapping", _line(key_node)))
                    continue
                self.scalar(key_node, value=False)
                sub = (*path, key_node.value)
                if sub in self.lines:
                    self.errors.append(Problem(self.shown_as, f"duplicate key '{key_node.value}'", _line(key_node)))
                self.lines[sub] = _line(key_node)
                self.node(value_node, sub, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.node(item, (*path, index), depth + 1)
        else:
            self.scalar(node, value=True)

    def scalar(self, node: yaml.Node, value: bool) -> None:
        if node.tag in _NUMBER_TAGS and len(node.value) > MAX_NUMBER_CHARS:  # 0xfff… converts, but no message could print it
            message = f"a number {len(node.value):,} characters long: no letter needs one; put the value in quotes if it is text"
            self.errors.append(Problem(self.shown_as, message, _line(node)))
        found = CONTROL.search(node.value)
        if found:
            char = found.group()
            where = "a value" if value else "a key"
            message = f"control character {describe(char)} in {where}; text may hold tabs and line breaks, no other control characters"
            self.errors.append(Problem(self.shown_as, message, self._line_of(node, char)))
        if value:
            for char in dict.fromkeys(UNEXTRACTABLE.findall(node.value)):
                self.notes.append(Problem(self.shown_as, unextractable_message(char), self._line_of(node, char)))

    def _line_of(self, node: yaml.Node, char: str) -> int:
        """The line where a character of this node is written; its first line when it is written as an escape (\\u200b)."""
        if self._text_lines is None:
            self._text_lines = _LINE_BREAK.split(self.text)
        last = min(node.end_mark.line, len(self._text_lines) - 1)
        return next((n + 1 for n in range(node.start_mark.line, last + 1) if char in self._text_lines[n]), _line(node))


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


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
