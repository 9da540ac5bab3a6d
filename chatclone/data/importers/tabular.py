"""Tables of messages: Chatistics CSV, and any CSV/TSV/JSONL given a column mapping.

Columns are found by common names (sender/author/from, text/message/body, ...), or named
explicitly with `--format "table:sender=From,text=Body,timestamp=Date,conversation=Chat"`.
Rows are streamed; rows of one conversation are sorted by time (stable) when times exist.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Iterator

from chatclone.data.importers._common import head_text, iter_lines
from chatclone.data.importers._escapes import fix_surrogates
from chatclone.data.importers._time import epoch_seconds, parse_iso
from chatclone.data.importers.base import ImportReport, ImportResult
from chatclone.data.importers.chatistics import FIELDS as CHATISTICS_FIELDS
from chatclone.data.importers.csvrows import csv_rows
from chatclone.data.records import Conversation, Message
from chatclone.errors import ChatcloneError

FIELDS = ("sender", "text", "timestamp", "conversation", "title", "outgoing")
SYNONYMS = {
    "sender": ("sender", "sendername", "sender_name", "author", "from", "user", "username", "name"),
    "text": ("text", "message", "content", "body", "msg"),
    "timestamp": ("timestamp", "time", "date", "datetime", "created_at", "sent_at", "ts"),
    "conversation": (
        "conversation",
        "conversationid",
        "conversation_id",
        "chat",
        "chat_id",
        "thread",
        "thread_id",
        "channel",
    ),
    "title": ("title", "conversationwithname", "chat_name", "conversation_name"),
    "outgoing": ("outgoing", "is_me", "from_me", "is_outgoing", "persona"),
}


def parse_mapping(spec: str) -> dict[str, str]:
    mapping = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        field, sep, column = part.partition("=")
        if not sep or field not in FIELDS or not column:
            raise ChatcloneError(
                f"bad column mapping {part!r}: write FIELD=COLUMN pairs separated by commas, "
                f"FIELD one of {', '.join(FIELDS)} (e.g. table:sender=From,text=Body)"
            )
        mapping[field] = column
    return mapping


def guess_mapping(columns: list[str]) -> dict[str, str]:
    lower = {c.strip().lower(): c for c in columns}
    return {
        f: next(lower[n] for n in names if n in lower)
        for f, names in SYNONYMS.items()
        if any(n in lower for n in names)
    }


def _delimiter(path: Path) -> str:
    return "\t" if path.suffix.lower() == ".tsv" else ","


def json_row(line: str) -> dict | None:
    """One JSONL line as an object; None when it is not one (invalid, torn, nested thousands
    of levels deep, a number of thousands of digits): the row is skipped and counted."""
    if "\\u" in line:  # a lone surrogate escape would make text that cannot be written
        line = fix_surrogates(line)[0]
    try:
        row = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return row if isinstance(row, dict) else None


def to_time(value: Any) -> float | None:
    if isinstance(value, bool) or value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return parse_iso(value)
    return epoch_seconds(value)  # None for inf, NaN, 1e999: the row is skipped, never a loop


def _ident(value: Any) -> str:
    """A name or id as text; '' for what is none (a list, an object, a bool, blank)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return ""
    return str(value).strip()


def to_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return (
        True
        if text in ("true", "1", "yes", "y")
        else False
        if text in ("false", "0", "no", "n")
        else None
    )


