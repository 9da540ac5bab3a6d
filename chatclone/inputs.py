"""The options of the input side: which exports, who is who, sessions, filters, privacy.

One `InputOptions` object carries them from the command line (`inspect`, `import`, `train`)
or the library (`chatclone.load_chats`) to `data.prepare`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from chatclone.errors import ChatcloneError
from chatclone.options import Group, must, opt

DEFAULT_GAP_HOURS = 6.0  # see data/sessions.py


def parse_day(text: str | None, option: str, end: bool = False) -> float | None:
    """YYYY-MM-DD as epoch seconds (start of the day, or the start of the next one for `end`)."""
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ChatcloneError(
            f"{option} {text!r}: write the date as YYYY-MM-DD, e.g. {option} 2023-01-31"
        ) from None
    day += dt.timedelta(days=1) if end else dt.timedelta(0)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()


@dataclass
class InputOptions(Group):
    """The input side (format, who is who, sessions, filters, privacy): one object for
    `inspect`, `import` and `train`."""

    section = "input"
    format: str | None = opt(
        None,
        "force an input format instead of detecting it (e.g. whatsapp, "
        "'table:sender=From,text=Body')",
        metavar="NAME",
    )
    me: list[str] = opt(
        [],
        "your name as the export shows it; repeat for each platform "
        "(default: whoever takes part in every conversation)",
        metavar="NAME",
        repeatable=True,
    )
    persona: str | None = opt(
        None,
        "sender whose voice is learned (default: the export's owner, i.e. outgoing messages)",
        metavar="NAME",
    )
    session_gap_hours: float = opt(
        DEFAULT_GAP_HOURS,
        "start a new session (dialogue) after a pause longer than this many hours (0: never split)",
    )
    redact: bool = opt(
        True,
        "replace phone numbers, e-mails, URLs, IBANs, card numbers with "
        "placeholders and participants' names with stand-ins",
    )
    keep_persona_name: bool = opt(
        True, "keep the persona's own name (their clone); no: replace it too"
    )
    conversation: list[str] = opt(
        [],
        "only conversations whose title or id contains TEXT (repeatable)",
        metavar="TEXT",
        repeatable=True,
    )
    participant: list[str] = opt(
        [], "only conversations NAME takes part in (repeatable)", metavar="NAME", repeatable=True
    )
    since: str | None = opt(None, "only messages from this day on (YYYY-MM-DD)", metavar="DATE")
    until: str | None = opt(
        None, "only messages up to this day, inclusive (YYYY-MM-DD)", metavar="DATE"
    )
    min_words: int = opt(
        0,
        "leave the persona's turns of fewer than N words out of training, e.g. 3 drops "
        "'Yes.' and 'Uh-huh.' (0: keep all; the count is in dataset.json and the report, "
        "inspect shows it beforehand)",
        metavar="N",
    )

    def check(self) -> None:
        must(self.session_gap_hours >= 0, "session_gap_hours", "at least 0", self.session_gap_hours)
        must(self.min_words >= 0, "min_words", "at least 0", self.min_words)
        parse_day(self.since, "--since")
        parse_day(self.until, "--until")
