"""The e-mail's parts that come from the data: addresses as checked when loaded, and the patterns of
{placeholders} that give a letter's reference and its e-mail's subject.

A pattern is data, never template code: only the names below are replaced, by plain text, so a
pattern from YAML can print nothing but what it says and the values it names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.utils import parseaddr

# One address as mail programs write it: local-part@domain, the domain of dot-separated labels.
_ADDR_SPEC = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# The names a reference pattern may use, and a subject pattern (which may name the reference too).
REFERENCE_NAMES = ("id", "assessment")
SUBJECT_NAMES = ("id", "assessment", "subject", "recipient", "reference")
# The subject of an e-mail whose assessment gives none: the letter's, and its reference when it has one.
DEFAULT_SUBJECT = "{subject}"
DEFAULT_SUBJECT_WITH_REFERENCE = "{subject} ({reference})"


def address_problem(text: str) -> str:
    """Why this is not one e-mail address (`name@example.org`, or `Name <name@example.org>`); '' when it is."""
    if any(c in text for c in "\r\n"):
        return "an e-mail address is one line"
    if "," in text or ";" in text:
        return f"{text!a} holds more than one address: give a list, one address an item"
    name, addr = parseaddr(text)
    if not addr or not _ADDR_SPEC.fullmatch(addr) or (not name and addr != text.strip()):
        return f"{text!a} is not an e-mail address (name@example.org)"
    return ""


def bare_address(text: str) -> str:
    """The address itself, without a display name: what an SMTP envelope carries."""
    return parseaddr(text)[1]


def pattern_problem(pattern: str, names: tuple[str, ...]) -> str:
    """Why a pattern of {placeholders} cannot be used ('' when it can): a name it may not use, or a stray brace."""
    unknown = [name for name in _PLACEHOLDER.findall(pattern) if name not in names]
    if unknown:
        return f"{{{unknown[0]}}} is not a placeholder it may use; it may use: {', '.join('{' + n + '}' for n in names)}"
    if "{" in _PLACEHOLDER.sub("", pattern) or "}" in _PLACEHOLDER.sub("", pattern):
        return "a brace that is not part of a {placeholder}"
    if any(c in pattern for c in "\r\n"):
        return "it should be one line"
    return ""


def fill(pattern: str, values: Mapping[str, str]) -> str:
    """A checked pattern with each {name} replaced by its value, as plain text."""
    return _PLACEHOLDER.sub(lambda found: str(values.get(found.group(1), found.group(0))), pattern)