class TabularImporter:
    def __init__(
        self,
        name: str,
        description: str,
        mapping: dict[str, str] | None = None,
        header: tuple[str, ...] | None = None,
    ) -> None:
        self.name, self.description, self.mapping, self.header = name, description, mapping, header

    def configured(self, spec: str) -> "TabularImporter":
        return TabularImporter(self.name, self.description, parse_mapping(spec), self.header)

    def sniff(self, path: Path) -> bool:
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".tsv", ".jsonl", ".ndjson"):
            return False
        columns = self._columns(path)
        if self.header is not None:
            return set(self.header) <= set(columns)
        found = guess_mapping(columns)
        return "sender" in found and "text" in found

    def _columns(self, path: Path) -> list[str]:
        first = next(iter(head_text(path).splitlines()), "")
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            row = json_row(first)
            return list(row) if isinstance(row, dict) else []
        try:
            return next(csv.reader([first], delimiter=_delimiter(path)), [])
        except csv.Error:
            return []

    def rows(self, path: Path) -> Iterator[tuple[int, dict | None, str]]:
        """(line number, row or None if unreadable, raw text) for every data row."""
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            for n, line in iter_lines(path):
                if line.strip():
                    yield n, json_row(line), line
            return
        yield from csv_rows(path, _delimiter(path))

    def load(self, path: Path) -> ImportResult:
        mapping = self.mapping or guess_mapping(self._columns(path))
        if "sender" not in mapping or "text" not in mapping:
            raise ChatcloneError(
                f"{path}: cannot tell which columns hold the sender and the text (columns: "
                f"{', '.join(self._columns(path)) or 'none'}). Name them, e.g. "
                f'--format "table:sender=From,text=Body,timestamp=Date"'
            )
        report = ImportReport(path=str(path), format=self.name)
        convs: dict[str, list[Message]] = {}
        titles: dict[str, str] = {}
        for n, row, raw in self.rows(path):
            report.read += 1
            # Rows without a conversation column form one conversation named after the file.
            msg, cid = self._message(row, mapping, (path, n), report, raw)
            if msg is not None:
                convs.setdefault(cid, []).append(msg)
                titles.setdefault(cid, _ident((row or {}).get(mapping.get("title", ""))) or cid)
        out = []
        for cid, msgs in convs.items():
            if all(m.timestamp is not None for m in msgs):
                msgs.sort(key=lambda m: m.timestamp)
            out.append(
                Conversation(
                    id=f"{self.name}:{cid}",
                    messages=tuple(msgs),
                    title=titles[cid],
                    platform=self.name,
                )
            )
        report.imported = sum(len(m) for m in convs.values())
        report.decisions["columns"] = ", ".join(f"{k}={v}" for k, v in mapping.items())
        return ImportResult(out, [report])

    def _message(
        self,
        row: dict | None,
        mapping: dict[str, str],
        place: tuple[Path, int],
        report: ImportReport,
        raw: str,
    ) -> tuple[Message | None, str]:
        path, n = place
        if row is None:
            report.skip("unparsable", n, raw)
            return None, ""
        text, sender = row.get(mapping["text"]), _ident(row.get(mapping["sender"]))
        if text is None or isinstance(text, str) and not text.strip():
            report.skip("empty")
            return None, ""
        ts = to_time(row.get(mapping["timestamp"])) if "timestamp" in mapping else None
        conversation = row.get(mapping.get("conversation", ""))
        cid = _ident(conversation) or path.stem
        if (
            not isinstance(text, str)
            or not sender
            or ("timestamp" in mapping and ts is None)
            or not isinstance(conversation, (str, type(None)))
            and not _ident(conversation)
        ):  # a list where a name is due, a time that is no time (inf, 1e999): skipped, counted
            report.skip("unparsable", n, raw)
            return None, ""
        outgoing = to_bool(row.get(mapping["outgoing"])) if "outgoing" in mapping else None
        return Message(sender, text.strip(), ts, outgoing, f"{path} line {n}"), cid


CHATISTICS_CSV = TabularImporter(
    "chatistics-csv",
    "Chatistics CSV export (columns " + ", ".join(CHATISTICS_FIELDS) + ")",
    mapping={
        "sender": "senderName",
        "text": "text",
        "timestamp": "timestamp",
        "conversation": "conversationId",
        "title": "conversationWithName",
        "outgoing": "outgoing",
    },
    header=("senderName", "text", "timestamp", "conversationId", "outgoing"),
)
TABLE = TabularImporter(
    "table",
    "CSV/TSV/JSONL with sender and text columns (name them with "
    '--format "table:sender=COL,text=COL,timestamp=COL,conversation=COL")',
)
IMPORTER = TABLE
IMPORTERS = (CHATISTICS_CSV, TABLE)
