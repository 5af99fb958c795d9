"""Step 1, load: YAML files into plain data, keeping the line of every key for messages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hmicfrs_letters.core.chars import CONTROL, UNEXTRACTABLE, describe, unextractable_message
from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.reading import read_project_text

try:  # the C parser is several times faster and gives the same marks
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

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
        return Problem(self.path, message, self.line(*keys), **kwargs)


def load_yaml(path: Path, shown_as: str, within: Path) -> Document:
    """Read one YAML file, which must be inside `within` (see core.reading); LetterError with a one-line, placed message if it is unusable."""
    return parse_yaml(read_project_text(within, path, shown_as, MAX_FILE_BYTES), shown_as)


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
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = ": ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        if mark is None:
            raise LetterError(Problem(shown_as, message)) from None
        raise LetterError(Problem(shown_as, message, mark.line + 1, mark.column + 1)) from None
    except yaml.YAMLError as exc:
        raise LetterError(Problem(shown_as, f"invalid YAML: {exc}")) from None
    finally:
        loader.dispose()
    return Document(shown_as, data, walk.lines, walk.notes)


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
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
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
