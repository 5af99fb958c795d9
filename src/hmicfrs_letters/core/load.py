"""Step 1, load: YAML files into plain data, keeping the line of every key for messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

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

KeyPath = tuple[str | int, ...]


@dataclass
class Document:
    """A loaded YAML file: its data, its path as shown to users, and where each key stands."""

    path: str
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

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
        lines: dict[KeyPath, int] = {(): node.start_mark.line + 1}
        problems: list[Problem] = []
        _walk(node, (), lines, problems, shown_as, [0])
        if problems:
            raise LetterError(problems)
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
    return Document(shown_as, data, lines)


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
