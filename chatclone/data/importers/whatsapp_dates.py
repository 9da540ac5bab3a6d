"""WhatsApp dates: the order of day and month is decided from the whole file, not its first lines.

Evidence, strongest first: a component above 31 (a 4-digit year) says where the year is
(first: year/month/day or year/day/month; middle: month/year/day or day/year/month; else last);
a number above 12 where the month would be rules that order out; otherwise the order under which
the dates (in file order) go backwards less often. A tie is read as day/month (year/month/day,
month/year/day where the year is not last), and the report says it was assumed.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from chatclone.data.importers.base import ImportReport

_NUMBERS = re.compile(r"\d+")
_EPOCH = dt.date(1970, 1, 1).toordinal()
DMY, MDY, YMD = "day/month/year", "month/day/year", "year/month/day"
YDM, MYD, DYM = "year/day/month", "month/year/day", "day/year/month"
# Where year, month and day are in the date's three numbers, for each order.
_PLACES = {DMY: (2, 1, 0), MDY: (2, 0, 1), YMD: (0, 1, 2), YDM: (0, 2, 1), MYD: (1, 0, 2)}
_PLACES[DYM] = (1, 2, 0)
# 12 h markers, spaces and dots removed, lower case: "p. m." -> "pm", "nachm." -> "nachm".
_PM = frozenset(("pm", "nachm", "ip", "ös", "пп", "下午", "午後", "오후", "م", "بظ", "अपराह्न"))
_AM = frozenset(("am", "vorm", "ap", "öö", "дп", "上午", "午前", "오전", "ص", "قظ", "पूर्वाह्न"))
_NOT_MARKER = re.compile(r"[\d:.\s]+")  # what is left of a clock is its 12 h marker


def _year(parts: tuple[int, int, int], order: str) -> int:
    """The year as written (two digits: 20xx)."""
    y = parts[_PLACES[order][0]]
    return y + 2000 if y < 100 else y


def _day(parts: tuple[int, int, int], order: str) -> int | None:
    """Days since 1970-01-01 of the date `parts` read in `order`, or None if no such date."""
    iy, im, iday = _PLACES[order]
    y, m, d = parts[iy], parts[im], parts[iday]
    if y < 100:
        y += 2000
    elif y > 2400:
        y -= 543  # Thai exports count years in the Buddhist era: 2566 is 2023
    try:
        return dt.date(y, m, d).toordinal() - _EPOCH
    except ValueError:
        return None


class DateResolver:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: dict[str, tuple[int, int, int] | None] = {}  # distinct dates, in file order
        self.days: dict[str, int | None] = {}
        self.starts: dict[str, float | None] = {}  # epoch seconds of each date's midnight
        self.canon: dict[str, str] = {}
        self.seconds: dict[str, int | None] = {}  # by clock text
        self.order = DMY

    def see(self, date: str) -> str:
        """Records a date; returns the one shared copy of that string."""
        canon = self.canon.get(date)
        if canon is None:
            canon = self.canon[date] = date
            parts = _NUMBERS.findall(date)
            self.seen[date] = (
                (int(parts[0]), int(parts[1]), int(parts[2])) if len(parts) == 3 else None
            )
        return canon

    def decide(self, report: ImportReport) -> None:
        dates = [p for p in self.seen.values() if p is not None]
        self.order, why = self._choose(dates, [k for k, p in self.seen.items() if p is not None])
        report.decisions["date order"] = f"{self.order} ({why})"
        years = {_year(p, self.order) for p in dates}
        if any(y > 2400 for y in years):
            report.decisions["era"] = "Buddhist era years (Thai): 2566 read as 2023"
        if any(y < 1990 for y in years):  # WhatsApp is younger: another calendar's years
            old = min(y for y in years if y < 1990)
            report.decisions["calendar"] = (
                f"years such as {old} read as Gregorian years: if the phone showed another "
                "calendar (Persian, Hijri) the dates are off, the pauses between messages are not"
            )
        self.days = {k: (_day(p, self.order) if p else None) for k, p in self.seen.items()}
        self.starts = {k: (None if d is None else d * 86400.0) for k, d in self.days.items()}

    def clock(self, clock: str) -> int | None:
        """Seconds since midnight of a clock text, remembered (a chat has few distinct ones)."""
        secs = self.seconds.get(clock, -1)
        if secs == -1:
            secs = self.seconds[clock] = seconds(clock)
        return secs

    def _choose(self, dates: list[tuple[int, int, int]], raw: list[str]) -> tuple[str, str]:
        if not dates:
            return DMY, "no dates in the file"
        for place, orders in ((0, (YMD, YDM)), (1, (MYD, DYM))):
            year = [r for r, p in zip(raw, dates) if p[place] > 31]
            if year:
                return self._between(dates, orders, f"the year is at {year[0]}")
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
        # Both run forwards: the day is the number that steps up from one date to the next
        # (1/2, 1/3, 1/4 are three days in a row, not three months).
        steps = {order: self._steps(dates, order) for order in (DMY, MDY)}
        if steps[MDY] < steps[DMY]:
            return MDY, "the dates move in smaller steps when read month first"
        if steps[DMY] < steps[MDY]:
            return DMY, "the dates move in smaller steps when read day first"
        return DMY, "assumed: no date in the file tells the order"

    def _between(
        self, dates: list[tuple[int, int, int]], orders: tuple[str, str], why: str
    ) -> tuple[str, str]:
        """The one of two orders (the year's place known) with fewer impossible or backward
        dates; the first on a tie."""
        a, b = (self._backwards(dates, order) for order in orders)
        if b < a:
            return orders[1], f"{why}; the dates only make sense read {orders[1]}"
        return orders[0], why + ("" if a < b else f"; {orders[0]} assumed")

    @staticmethod
    def _backwards(dates: list[tuple[int, int, int]], order: str) -> int:
        days = [d for d in (_day(p, order) for p in dates) if d is not None]
        invalid = len(dates) - len(days)
        return invalid * 1000 + sum(1 for x, y in zip(days, days[1:]) if y < x)

    @staticmethod
    def _steps(dates: list[tuple[int, int, int]], order: str) -> int:
        """Days between consecutive dates, summed: the right order makes the smallest steps."""
        days = [d for d in (_day(p, order) for p in dates) if d is not None]
        return sum(abs(y - x) for x, y in zip(days, days[1:]))

    def timestamp(self, date: str, clock: str) -> float | None:
        start, secs = self.starts.get(date), self.clock(clock)
        return None if start is None or secs is None else start + secs


def seconds(clock: str) -> int | None:
    """Seconds since midnight of `9:41 PM`, `21.25.15`, `9:05 a. m.`, …; None if no such time."""
    parts = [int(x) for x in _NUMBERS.findall(clock)]
    h, m, s = (parts + [0])[:3]
    key = _NOT_MARKER.sub("", clock).lower()  # before or after the time, any digits
    if key:
        if not 1 <= h <= 12 or (key not in _PM and key not in _AM):
            return None
        h = (h % 12) + (12 if key in _PM else 0)  # 12:xx AM is 00:xx, 12:xx PM is 12:xx
    if h > 23 or m > 59 or s > 59:
        return None
    return h * 3600 + m * 60 + s
