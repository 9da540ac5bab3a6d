"""Slack workspace export (zip or folder): `users.json`, `channels.json` (and `groups.json`,
`mpims.json`, `dms.json`) at the top, one folder per channel holding a `YYYY-MM-DD.json` array
of messages per day.

The whole export is one unit: names come from `users.json` and serve every channel. Each channel
(or DM) is a conversation, its messages in `ts` order with thread replies in place. Messages with
a `subtype` are joins, topics, bots and the like, and are skipped (a reply also sent to the
channel, `thread_broadcast`, and `/me` messages are kept). `ts` is the message id within its
channel: a message seen twice (overlapping exports merged) is imported once, as `duplicate`.
Who the owner is, the export does not say: `--me` names them, as for Discord.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from chatclone.data.importers._common import head_text
from chatclone.data.importers._json import load_json
from chatclone.data.importers.base import ImportReport, ImportResult
from chatclone.data.importers.slack_text import People
from chatclone.data.records import Conversation, Message
from chatclone.errors import ChatcloneError

DAY = re.compile(r"\d{4}-\d{2}-\d{2}\.json", re.I)
META = ("channels.json", "groups.json", "mpims.json", "dms.json")
TS = re.compile(r"\d{1,12}(?:\.\d{1,9})?")
KEPT_SUBTYPES = (None, "thread_broadcast", "me_message")
SKIPPED_SUBTYPES = {"bot_message": "bot", "tombstone": "deleted", "message_deleted": "deleted"}
MEDIA_KEYS = ("files", "attachments", "upload")


def is_root(folder: Path) -> bool:
    return any((folder / name).is_file() for name in ("users.json", *META))


def day_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and DAY.fullmatch(p.name))


def _list(path: Path) -> list:
    """A metadata file's list (missing or damaged: empty; the messages matter, not these)."""
    try:
        data = load_json(path) if path.is_file() else []
    except ChatcloneError:
        return []
    return data if isinstance(data, list) else []


class SlackImporter:
    name = "slack"
    description = "Slack workspace export (users.json, channels.json, <channel>/YYYY-MM-DD.json)"

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() != ".json":
            return False
        head = head_text(path, 1 << 14)
        return (
            head.lstrip().startswith("[")
            and re.search(r'"type":\s*"message"', head) is not None
            and re.search(r'"ts":\s*"\d+\.\d+"', head) is not None
        )

    def unit(self, path: Path) -> Path:
        """The export's top folder (every channel at once), else the channel's own folder."""
        top = path.parent.parent
        return top if top != path.parent and is_root(top) else path.parent

    def load(self, path: Path) -> ImportResult:
        root = self.unit(path)
        if root == path.parent:  # one channel's folder, or a day file on its own
            found = day_files(path.parent)
            folders = {path.parent: found if path in found else sorted([*found, path])}
        else:
            subs = sorted(p for p in root.iterdir() if p.is_dir())
            folders = {p: files for p in subs if (files := day_files(p))}
        people = People(_list(root / "users.json"))
        channels = channel_meta(root)
        days = {folder: [(f, load_json(f)) for f in files] for folder, files in folders.items()}
        # Profiles carried by messages name users missing from users.json (or without one).
        for rec in (r for pairs in days.values() for _, data in pairs for r in _items(data)):
            if isinstance(rec.get("user"), str):
                people.learn(rec["user"], {"profile": rec.get("user_profile")})
        result = ImportResult([], [])
        for folder, pairs in days.items():
            meta = channels.get(folder.name, {})
            conv, report = read_channel(folder, pairs, meta, people)
            result.reports.append(report)
            if conv is not None:
                result.conversations.append(conv)
        return result


def _items(data: Any) -> list[dict]:
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def channel_meta(root: Path) -> dict[str, dict]:
    """Folder name -> the channel's entry: channels, private groups and group DMs by name,
    DMs by id (their folder is named by id)."""
    meta: dict[str, dict] = {}
    for name in META:
        for entry in _list(root / name):
            if isinstance(entry, dict):
                key = entry.get("id") if name == "dms.json" else entry.get("name")
                if isinstance(key, str) and key:
                    meta.setdefault(key, entry)
    return meta


def read_channel(
    folder: Path, pairs: list[tuple[Path, Any]], meta: dict, people: People
) -> tuple[Conversation | None, ImportReport]:
    report = ImportReport(path=str(folder), format="slack")
    items: list[tuple[float, Message]] = []
    seen: set[str] = set()
    for file, data in pairs:
        if not isinstance(data, list):
            report.read += 1
            report.skip("unparsable", 0, f"{file.name}: {type(data).__name__}, not a list")
            continue
        for i, rec in enumerate(data):
            report.read += 1
            reason, msg = convert(rec, people, f"{file} record {i}")
            if msg is None:
                report.skip(reason, i, f"{file.name}: {rec}")
            elif rec["ts"] in seen:
                report.skip("duplicate")
            else:
                seen.add(rec["ts"])
                items.append((msg.timestamp, msg))
    items.sort(key=lambda pair: pair[0])  # stable: equal times keep file order
    messages = tuple(m for _, m in items)
    report.imported = len(messages)
    report.decisions["time"] = "UTC (ts, epoch seconds)"
    listed = meta.get("members") if isinstance(meta.get("members"), list) else []
    members = [people.senders.get(u, u) for u in listed if isinstance(u, str)]
    name = meta.get("name") if isinstance(meta.get("name"), str) else ""
    direct = not name or meta.get("is_mpim") is True
    title = (", ".join(members) if direct and members else "") or name
    senders = dict.fromkeys([m.sender for m in messages] + (members if direct else []))
    conv = Conversation(
        id=f"slack:{cid if isinstance(cid := meta.get('id'), str) and cid else folder.name}",
        messages=messages,
        title=title or folder.name,
        platform="slack",
        participants=tuple(senders),
    )
    return (conv if messages else None), report


def convert(rec: Any, people: People, where: str) -> tuple[str, Message | None]:
    if not isinstance(rec, dict) or not isinstance(rec.get("ts"), str):
        return "unparsable", None
    if rec.get("type", "message") != "message":
        return "system", None
    subtype = rec.get("subtype")
    if subtype not in KEPT_SUBTYPES:
        return (
            SKIPPED_SUBTYPES.get(subtype, "system") if isinstance(subtype, str) else "system"
        ), None
    text, sender = rec.get("text", ""), people.sender(rec)
    if not TS.fullmatch(rec["ts"]) or not isinstance(text, str) or not sender:
        return "unparsable", None
    text = people.text(text).strip()
    if not text:
        return ("media_only" if any(rec.get(k) for k in MEDIA_KEYS) else "empty"), None
    return "", Message(sender, text, float(rec["ts"]), None, where)


IMPORTER = SlackImporter()
