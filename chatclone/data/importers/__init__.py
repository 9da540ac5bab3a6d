"""Registry of importers: one module per source, each turning files into `Conversation`s.

An importer is a module-level object with a `name`, a `description`, `sniff(path) -> bool`
(cheap: looks at the name and the first bytes) and `load(path) -> ImportResult`. `load_data`
picks the importer by sniffing (or by `format=`), so adding a platform is one new module and
one line in `_builtin()`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from chatclone.errors import ChatcloneError
from chatclone.data.records import Conversation, gc_paused


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


REGISTRY: dict[str, Importer] = {}

# Names of built-in data that are not files.
SAMPLE_NAMES = ("sample",)


def register(importer: Importer) -> Importer:
    REGISTRY[importer.name] = importer
    return importer


def _builtin() -> None:
    if REGISTRY:
        return
    from chatclone.data.importers import (
        chatistics, corpus, discord, google, jsonl, messenger, tabular, telegram, whatsapp,
    )

    # Order matters only where two sniffers could both accept a file: specific before generic.
    for module in (chatistics, corpus, jsonl, whatsapp, messenger, discord, google, telegram, tabular):
        for importer in getattr(module, "IMPORTERS", (module.IMPORTER,)):
            register(importer)


def importers() -> dict[str, Importer]:
    _builtin()
    return REGISTRY


def detect(path: Path) -> Importer | None:
    return next((imp for imp in importers().values() if imp.sniff(path)), None)


def load_data(spec: str | Path, format: str | None = None) -> ImportResult:
    """Load conversations from a file, a folder or zip of exports, or a built-in sample name."""
    from chatclone.data.importers.sources import load_path

    regs = importers()
    text = str(spec)
    if text in SAMPLE_NAMES or text.startswith("chatterbot:"):
        return regs["chatterbot"].load(Path(text))
    with gc_paused():
        return load_path(Path(spec).expanduser(), resolve_format(format))


def load_all(specs: list[str | Path], format: str | None = None) -> ImportResult:
    """Several exports at once (e.g. a Telegram file and a Facebook folder), merged."""
    merged = ImportResult([], [])
    for spec in specs:
        result = load_data(spec, format)
        merged.conversations += result.conversations
        merged.reports += result.reports
    return merged


def resolve_format(format: str | None) -> Importer | None:
    """`NAME` or `NAME:OPTIONS` (e.g. `table:sender=From,text=Body`) to an importer."""
    if format is None:
        return None
    regs = importers()
    name, sep, options = format.partition(":")
    if name not in regs:
        raise ChatcloneError(f"unknown format {format!r}; known formats: {', '.join(regs)}")
    if not sep:
        return regs[name]
    if not hasattr(regs[name], "configured"):
        raise ChatcloneError(f"format {name!r} takes no options (got {format!r})")
    return regs[name].configured(options)
