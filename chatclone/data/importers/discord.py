"""DiscordChatExporter JSON: one channel or DM per file, messages streamed one at a time.

The sender is `author.nickname` (the name people see), not the username. Message kinds other
than `Default` and `Reply` are system messages (joins, pins, calls; unnamed kinds are numbers).
A message id seen twice (overlapping exports pasted together) is imported once (`duplicate`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chatclone.data.importers._common import head_text
from chatclone.data.importers._ids import repeated
from chatclone.data.importers._json import JsonStream
from chatclone.data.importers._time import parse_iso
from chatclone.data.importers.base import ImportReport, ImportResult
from chatclone.data.records import Conversation, Message
from chatclone.errors import ChatcloneError


class DiscordImporter:
    name = "discord"
    description = "DiscordChatExporter JSON (guild, channel, messages[author, timestamp, content])"

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() != ".json":
            return False
        head = head_text(path, 2048)
        return head.lstrip().startswith("{") and '"guild"' in head and '"channel"' in head

    def load(self, path: Path) -> ImportResult:
        report = ImportReport(path=str(path), format=self.name)
        meta: dict[str, Any] = {}
        messages: list[Message] = []
        ids: set = set()
        with JsonStream(path) as js:
            if js.peek() != "{":
                raise ChatcloneError(
                    f"{path}: a DiscordChatExporter file is a JSON object with 'messages'; export the "
                    "channel again with DiscordChatExporter's JSON format"
                )
            for key in js.items():
                if key != "messages" or js.peek() != "[":
                    meta[key] = js.value()
                    continue
                meta["messages"] = True
                for _ in js.elements():
                    report.read += 1
                    rec = js.value()
                    msg = convert(rec, f"{path} record {report.read - 1}", report)
                    if msg is not None and not repeated(rec.get("id"), ids, report):
                        messages.append(msg)
        if "messages" not in meta:
            raise ChatcloneError(f"{path}: no 'messages' list; not a DiscordChatExporter export")
        if any(messages[i].timestamp > messages[i + 1].timestamp for i in range(len(messages) - 1)):
            messages.sort(key=lambda m: m.timestamp)
            report.decisions["order"] = "re-sorted by timestamp"
        report.imported = len(messages)
        channel = meta.get("channel") if isinstance(meta.get("channel"), dict) else {}
        title = str(channel.get("name") or path.stem)
        conv = Conversation(
            id=f"discord:{channel.get('id', path.stem)}",
            messages=tuple(messages),
            title=title,
            platform="discord",
        )
        return ImportResult([conv] if messages else [], [report])


def convert(rec: Any, where: str, report: ImportReport) -> Message | None:
    if not isinstance(rec, dict):
        report.skip("unparsable", report.read - 1, str(rec))
        return None
    if rec.get("type", "Default") not in ("Default", "Reply"):
        report.skip("system")
        return None
    content, author = rec.get("content", ""), rec.get("author")
    ts = parse_iso(rec.get("timestamp"))
    sender = (author.get("nickname") or author.get("name")) if isinstance(author, dict) else None
    if (
        not isinstance(content, str)
        or ts is None
        or not isinstance(sender, str)
        or not sender.strip()
    ):
        report.skip("unparsable", report.read - 1, str(rec))
        return None
    if not content.strip():
        media = rec.get("attachments") or rec.get("stickers") or rec.get("embeds")
        report.skip("media_only" if media else "empty")
        return None
    return Message(sender, content.strip(), ts, None, where)


IMPORTER = DiscordImporter()
