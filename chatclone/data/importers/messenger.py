"""Facebook Messenger and Instagram JSON ("Download your information"), old and new layouts.

A thread is a folder of `message_1.json`, `message_2.json`, ... where `message_1.json` holds the
newest messages and every file is newest-first; they are merged and sorted oldest-first. A thread
file renamed or saved alone is recognised by its content (`participants` and messages with
`sender_name` and `timestamp_ms`). Every string is UTF-8 written as Latin-1 characters (mojibake)
and is repaired. Overlapping files (two downloads merged) repeat messages: those with the same
time, sender and text are imported once and counted as `duplicate`.

End-to-end encrypted chats (Messenger since 2024) come from a separate download in camelCase:
`participants` as plain names, `threadName`, and messages with `senderName`, `timestamp` (ms),
`text`, `media` and `isUnsent`; each of their files is a whole thread.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from chatclone.data.importers._common import fix_mojibake, head_text
from chatclone.data.importers._json import load_json
from chatclone.data.importers._time import float_or_nan, time_key
from chatclone.data.importers.base import ImportReport, ImportResult
from chatclone.data.records import Conversation, Message

FILE = re.compile(r"message_(\d+)\.json$")
MEDIA_KEYS = ("photos", "videos", "gifs", "audio_files", "files", "sticker", "share")
SYSTEM_TYPES = ("Call", "Subscribe", "Unsubscribe")
# New exports mark notices only by their wording; anchored so ordinary messages never match.
NOTICE = re.compile(
    r"^(?:.{1,80} sent an attachment\.|.{1,80} sent a (?:photo|video|link|voice message|GIF|sticker)\.|"
    r"The video chat ended\.|The call ended\.|.{1,80} started a (?:video )?call\.|.{1,80} missed a "
    r"(?:video )?call\.|.{1,80} added .{1,80} to the group\.|.{1,80} left the group\.|.{1,80} removed "
    r".{1,80} from the group\.|.{1,80} named the group .{0,200}\.|.{1,80} changed the group photo\.|"
    r".{1,80} set (?:the|your|his|her|their) nickname .{0,200}|.{1,80} unsent a message\.?|"
    r"You unsent a message\.?|Liked a message|.{0,80}Reacted .{1,12} to your message ?|"
    r".{1,80} reacted .{1,12} to your message ?)$",
    re.S,
)


def thread_files(path: Path) -> list[Path]:
    files = [p for p in path.parent.iterdir() if FILE.fullmatch(p.name)]
    return sorted(files, key=lambda p: int(FILE.fullmatch(p.name).group(1)))


class MessengerImporter:
    name = "messenger"
    description = (
        "Facebook Messenger / Instagram JSON thread (message_1.json with "
        "participants, messages[sender_name, timestamp_ms, content])"
    )

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() != ".json":
            return False
        named = FILE.fullmatch(path.name) is not None
        # Any name: the content decides (a big group's participant list can fill 16 KiB).
        head = head_text(path, 4096 if named else 1 << 16)
        if not head.lstrip().startswith("{"):
            return False
        if named:
            return '"participants"' in head or '"sender_name"' in head
        if '"participants"' not in head:
            return False
        return ('"sender_name"' in head and '"timestamp_ms"' in head) or (
            '"senderName"' in head and '"timestamp"' in head  # the end-to-end encrypted download
        )

    def unit(self, path: Path) -> Path:
        """All `message_N.json` of one thread are read together, once; other files alone."""
        return path.parent if FILE.fullmatch(path.name) else path

    def load(self, path: Path) -> ImportResult:
        files = thread_files(path) if FILE.fullmatch(path.name) else [path]
        platform = "instagram" if "instagram" in str(path).lower() else "messenger"
        reports, items, meta = [], [], {}
        seen: set[tuple[float, str, str]] = set()
        for file in files:
            report = ImportReport(path=str(file), format=self.name)
            data = load_json(file)
            if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
                report.skip("unparsable", 0, f"{type(data).__name__} without a 'messages' list")
                reports.append(report)
                continue
            meta = meta or data
            items += read_messages(data["messages"], file, report, seen)
            reports.append(report)
        items.reverse()  # newest-first files: reversing keeps equal timestamps in writing order
        items.sort(key=lambda m: time_key(m.timestamp))
        participants = names(meta.get("participants"))
        folder = path.parent.name if FILE.fullmatch(path.name) else path.stem
        title = (
            _text(meta.get("title") or meta.get("threadName")) or ", ".join(participants) or folder
        )
        thread = _text(meta.get("thread_path")) or folder
        senders = dict.fromkeys(participants + [m.sender for m in items])
        conv = Conversation(
            id=f"{platform}:{thread}",
            messages=tuple(items),
            title=title,
            platform=platform,
            participants=tuple(senders),
        )
        if reports:
            reports[0].decisions["order"] = "newest-first files merged and sorted oldest-first"
            reports[0].decisions["text"] = "Latin-1 mojibake repaired to UTF-8"
        return ImportResult([conv] if items else [], reports)


def _text(value: Any) -> str:
    return fix_mojibake(value) if isinstance(value, str) else ""


def names(participants: Any) -> list[str]:
    if not isinstance(participants, list):
        return []
    return [n for p in participants if (n := _text(p.get("name") if isinstance(p, dict) else p))]


def read_messages(
    records: list, file: Path, report: ImportReport, seen: set[tuple[float, str, str]]
) -> list[Message]:
    """The thread's messages; `seen` (time, sender, text) spans its files: no message ids here."""
    out = []
    for i, rec in enumerate(records):
        report.read += 1
        reason, msg = convert(rec, f"{file} record {i}")
        if msg is None:
            report.skip(reason, i, str(rec))
        elif (key := (msg.timestamp, msg.sender, msg.text)) in seen:
            report.skip("duplicate")
        else:
            seen.add(key)
            out.append(msg)
    report.imported = len(out)
    return out


def convert(rec: Any, where: str) -> tuple[str, Message | None]:
    if not isinstance(rec, dict):
        return "unparsable", None
    if "senderName" in rec:  # the end-to-end encrypted download's names for the same fields
        rec = {
            "sender_name": rec["senderName"],
            "timestamp_ms": rec.get("timestamp"),
            "content": rec.get("text"),
            "is_unsent": rec.get("isUnsent"),
            "type": rec.get("type"),
            **({"files": True} if rec.get("media") else {}),
        }
    sender, ts = _text(rec.get("sender_name")).strip(), rec.get("timestamp_ms")
    if not sender or not isinstance(ts, (int, float)) or isinstance(ts, bool):
        return "unparsable", None
    if "call_duration" in rec or rec.get("type") in SYSTEM_TYPES:
        return "system", None
    content = _text(rec.get("content")).strip()
    if not content:
        if rec.get("is_unsent"):
            return "deleted", None
        return ("media_only" if any(k in rec for k in MEDIA_KEYS) else "empty"), None
    if NOTICE.match(content):
        return "system", None
    return "", Message(sender, content, float_or_nan(ts) / 1000.0, None, where)


IMPORTER = MessengerImporter()
