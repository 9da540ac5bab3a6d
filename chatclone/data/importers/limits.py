"""How much one import may read: limits against broken or hostile exports.

A 300 KB zip can expand to gigabytes and a file without line ends can be one 20 GB line, so
every read that could grow without bound stops at a limit. Each limit is an environment
variable; the error that reaches one names it and says how to raise it. Streamed files
(a Telegram `result.json` of several GB) have no total limit: only one of their values must fit.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from chatclone.errors import ChatcloneError

MB = 1 << 20


@dataclass(frozen=True)
class Limit:
    env: str
    default: float
    unit: str  # "MB" (the value is megabytes) or "" (a plain number)
    what: str

    def value(self) -> int:
        """The limit in bytes (for MB limits) or as a count; a bad setting is an error."""
        number = self.setting()
        return int(number * MB) if self.unit == "MB" else int(number)

    def setting(self) -> float:
        """The number as set (megabytes for MB limits), or the default."""
        text = os.environ.get(self.env, "").strip()
        try:
            number = float(text) if text else self.default
        except ValueError:
            number = math.nan
        if not number > 0 or math.isinf(number):
            raise ChatcloneError(
                f"{self.env}={text!r}: give a positive number, e.g. {self.env}={self.default:g}"
            )
        return number

    def exceeded(self, subject: str) -> ChatcloneError:
        """`subject` (e.g. "FILE, line 3") is over the limit: the one-line error, with the fix."""
        shown = self.setting()
        unit = f" {self.unit}" if self.unit else ""
        return ChatcloneError(
            f"{subject}: over the limit of {shown:g}{unit} for {self.what} ({self.env}); "
            f"if the export is genuine, raise it, e.g. {self.env}={max(shown * 4, 1):g}"
        )


FILE = Limit(
    "CHATCLONE_MAX_FILE_MB",
    1024,
    "MB",
    "one file read whole, one line of text or one JSON value",
)
UNZIPPED = Limit("CHATCLONE_MAX_UNZIPPED_MB", 8192, "MB", "all the files taken out of one zip")
ZIP_ENTRY = Limit("CHATCLONE_MAX_ZIP_ENTRY_MB", 4096, "MB", "one file taken out of a zip")
ZIP_RATIO = Limit(
    "CHATCLONE_MAX_ZIP_RATIO",
    200,
    "",
    "how many times larger than its compressed size a zipped file may be",
)
ZIP_ENTRIES = Limit("CHATCLONE_MAX_ZIP_ENTRIES", 100_000, "", "chat files in one zip")
ALL = (FILE, UNZIPPED, ZIP_ENTRY, ZIP_RATIO, ZIP_ENTRIES)
