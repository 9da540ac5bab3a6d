"""Timestamps written as text by several platforms."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_FRACTION = re.compile(r"\.(\d+)")


def parse_iso(value: Any) -> float | None:
    """ISO 8601 with offset (or `Z`) to epoch seconds; fractions of any length."""
    if not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.timezone.utc)
    return stamp.timestamp()
