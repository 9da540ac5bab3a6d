"""Typed, frozen records every importer produces and every later stage consumes.

A `Message` is one line of a chat as the platform exported it; a `Conversation` is the ordered
list of them for one chat. Validation happens here, once, so a bad record is reported with the
place it came from (`source`: file and line or record index) instead of failing later.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from operator import attrgetter, gt, le
from typing import Iterator

from chatclone.errors import ChatcloneError

_TIMES = frozenset((float, int, type(None)))
_set = object.__setattr__  # how a frozen dataclass sets its fields
_sender, _timestamp = attrgetter("sender"), attrgetter("timestamp")


@dataclass(frozen=True, slots=True)  # slots: a million messages fit in far less memory
class Message:
    sender: str
    text: str
    timestamp: float | None = None  # epoch seconds (UTC, or naive local time read as UTC)
    outgoing: bool | None = None  # True: written by the export's owner; None: unknown
    source: str = ""  # where it came from, e.g. "export.json record 12" (for error messages)

    # Written out rather than generated: a million of these are made per import, and this is
    # about a third cheaper than the generated frozen __init__ + __post_init__.
    def __init__(
        self,
        sender: str,
        text: str,
        timestamp: float | None = None,
        outgoing: bool | None = None,
        source: str = "",
    ) -> None:
        _set(self, "sender", sender)
        _set(self, "text", text)
        _set(self, "timestamp", timestamp)
        _set(self, "outgoing", outgoing)
        _set(self, "source", source)
        # The valid case in one test; anything else gets the checks that name the problem.
        if not (
            type(sender) is str
            and type(text) is str
            and type(timestamp) in _TIMES
            and sender
            and not sender.isspace()
        ):
            self._invalid()

    def _invalid(self) -> None:
        where = f" ({self.source})" if self.source else ""
        if not isinstance(self.sender, str) or not self.sender.strip():
            raise ChatcloneError(
                f"message without a sender{where}: every message needs a sender name"
            )
        if not isinstance(self.text, str):
            raise ChatcloneError(
                f"message text is {type(self.text).__name__}, not text{where}; the export is "
                "damaged there: export it again, or remove that record"
            )
        if self.timestamp is not None and not isinstance(self.timestamp, (int, float)):
            raise ChatcloneError(
                f"timestamp {self.timestamp!r} is not a number{where}; the export is damaged "
                "there: export it again, or remove that record"
            )


@dataclass(frozen=True)
class Conversation:
    id: str
    messages: tuple[Message, ...]
    title: str = ""  # e.g. the other person's name
    platform: str = ""
    participants: tuple[str, ...] = field(default=())
    redacted: bool = False  # PII already replaced (e.g. read back from `chatclone import -o`)

    def __post_init__(self) -> None:
        if not self.participants:
            seen = dict.fromkeys(map(_sender, self.messages))
            object.__setattr__(self, "participants", tuple(seen))

    @property
    def owner_names(self) -> set[str]:
        """Senders marked as the export's owner (`outgoing`)."""
        return {m.sender for m in self.messages if m.outgoing}


def out_of_order(messages: list[Message]) -> bool:
    """True if a timestamp is smaller than the one before it (all must be set); one pass in C."""
    times = list(map(_timestamp, messages))
    return any(map(gt, times, islice(times, 1, None)))


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while millions of records are built: they hold no
    cycles, yet each full collection walks every object made so far, which nearly doubles the
    time of an import. Nested use is fine; the previous state is restored."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _time_key(m: Message) -> float:
    return m.timestamp if m.timestamp is not None else 0.0


def in_time_order(messages: tuple[Message, ...]) -> tuple[Message, ...]:
    """The messages sorted by time, stably (missing timestamps count as 0); the same tuple when
    they already are, which exports almost always are: one pass in C instead of a sort and copy."""
    keys = [m.timestamp for m in messages]
    if None in keys:
        keys = [0.0 if k is None else k for k in keys]
    if all(map(le, keys, islice(keys, 1, None))):
        return messages
    return tuple(sorted(messages, key=_time_key))
