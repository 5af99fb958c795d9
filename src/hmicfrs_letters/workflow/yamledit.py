"""Writing YAML that people also edit: comments, key order, quoting and layout are kept.

Reading for validation stays with PyYAML (core/load.py); only the commands that change a data file
(`new`, `approve`, `approve-wording`) write through ruamel.yaml's round-trip mode.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import FoldedScalarString

from hmicfrs_letters.core.errors import LetterError, Problem
from hmicfrs_letters.core.files import write_atomic
from hmicfrs_letters.core.load import MAX_FILE_BYTES
from hmicfrs_letters.core.reading import read_project_text

WIDTH = 96


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap what people wrapped by hand
    yaml.indent(mapping=2, sequence=4, offset=2)  # the layout of the project's files
    return yaml


def edit_yaml(path: Path, shown: str, within: Path, change: Callable[[CommentedMap], None]) -> None:
    """Load a mapping with its comments (read as core.reading reads, inside `within`), apply the change, write it back atomically."""
    yaml = _yaml()
    text = read_project_text(within, path, shown, MAX_FILE_BYTES)
    try:
        data = yaml.load(text)
    except YAMLError as exc:
        raise LetterError(Problem(shown, f"cannot edit: {exc}")) from None
    if not isinstance(data, CommentedMap):
        raise LetterError(Problem(shown, "cannot edit: the file is not a mapping of keys"))
    change(data)
    write_atomic(path, dump(data))


def dump(data: CommentedMap) -> str:
    stream = io.StringIO()
    _yaml().dump(data, stream)
    return stream.getvalue()


def folded(text: str, indent: int = 2) -> FoldedScalarString | str:
    """Long text as a folded block (`>-`), wrapped at word breaks so that it reads well in an editor."""
    # Folding joins lines with one space: text with other whitespace stays a quoted string.
    if len(text) < WIDTH - indent or re.search(r"\s\s|[^\S ]", text) or text != text.strip():
        return text
    scalar = FoldedScalarString(text)
    breaks, line_start = [], 0
    for index, char in enumerate(text):
        if char == " " and index - line_start > WIDTH - indent - 20:
            breaks.append(index)
            line_start = index + 1
    scalar.fold_pos = breaks
    return scalar
