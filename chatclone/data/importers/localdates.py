"""Dates written out in the export's language rather than English, e.g. Google Chat's
`created_date` in a Hungarian Takeout: `2015. február 15., vasárnap 21:54:36 UTC`.

The month (and weekday) names come from the Unicode CLDR through babel, for every language it
knows, so no list of month names is kept here. A date is read only when it says one thing: one
four-digit year, one day, one month name, in a language whose weekday name (if one is written)
agrees; anything else is None, and the importer counts the message as unparsable.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_WORD = re.compile(r"[^\W\d_]+")
_NUMBER = re.compile(r"\d+")
# Chinese, Japanese, Korean: numbers marked as year, month and day instead of month names.
_CJK = re.compile(r"(\d{4})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]")
_ZONES = frozenset(("utc", "gmt", "z"))


def local_time(value: str) -> float | None:
    """Epoch seconds (UTC) of a date and time written out in any language; None when it does
    not say one date unambiguously."""
    clock = _CLOCK.search(value)
    if clock is None:
        return None
    hour, minute, second = (int(g or 0) for g in clock.groups())
    rest = value[: clock.start()] + " " + value[clock.end() :]
    cjk = _CJK.search(rest)
    if cjk is not None:
        year, month, day = map(int, cjk.groups())
        language = None
    else:
        found = _date(rest)
        if found is None:
            return None
        year, month, day, language = found
    hour = _twelve_hour(hour, rest, language)
    try:
        when = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.timezone.utc)
    except (ValueError, TypeError):
        return None
    return when.timestamp()


def _date(text: str) -> tuple[int, int, int, str] | None:
    """(year, month, day, language) from numbers and a month name."""
    numbers = _NUMBER.findall(text)
    years = [int(n) for n in numbers if len(n) == 4]
    days = [int(n) for n in numbers if len(n) <= 2]
    words = [w.lower() for w in _WORD.findall(text) if w.lower() not in _ZONES]
    if len(years) != 1 or len(days) != 1:
        return None
    names = _names()
    months = {  # language -> month, for the words that are a month's name there
        lang: number
        for word in words
        for lang, (kind, number) in names.get(word, {}).items()
        if kind == "month"
    }
    weekdays = {
        lang for w in words for lang, (kind, _) in names.get(w, {}).items() if kind == "day"
    }
    if weekdays:  # a weekday written out narrows the language down
        months = {lang: m for lang, m in months.items() if lang in weekdays} or months
    if len(set(months.values())) != 1:
        return None  # no month name, or names of different months in different languages
    language = min(months)
    return years[0], months[language], days[0], language


def _twelve_hour(hour: int, text: str, language: str | None) -> int:
    """The hour on a 24 h clock: a "PM" marker (the language's, or AM/PM, 午後, 오후) moves it."""
    if hour > 12:
        return hour  # already a 24 h clock, whatever a word in the date looks like
    words = [w.lower() for w in _WORD.findall(text)]
    said = set(words) | {a + b for a, b in zip(words, words[1:])}  # `p. m.` is two words
    am, pm = _day_periods(language) if language else (frozenset(), frozenset())
    if said & (pm | _PM):
        return hour % 12 + 12
    if said & (am | _AM):
        return hour % 12
    return hour


_AM, _PM = frozenset(("am", "午前", "上午", "오전")), frozenset(("pm", "午後", "下午", "오후"))


@functools.lru_cache(maxsize=None)
def _day_periods(language: str) -> tuple[frozenset[str], frozenset[str]]:
    """The language's AM and PM markers, as `_twelve_hour` sees them (letters only)."""
    from babel import Locale

    periods = Locale.parse(language).day_periods.get("format", {})
    forms = [periods.get(width, {}) for width in ("abbreviated", "wide", "narrow")]
    letters = lambda marker: "".join(_WORD.findall(marker.lower()))  # noqa: E731
    am = frozenset(letters(f["am"]) for f in forms if "am" in f) - {""}
    pm = frozenset(letters(f["pm"]) for f in forms if "pm" in f) - {""}
    return am, pm


@functools.lru_cache(maxsize=1)
def _names() -> dict[str, dict[str, tuple[str, int]]]:
    """Every month and weekday name (wide and abbreviated, in their own and stand-alone forms,
    lower case, without an abbreviation's dot) of every language: {word: {language: (kind,
    number)}}. Built once, when the first such date is met (about half a second)."""
    from babel import Locale, localedata

    table: dict[str, dict[str, tuple[str, int]]] = {}
    for language in localedata.locale_identifiers():
        if "_" in language:
            continue  # regional variants repeat their language's names
        locale = Locale.parse(language)
        for kind, names in (("month", locale.months), ("day", locale.days)):
            for context in ("format", "stand-alone"):
                for width in ("wide", "abbreviated"):
                    for number, name in names.get(context, {}).get(width, {}).items():
                        word = name.lower().rstrip(".")
                        if _WORD.fullmatch(word):
                            table.setdefault(word, {})[language] = (kind, number)
    return table
