"""Timestamps written as text or numbers by several platforms, checked to be real times.

A time field of `inf`, `NaN` or `1e300` is no time: it is refused here (None), never scaled,
sorted or shown, so no importer loops on it and no report fails to print its date.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

_FRACTION = re.compile(r"\.(\d+)")
# What `datetime` can show: 0001-01-01 to 9999-12-31, in seconds since the epoch.
FIRST, LAST = -62135596800.0, 253402300799.0


def valid_time(ts: Any) -> bool:
    """Whether `ts` is seconds since the epoch that a date can be made of (False for NaN)."""
    return (
        isinstance(ts, (int, float))
        and not isinstance(ts, bool)
        and FIRST <= _float(ts, math.nan) <= LAST
    )


def _float(value: Any, default: float) -> float:
    try:
        return float(value)
    except (OverflowError, ValueError, TypeError):
        return default  # an int too big for a float, or not a number


def float_or_nan(value: int | float) -> float:
    """`float(value)`, or NaN for an integer too big for any float: a time that is no time,
    skipped and counted as a `bad timestamp` like `inf` and `1e300`."""
    return _float(value, math.nan)


def time_key(ts: float) -> float:
    """A sort key for a time that may be NaN: NaN compares false with everything and would
    scramble the order of the others, so it sorts last (it is skipped later anyway)."""
    return ts if ts == ts else math.inf


def epoch_seconds(value: Any) -> float | None:
    """Seconds since the epoch from a number of seconds, milliseconds, microseconds or
    nanoseconds (told apart by size); None for what is no time (inf, NaN, 1e300, a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    seconds = _float(value, math.nan)
    for _ in range(3):  # at most ns -> s; never a loop that `inf` keeps going
        if not abs(seconds) > 1e11:
            break
        seconds /= 1000
    return seconds if FIRST <= seconds <= LAST else None


def parse_iso(value: Any) -> float | None:
    """ISO 8601 with offset (or `Z`) to epoch seconds; fractions of any length."""
    if not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    try:
        stamp = dt.datetime.fromisoformat(text)
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=dt.timezone.utc)
        seconds = stamp.timestamp()
    except (ValueError, OverflowError, OSError):
        return None  # not a date, or one whose offset takes it out of the years 1-9999
    return seconds if FIRST <= seconds <= LAST else None
