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
from chatclone.records import Conversation


@dataclass
class ImportReport:
    """What one file gave: nothing is skipped without being counted here."""

    path: str
    format: str
    read: int = 0  # records (JSON) or lines (text formats) read
    imported: int = 0  # messages emitted
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
    from chatclone.importers import chatistics, corpus

    for module in (chatistics, corpus):
        register(module.IMPORTER)


def importers() -> dict[str, Importer]:
    _builtin()
    return REGISTRY


def detect(path: Path) -> Importer | None:
    return next((imp for imp in importers().values() if imp.sniff(path)), None)


def load_data(spec: str | Path, format: str | None = None) -> ImportResult:
    """Load conversations from a file, a folder holding one export, or a built-in sample name."""
    regs = importers()
    text = str(spec)
    if text in SAMPLE_NAMES or text.startswith("chatterbot:"):
        return regs["chatterbot"].load(Path(text))
    path = Path(spec).expanduser()
    if not path.exists():
        raise ChatcloneError(
            f"{path}: no such file or folder. Give a chat export file (e.g. a Chatistics "
            "JSON export), a folder holding one, or 'sample' for the bundled demo data."
        )
    if format is not None:
        if format not in regs:
            raise ChatcloneError(f"unknown format {format!r}; known formats: {', '.join(regs)}")
        return regs[format].load(path)
    if path.is_dir():
        return _load_folder(path)
    importer = detect(path)
    if importer is None:
        raise ChatcloneError(
            f"{path}: not a chat export chatclone knows. Tried: "
            + "; ".join(f"{i.name} ({i.description})" for i in regs.values())
            + ". Pass --format to force one."
        )
    return importer.load(path)


def _load_folder(folder: Path) -> ImportResult:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    matches = [(p, imp) for p in files if (imp := detect(p)) is not None]
    if len(matches) != 1:
        found = ", ".join(str(p.relative_to(folder)) for p in files[:20]) or "no files"
        recognised = ", ".join(f"{p.relative_to(folder)} ({imp.name})" for p, imp in matches)
        what = f"{len(matches)} chat exports ({recognised})" if matches else "no chat export"
        raise ChatcloneError(
            f"{folder}: expected a folder holding exactly one chat export, found {what}. "
            f"Files there: {found}. Pass the export file itself with --data."
        )
    path, importer = matches[0]
    return importer.load(path)
