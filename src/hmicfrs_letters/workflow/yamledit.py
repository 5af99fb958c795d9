"""Writing YAML that people also edit: comments, key order, quoting and layout are kept.

Reading for validation stays with PyYAML (core/load.py); only the commands that change a data file
(`new`, `approve`, `approve-wording`) write through ruamel.yaml's round-trip mode.
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Callable
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import LiteralScalarString

from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.files import write_atomic

WIDTH = 96
_LIST_ITEM = re.compile(r"\s*(?:[-*+]|\d+[.)])\s+")


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap what people wrapped by hand
    yaml.indent(mapping=2, sequence=4, offset=2)  # the layout of the project's files
    return yaml


def edit_yaml(path: Path, shown: str, change: Callable[[CommentedMap], None]) -> None:
    """Load a mapping with its comments, apply the change, write it back atomically."""
    yaml = _yaml()
    try:
        data = yaml.load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError) as exc:
        raise LetterError(Problem(shown, f"cannot edit: {exc}")) from None
    if not isinstance(data, CommentedMap):
        raise LetterError(Problem(shown, "cannot edit: the file is not a mapping of keys"))
    change(data)
    write_atomic(path, dump(data))


def dump(data: CommentedMap) -> str:
    stream = io.StringIO()
    _yaml().dump(data, stream)
    return stream.getvalue()


def literal(text: str, indent: int = 2) -> LiteralScalarString:
    """Markdown as a literal block (`|`), so that its blank lines and list items stay as typed.

    Lines longer than an editor's width are wrapped at word breaks; Markdown reads a line break
    inside a paragraph as a space, so the letter reads the same.
    """
    lines = []
    for line in text.strip("\n").split("\n"):
        if len(line) <= WIDTH - indent:
            lines.append(line)
            continue
        hang = " " * len(_LIST_ITEM.match(line)[0]) if _LIST_ITEM.match(line) else ""
        lines += textwrap.wrap(line, WIDTH - indent, subsequent_indent=hang, break_long_words=False, break_on_hyphens=False) or [""]
    return LiteralScalarString("\n".join(lines) + "\n" if text.strip() else "")
