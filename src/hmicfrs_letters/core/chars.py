"""Characters that must not pass unremarked, and how messages show them.

- Control characters (C0 and C1, but tab and newline) have no place in a letter's text, and
  written to a terminal they are commands (ESC starts a colour, a cursor move or an OSC title).
- Some characters do not come back out of a PDF's text as they went in: ligature code points,
  zero-width and bidirectional format characters, variation selectors, the non-breaking
  hyphen. A letter holding one fails the PDF text check (pdf.verify); `letters check` names
  each one, with its code point and line, before any build.
- Messages show invisible and odd characters escaped (`\\u200b`), so that a file named
  `kent\\u200b.yaml` does not read as `kent.yaml`.
"""

from __future__ import annotations

import re
import unicodedata

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Measured (scripts/unextractable.py, WeasyPrint 70 and PDFium 5.15): each of these, alone in a
# letter's findings, is missing from the text PDFium reads back, in a draft or an approved letter.
# Format characters (zero-width, bidirectional, invisible operators, tags), variation selectors
# and other invisible marks are dropped; ligatures and presentation forms come back as other
# characters. U+2011, the non-breaking hyphen that word processors put in, is not in the letters'
# font (Liberation Sans): another font stands in for it, and in a draft PDFium reads it back with
# a space before it. Other characters the font lacks fare the same way, but which ones depends
# on the fonts; the text check's own message names the character where a passage goes wrong.
# Soft hyphens are not here: the text check drops them on both sides. Re-measure after
# upgrading WeasyPrint or PDFium.
UNEXTRACTABLE = re.compile(
    "[\u034f\u061c\u0e33\u17b4\u17b5\u180b-\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"
    "\u2011\u2800\u302e\u302f\ufb00-\ufb06\ufb1d\ufb1f-\ufb28\ufb2a-\ufb4f\ufb50-\ufbb1\ufbd3-\ufd3d\ufd50-\ufd8f"
    "\ufd92-\ufdc7\ufdf0-\ufdfc\ufe00-\ufe0f\ufe21\ufe23\ufe70-\ufe72\ufe74\ufe76-\ufefc\ufeff"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f\U000e0100-\U000e01ef]"
)
# Shown escaped in messages: controls, format characters (zero-width, bidirectional),
# separators other than the space, private-use, unassigned and surrogate code points.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp", "Zs"})


def describe(char: str) -> str:
    """U+FB01 (LATIN SMALL LIGATURE FI); control characters have no name: U+001B."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} ({name})" if name else f"U+{ord(char):04X}"


# What to write instead, where it is not simply to leave the character out.
_INSTEAD = {"\u2011": "-"}


def instead(char: str) -> str:
    """What a writer should put in place of a character that does not survive in the PDF: '' to leave it out."""
    if char in _INSTEAD:
        return _INSTEAD[char]
    replacement = unicodedata.normalize("NFKC", char)
    return replacement if replacement != char and not UNEXTRACTABLE.search(replacement) else ""


def unextractable_message(char: str) -> str:
    """Why a character stops a letter being issued, and what to write instead."""
    replacement = instead(char)
    fix = f"write {replacement!r} instead" if replacement else "remove it"
    return f"character {describe(char)} does not come back out of the PDF's text, so the letter's PDF would fail its text check; {fix}"


def _hidden(char: str) -> bool:
    return char != " " and unicodedata.category(char) in _HIDDEN_CATEGORIES


def visible(text: str, keep: str = "") -> str:
    """The text with every invisible or control character escaped as Python writes it (`\\x1b`, `\\u200b`); `keep` ones stay."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(ch if ch in keep or not _hidden(ch) else ascii(ch)[1:-1] for ch in text)


def json_safe(text: str) -> str:
    """JSON text (from json.dumps) with the same characters written as JSON escapes: the same value, never raw on a terminal.

    json.dumps escapes C0 controls itself; C1 controls, format characters and the like it leaves raw.
    Raw newlines in JSON text are its own layout, never inside a string, and stay.
    """
    return "".join(_json_escape(ch) if ch != "\n" and _hidden(ch) else ch for ch in text)


def _json_escape(char: str) -> str:
    if ord(char) <= 0xFFFF:
        return f"\\u{ord(char):04x}"
    high, low = divmod(ord(char) - 0x10000, 0x400)
    return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"
