"""The records every importer returns: messages grouped in conversations, and a report per
file that counts everything read, imported or skipped (with the reason)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from chatclone.data.records import Conversation


@dataclass
class ImportReport:
    """What one file gave: nothing is skipped without being counted here."""

    path: str
    format: str
    read: int = 0  # records (JSON) or lines (text formats) read
    imported: int = 0  # messages emitted
    continuation: int = 0  # text formats: lines that continued the message above them
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    unparsable: list[tuple[int, str]] = field(default_factory=list)  # (line/record number, raw)
    decisions: dict[str, str] = field(default_factory=dict)  # e.g. {"date order": "day/month"}

    def skip(self, reason: str, where: int | None = None, raw: str = "") -> None:
        self.skipped[reason] += 1
        if reason == "unparsable" and len(self.unparsable) < 10:
            self.unparsable.append((where or 0, raw[:120]))


@dataclass
class ImportResult:
    conversations: list[Conversation]
    reports: list[ImportReport]


class Importer(Protocol):
    name: str
    description: str

    def sniff(self, path: Path) -> bool: ...

    def load(self, path: Path) -> ImportResult: ...
