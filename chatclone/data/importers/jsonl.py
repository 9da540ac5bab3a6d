"""chatclone's own JSONL: what `chatclone import -o chats.jsonl` writes and every stage reads.

One message per line, in conversation order:
`{"conversation", "title", "platform", "sender", "text", "timestamp", "outgoing", "redacted"}`.
`outgoing` marks the owner's messages; `redacted` says PII was already replaced, so it is not
replaced twice (pseudonyms would otherwise be pseudonymised again).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Iterable

from chatclone.data.importers._common import head_text, iter_lines
from chatclone.data.importers._escapes import fix_surrogates
from chatclone.data.importers._time import FIRST, LAST, valid_time
from chatclone.data.importers.base import ImportReport, ImportResult
from chatclone.data.records import Conversation, Message
from chatclone.errors import ChatcloneError

KEYS = ("conversation", "title", "platform", "sender", "text", "timestamp", "outgoing", "redacted")
REQUIRED = ("conversation", "sender", "text", "outgoing")


def write_jsonl(conversations: Iterable[Conversation], out: IO[str]) -> int:
    """Writes every message; returns how many."""
    n = 0
    for conv in conversations:
        for m in conv.messages:
            out.write(
                json.dumps(
                    {
                        "conversation": conv.id,
                        "title": conv.title,
                        "platform": conv.platform,
                        "sender": m.sender,
                        "text": m.text,
                        "timestamp": m.timestamp,
                        "outgoing": m.outgoing,
                        "redacted": conv.redacted,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
            n += 1
    return n


class JsonlImporter:
    name = "chatclone-jsonl"
    description = (
        "chatclone JSONL (written by `chatclone import -o`): one message per line with "
        + ", ".join(KEYS)
    )

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() not in (".jsonl", ".ndjson"):
            return False
        try:
            first = json.loads(next(iter(head_text(path).splitlines()), ""))
        except (ValueError, RecursionError):
            return False
        return isinstance(first, dict) and all(k in first for k in REQUIRED)

    def load(self, path: Path) -> ImportResult:
        report = ImportReport(path=str(path), format=self.name)
        convs: dict[str, list[Message]] = {}
        meta: dict[str, tuple[str, str, bool]] = {}
        for n, line in iter_lines(path):
            report.read += 1
            if not line.strip():
                report.skip("empty")
                continue
            rec = _record(line)
            if rec is None:
                report.skip("unparsable", n, line)
                continue
            if not rec["text"].strip():
                report.skip("empty")
                continue
            cid = str(rec["conversation"])
            convs.setdefault(cid, []).append(
                Message(
                    rec["sender"],
                    rec["text"],
                    rec.get("timestamp"),
                    rec["outgoing"],
                    f"{path} line {n}",
                )
            )
            meta.setdefault(
                cid,
                (
                    _text(rec.get("title")) or cid,
                    _text(rec.get("platform")),
                    rec.get("redacted") is True,
                ),
            )
        report.imported = sum(len(v) for v in convs.values())
        if report.read and not report.imported and report.skipped["unparsable"] == report.read:
            raise ChatcloneError(
                f"{path}: no line is a chatclone message record ({', '.join(KEYS)}); give a file "
                "written by chatclone import -o, or the original export"
            )
        conversations = [
            Conversation(
                id=cid,
                messages=tuple(msgs),
                title=meta[cid][0],
                platform=meta[cid][1],
                redacted=meta[cid][2],
            )
            for cid, msgs in convs.items()
        ]
        return ImportResult(conversations, [report])


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _record(line: str) -> dict | None:
    """The record of one line; None for a torn or invalid line, or one whose fields have the
    wrong type or a time that is no time (inf, NaN, 1e300): it is skipped and counted."""
    if "\\u" in line:  # a lone surrogate escape would make text that cannot be written
        line = fix_surrogates(line)[0]
    try:
        rec = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(rec, dict) or any(k not in rec for k in REQUIRED):
        return None
    ts = rec.get("timestamp")
    ok = (
        isinstance(rec["sender"], str)
        and rec["sender"].strip()
        and isinstance(rec["text"], str)
        and (ts is None or type(ts) is float and FIRST <= ts <= LAST or valid_time(ts))
        and (rec["outgoing"] is None or isinstance(rec["outgoing"], bool))
        and isinstance(rec["conversation"], (str, int))
    )
    return rec if ok else None


IMPORTER = JsonlImporter()
