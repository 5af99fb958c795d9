"""A letter's languages: which tags are known, and a date as each writes it (babel, the CLDR's data)."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

# A letter's date as its language writes it: day, month in full, year ("2 October 2017", "2 Hydref 2017"),
# the month's name from the CLDR through babel. (A CLDR pattern: d, the day without a leading zero.)
DATE_PATTERN = "d MMMM y"
DEFAULT_LANGUAGE = "en-GB"


def long_date(value: Any, language: str = DEFAULT_LANGUAGE) -> Any:
    """The date as a letter in this language writes it, "2 October 2017", "2 Hydref 2017" (a field's placeholder as it is).

    A language is a BCP 47 tag as `lang` takes it (en-GB, cy); one babel does not know is a ValueError
    (core.schema refuses it first: `known_language`)."""
    if not isinstance(value, dt.date):
        return value
    return _formatted(value, str(language))


# Kept: babel takes ~1 ms a date, and a check of 43 letters prints the same few dates fifty times.
@functools.lru_cache(maxsize=1024)
def _formatted(value: dt.date, language: str) -> str:
    from babel.dates import format_date  # only when a date is printed: `letters --help` does not pay for it

    return format_date(value, DATE_PATTERN, locale=_locale(language))


@functools.lru_cache(maxsize=64)
def _locale(language: str) -> Any:
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(str(language).replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError) as exc:
        raise ValueError(f"no dates are known for the language {language!a}") from exc


def known_language(language: str) -> bool:
    """Whether dates can be written in this language (a tag babel's CLDR data knows: en-GB, cy)."""
    try:
        _locale(language)
    except ValueError:
        return False
    return True


def language_name(language: str) -> str:
    """A language's name in English, for the people who edit letters: cy -> "Welsh", en-GB -> "English (United Kingdom)"."""
    try:
        return str(_locale(language).get_display_name("en"))
    except ValueError:
        return language
