"""Options of the input side (who is who, sessions, filters, privacy), shared by `import`,
`inspect` and `train`. Declared once here; `TrainConfig` inherits them."""

from __future__ import annotations

from dataclasses import dataclass

from chatclone.args import opt
from chatclone.sessions import DEFAULT_GAP_HOURS


@dataclass
class InputOptions:
    me: list[str] = opt([], "your name as the export shows it; repeat for each platform "
                        "(default: whoever takes part in every conversation)", metavar="NAME",
                        repeatable=True)
    session_gap_hours: float = opt(DEFAULT_GAP_HOURS, "start a new session (dialogue) after a "
                                   "pause longer than this many hours (0: never split)")
    redact: bool = opt(True, "replace phone numbers, e-mails, URLs, IBANs, card numbers with "
                       "placeholders and participants' names with stand-ins")
    keep_persona_name: bool = opt(False, "do not pseudonymise the persona's own name")
    conversation: list[str] = opt([], "only conversations whose title or id contains TEXT "
                                  "(repeatable)", metavar="TEXT", repeatable=True)
    participant: list[str] = opt([], "only conversations NAME takes part in (repeatable)",
                                 metavar="NAME", repeatable=True)
    since: str | None = opt(None, "only messages from this day on (YYYY-MM-DD)", metavar="DATE")
    until: str | None = opt(None, "only messages up to this day, inclusive (YYYY-MM-DD)",
                            metavar="DATE")
