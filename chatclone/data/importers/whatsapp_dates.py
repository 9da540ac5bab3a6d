"""WhatsApp dates: the order of day and month is decided from the whole file, not its first lines.

Evidence, strongest first: a 4-digit first component means year/month/day; a first component
above 12 means day/month; a second component above 12 means month/day; otherwise the order under
which the dates (in file order) go backwards less often. A tie is read as day/month, the order
of most locales, and the report says it was assumed.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from chatclone.data.importers.base import ImportReport

_SPLIT = re.compile(r"[./-]")
_EPOCH = dt.date(1970, 1, 1).toordinal()
DMY, MDY, YMD = "day/month/year", "month/day/year", "year/month/day"


def _day(parts: tuple[int, int, int], order: str) -> int | None:
    """Days since 1970-01-01 of the date `parts` read in `order`, or None if no such date."""
    a, b, c = parts
    y, m, d = {DMY: (c, b, a), MDY: (c, a, b), YMD: (a, b, c)}[order]
    if y < 100:
        y += 2000
    try:
        return dt.date(y, m, d).toordinal() - _EPOCH
    except ValueError:
        return None


class DateResolver:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: dict[str, tuple[int, int, int] | None] = {}  # distinct dates, in file order
        self.days: dict[str, int | None] = {}
        self.canon: dict[str, str] = {}
        self.seconds: dict[tuple[str, str | None], int | None] = {}
        self.order = DMY

    def see(self, date: str) -> str:
        """Records a date; returns the one shared copy of that string."""
        canon = self.canon.get(date)
        if canon is None:
            canon = self.canon[date] = date
            parts = _SPLIT.split(date)
            self.seen[date] = (
                (int(parts[0]), int(parts[1]), int(parts[2])) if len(parts) == 3 else None
            )
        return canon

    def decide(self, report: ImportReport) -> None:
        dates = [p for p in self.seen.values() if p is not None]
        self.order, why = self._choose(dates, [k for k, p in self.seen.items() if p is not None])
        report.decisions["date order"] = f"{self.order} ({why})"
        self.days = {k: (_day(p, self.order) if p else None) for k, p in self.seen.items()}

    def _choose(self, dates: list[tuple[int, int, int]], raw: list[str]) -> tuple[str, str]:
        if not dates:
            return DMY, "no dates in the file"
        year_first = [r for r, p in zip(raw, dates) if p[0] > 31]
        if year_first:
            return YMD, f"the year comes first, e.g. {year_first[0]}"
        day_first = [r for r, p in zip(raw, dates) if p[0] > 12]
        month_first = [r for r, p in zip(raw, dates) if p[1] > 12]
        if day_first and len(day_first) >= len(month_first):
            return DMY, f"a first number above 12, e.g. {day_first[0]}"
        if month_first:
            return MDY, f"a second number above 12, e.g. {month_first[0]}"
        backwards = {order: self._backwards(dates, order) for order in (DMY, MDY)}
        if backwards[MDY] < backwards[DMY]:
            return MDY, "the dates only run forwards when read month first"
        if backwards[DMY] < backwards[MDY]:
            return DMY, "the dates only run forwards when read day first"
        return DMY, "assumed: no date in the file tells the order"

    @staticmethod
    def _backwards(dates: list[tuple[int, int, int]], order: str) -> int:
        days = [d for d in (_day(p, order) for p in dates) if d is not None]
        invalid = len(dates) - len(days)
        return invalid * 1000 + sum(1 for x, y in zip(days, days[1:]) if y < x)

    def timestamp(self, date: str, time: str, ampm: str | None) -> float | None:
        day = self.days.get(date)
        if day is None:
            return None
        key = (time, ampm)
        secs = self.seconds.get(key, -1)
        if secs == -1:
            secs = self.seconds[key] = _seconds(time, ampm)
        return None if secs is None else float(day * 86400 + secs)


def _seconds(time: str, ampm: str | None) -> int | None:
    parts = [int(x) for x in _SPLIT.split(time.replace(":", "."))]
    h, m, s = (parts + [0])[:3]
    if ampm is not None:
        if not 1 <= h <= 12:
            return None
        pm = ampm.lstrip()[:1].lower() == "p"
        h = (h % 12) + (12 if pm else 0)  # 12:xx AM is 00:xx, 12:xx PM is 12:xx
    if h > 23 or m > 59 or s > 59:
        return None
    return h * 3600 + m * 60 + s
