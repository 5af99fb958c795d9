"""YAML mistakes told as a person can act on them: where, in plain words, and the lines themselves.

The parser's own words ("while scanning a simple key: could not find expected ':'") name what it
was doing, not what to do. Each common slip gets a hint naming the line and the fix, and every
error carries an excerpt of the file with a marker under the place, as `letters check` and the
preview show it.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

# How many lines of the file an excerpt shows before the marked one, and after it.
BEFORE, AFTER = 2, 1


@dataclass(frozen=True)
class Explained:
    """A YAML error explained: where (1-based line and column), a plain hint, and the excerpt."""

    line: int
    column: int
    message: str
    excerpt: str


def explain(error: yaml.MarkedYAMLError, text: str) -> Explained:
    """The error placed where a person should look, with a hint in plain words and the file's lines there."""
    problem, context = error.problem or "", error.context or ""
    mark = error.problem_mark or error.context_mark
    opened = error.context_mark
    # For an unclosed bracket or quote, or a line that is not `key: value`, the parser notices only
    # later; the place to look is where the thing began.
    starts_there = (
        any(phrase in context for phrase in ("simple key", "quoted scalar", "flow sequence", "flow mapping")) and opened is not None
    )
    at = opened if starts_there else mark
    line, column = at.line + 1, at.column + 1
    technical = ": ".join(part for part in (context, problem) if part) or "invalid YAML"
    hint = _hint(problem, context, line)
    message = f"{hint} (YAML: {technical})" if hint else technical
    return Explained(line, column, message, excerpt(text, line, column))


def _hint(problem: str, context: str, line: int) -> str:
    if "simple key" in context and "expected ':'" in problem:
        return f"line {line} is not 'key: value': add the ':' after its key or, if it continues the text above, indent it like that text"
    if "tab character" in problem or "'\\t'" in problem:
        return f"line {line} is indented with a tab: indent with spaces"
    if "mapping values are not allowed" in problem:
        return (
            f"line {line} has ': ' inside a value, or is indented more than the lines above it: "
            "put the value in quotes, or indent it like the lines above"
        )
    if "did not find expected key" in problem or "expected <block end>" in problem:
        return f"line {line} must be indented like the lines above it"
    if "expected '-' indicator" in problem:
        return f"line {line} must be indented like the lines above it (each item of the list starts with '- ')"
    if "flow sequence" in context:
        return f"the '[' on line {line} is not closed: close it with ']', or put the value in quotes"
    if "flow mapping" in context:
        return f"the '{{' on line {line} is not closed: close it with '}}', or put the value in quotes"
    if "quoted scalar" in context and "end of stream" in problem:
        return f"the quote that opens on line {line} is not closed: add the closing quote"
    if "unknown escape character" in problem:
        return f"a backslash on line {line} starts an escape in \"double quotes\": write it twice, or use 'single quotes'"
    if "cannot start any token" in problem:
        return f"the value on line {line} starts with a character YAML keeps for itself: put the value in quotes"
    return ""


def excerpt(text: str, line: int, column: int) -> str:
    """A few numbered lines of the file around `line`, with `^` under `column`."""
    lines = text.splitlines() or [""]
    line = min(max(line, 1), len(lines))
    first, last = max(1, line - BEFORE), min(len(lines), line + AFTER)
    width = len(str(last))
    shown = []
    for number in range(first, last + 1):
        shown.append(f"  {number:>{width}} | {_visible(lines[number - 1])}")
        if number == line:
            shown.append(f"  {'':>{width}} | {' ' * max(0, column - 1)}^")
    return "\n".join(shown)


def _visible(line: str) -> str:
    """The line as a terminal can show it: a tab as one space (so the marker lines up), no other control character raw."""
    return "".join(" " if ch == "\t" else (f"\\x{ord(ch):02x}" if ord(ch) < 32 or ord(ch) == 127 else ch) for ch in line)
