"""Typed, frozen records every importer produces and every later stage consumes.

A `Message` is one line of a chat as the platform exported it; a `Conversation` is the ordered
list of them for one chat. Validation happens here, once, so a bad record is reported with the
place it came from (`source`: file and line or record index) instead of failing later.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chatclone.errors import ChatcloneError


_TIMES = frozenset((float, int, type(None)))


@dataclass(frozen=True, slots=True)  # slots: a million messages fit in far less memory
class Message:
    sender: str
    text: str
    timestamp: float | None = None  # epoch seconds (UTC, or naive local time read as UTC)
    outgoing: bool | None = None  # True: written by the export's owner; None: unknown
    source: str = ""  # where it came from, e.g. "export.json record 12" (for error messages)

    def __post_init__(self) -> None:
        # Fast path for the valid case (a million times per import); errors take the slow path.
        sender = self.sender
        if (type(sender) is str and type(self.text) is str and type(self.timestamp) in _TIMES
                and sender and not sender.isspace()):
            return
        self._invalid()

    def _invalid(self) -> None:
        where = f" ({self.source})" if self.source else ""
        if not isinstance(self.sender, str) or not self.sender.strip():
            raise ChatcloneError(f"message without a sender{where}: every message needs a sender name")
        if not isinstance(self.text, str):
            raise ChatcloneError(f"message text is {type(self.text).__name__}, not text{where}")
        if self.timestamp is not None and not isinstance(self.timestamp, (int, float)):
            raise ChatcloneError(f"timestamp {self.timestamp!r} is not a number{where}")


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
            seen = dict.fromkeys(m.sender for m in self.messages)
            object.__setattr__(self, "participants", tuple(seen))

    @property
    def owner_names(self) -> set[str]:
        """Senders marked as the export's owner (`outgoing`)."""
        return {m.sender for m in self.messages if m.outgoing}
