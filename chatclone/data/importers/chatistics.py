"""Chatistics JSON export: `DataFrame.to_json(orient='records')` of all platforms' messages.

Records carry `timestamp` (float epoch seconds), `conversationId`, `conversationWithName`,
`senderName`, `outgoing`, `text`, `language`, `platform`. The file is grouped by platform and
not chronological, so messages are stably sorted by time inside each conversation. Text is
trimmed; WhatsApp's notices and placeholders and Messenger's notices, which Chatistics keeps as
text, are skipped and counted by reason.
"""

from __future__ import annotations

import json
from pathlib import Path

from chatclone.data.importers._common import strip_marks
from chatclone.data.importers._json import load_json
from chatclone.data.importers._time import float_or_nan, time_key
from chatclone.data.importers.base import ImportReport, ImportResult
from chatclone.data.importers.messenger import NOTICE as MESSENGER_NOTICE
from chatclone.data.importers.notices import classify
from chatclone.data.records import Conversation, Message
from chatclone.errors import ChatcloneError

FIELDS = (
    "timestamp",
    "conversationId",
    "conversationWithName",
    "senderName",
    "outgoing",
    "text",
    "language",
    "platform",
)
OTHERS = ("telegram", "messenger", "hangouts")  # Chatistics' platforms besides WhatsApp
# `language` and `platform` are informative only; a record without them is still usable.
REQUIRED = ("timestamp", "conversationId", "senderName", "outgoing", "text")


class ChatisticsImporter:
    name = "chatistics"
    description = "Chatistics JSON export: a list of records with " + ", ".join(REQUIRED)

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() != ".json":
            return False
        with open(path, "rb") as f:
            head = f.read(4096).lstrip()
        return head.startswith(b"[") and any(
            k.encode() in head for k in ("senderName", "conversationId")
        )

    def load(self, path: Path) -> ImportResult:
        records = load_json(Path(path))  # size, depth and a second document checked there
        if not isinstance(records, list):
            raise ChatcloneError(
                f"{path}: a Chatistics export is a JSON list of records, this file holds a "
                f"{type(records).__name__}. Export with `python export.py -f json`."
            )
        report = ImportReport(path=str(path), format=self.name, read=len(records))
        by_conv: dict[str, list[tuple[float, int, Message]]] = {}
        titles: dict[str, str] = {}
        for i, rec in enumerate(records):
            missing = [k for k in REQUIRED if not isinstance(rec, dict) or k not in rec]
            if missing:
                raise ChatcloneError(
                    f"{path}: record {i} is not a Chatistics message: missing field(s) "
                    f"{', '.join(missing)} (record: {json.dumps(rec)[:200]}). A Chatistics export "
                    f"has the fields {', '.join(FIELDS)}."
                )
            reason, text = clean(rec["text"], rec.get("platform"), rec["senderName"])
            if reason is not None:
                report.skip(reason)
                continue
            ts = rec["timestamp"]
            if not isinstance(ts, (int, float)) or isinstance(ts, bool):
                report.skip("unparsable", i, json.dumps(rec)[:120])
                continue
            sender = rec["senderName"]
            if not isinstance(sender, str) or not sender.strip():
                report.skip("no sender name", i, json.dumps(rec)[:120])
                continue
            conv_id = str(rec["conversationId"])
            msg = Message(
                sender=sender,
                text=text,
                timestamp=float_or_nan(ts),
                outgoing=bool(rec["outgoing"]),
                source=f"{path} record {i}",
            )
            by_conv.setdefault(conv_id, []).append((msg.timestamp, i, msg))
            titles.setdefault(conv_id, str(rec.get("conversationWithName") or conv_id))
            report.imported += 1
        conversations = [
            Conversation(
                id=cid,
                title=titles[cid],
                platform="chatistics",
                messages=tuple(
                    m for _, _, m in sorted(items, key=lambda t: (time_key(t[0]), t[1]))
                ),
            )
            for cid, items in by_conv.items()
        ]
        return ImportResult(conversations, [report])


def clean(text: object, platform: object, sender: object) -> tuple[str | None, str]:
    """(skip reason or None, trimmed text) of one record. Chatistics keeps WhatsApp's notices
    and placeholders (with their U+200E marks) and Messenger's notices as text: they are
    dropped and counted like the platforms' own importers do."""
    if not isinstance(text, str):
        return "empty", ""
    if platform not in OTHERS:  # WhatsApp, or a record that does not say
        return classify(text, sender if isinstance(sender, str) else "")
    text = strip_marks(text).strip()
    if not text:
        return "empty", text
    if platform == "messenger" and MESSENGER_NOTICE.match(text):
        return "system", text
    return None, text


IMPORTER = ChatisticsImporter()
