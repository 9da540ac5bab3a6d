"""Google Takeout: Hangouts (`Hangouts.json`, new and 2014-2017 shapes) and Google Chat
(`Groups/<DM or Space>/messages.json`, with `group_info.json` and `Users/*/user_info.json`).

Hangouts keeps every conversation of the account in one file, streamed one conversation at a
time. Message text is all segments joined (Chatistics kept only the first, losing links and
later lines). The exporter is known in both, so their messages are marked `outgoing`. An id
seen twice in a conversation (Hangouts `event_id`, Google Chat `message_id`) is imported once and
counted as `duplicate`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from chatclone.data.importers._common import head_text
from chatclone.data.importers._ids import repeated
from chatclone.data.importers._json import JsonStream, load_json
from chatclone.data.importers.base import ImportReport, ImportResult
from chatclone.data.importers.localdates import local_time
from chatclone.data.records import Conversation, Message, out_of_order
from chatclone.errors import ChatcloneError


def _get(obj: Any, *keys: str) -> Any:
    for key in keys:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


class HangoutsImporter:
    name = "hangouts"
    description = "Google Takeout Hangouts.json ('conversations' with events and segments)"

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() != ".json":
            return False
        head = head_text(path, 2048)
        return head.lstrip().startswith("{") and (
            '"conversation_state"' in head
            or '"conversations"' in head
            and '"conversation_id"' in head
        )

    def load(self, path: Path) -> ImportResult:
        report = ImportReport(path=str(path), format=self.name)
        conversations, found = [], False
        with JsonStream(path) as js:
            if js.peek() != "{":
                raise ChatcloneError(
                    f"{path}: a Hangouts export is a JSON object with 'conversations'"
                )
            for key in js.items():
                if key not in ("conversations", "conversation_state") or js.peek() != "[":
                    js.value()
                    continue
                found = True
                for _ in js.elements():
                    conv = hangouts_conversation(js.value(), path, report)
                    if conv is not None:
                        conversations.append(conv)
        if not found:
            raise ChatcloneError(f"{path}: no 'conversations' list; not a Hangouts export")
        report.decisions["time"] = "UTC (epoch microseconds)"
        return ImportResult(conversations, [report])


def hangouts_conversation(entry: Any, path: Path, report: ImportReport) -> Conversation | None:
    state = _get(entry, "conversation_state") or entry  # 2014-2017 takeouts nest one level more
    meta = _get(state, "conversation", "conversation") or _get(state, "conversation")
    events = _get(state, "events" if isinstance(state, dict) and "events" in state else "event")
    if not isinstance(meta, dict) or not isinstance(events, list):
        report.read += 1
        report.skip("unparsable", report.read - 1, str(entry))
        return None
    people = {}
    participants = meta.get("participant_data")
    for p in participants if isinstance(participants, list) else []:
        cid = _get(p, "id", "chat_id")
        if cid and isinstance(cid, str):
            people[cid] = _get(p, "fallback_name") or f"Unknown participant {str(cid)[-4:]}"
    me = next(
        (c for ev in events if (c := _get(ev, "self_event_state", "user_id", "chat_id"))), None
    )
    messages, seen = [], set()
    for ev in events:
        report.read += 1
        msg = hangouts_message(ev, people, me, f"{path} event {report.read - 1}", report)
        if msg is not None and not repeated(ev.get("event_id"), seen, report):
            messages.append(msg)
    messages.sort(key=lambda m: m.timestamp)
    report.imported += len(messages)
    others = [name for cid, name in people.items() if cid != me]
    title = meta.get("name") or ", ".join(others) or str(_get(meta, "id", "id") or "hangouts")
    cid = _get(meta, "id", "id") or title
    return (
        Conversation(
            id=f"hangouts:{cid}", messages=tuple(messages), title=title, platform="hangouts"
        )
        if messages
        else None
    )


def hangouts_message(
    ev: Any, people: dict, me: str | None, where: str, report: ImportReport
) -> Message | None:
    content = _get(ev, "chat_message", "message_content")
    try:
        ts = int(_get(ev, "timestamp")) / 1e6
    except (TypeError, ValueError, OverflowError):  # OverflowError: a number no float holds
        report.skip("unparsable", report.read - 1, str(ev))
        return None
    if not isinstance(content, dict):
        report.skip("system")  # membership changes, renames, hangout calls
        return None
    segments = content.get("segment")
    if not isinstance(segments, list) or not segments:
        report.skip("media_only" if content.get("attachment") else "empty")
        return None
    text = "".join(
        s["text"] for s in segments if isinstance(s, dict) and isinstance(s.get("text"), str)
    )
    sender_id = _get(ev, "sender_id", "chat_id")
    sender_id = sender_id if isinstance(sender_id, str) else None
    sender = people.get(sender_id) or (
        f"Unknown participant {str(sender_id)[-4:]}" if sender_id else ""
    )
    if not text.strip():
        report.skip("empty")
        return None
    if not sender:
        report.skip("unparsable", report.read - 1, str(ev))
        return None
    return Message(sender, text.strip(), ts, None if me is None else sender_id == me, where)


CHAT_FORMATS = ("%A, %B %d, %Y at %I:%M:%S %p UTC", "%A, %B %d, %Y at %H:%M:%S UTC")


def chat_time(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    value = value.replace("\u202f", " ").replace("\u00a0", " ")
    for fmt in CHAT_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).replace(tzinfo=dt.timezone.utc).timestamp()
        except ValueError:
            continue
    return local_time(value)  # a Takeout in another language: `2015. február 15., …`


class GoogleChatImporter:
    name = "google-chat"
    description = "Google Takeout Google Chat (Groups/<DM or Space>/messages.json)"

    def sniff(self, path: Path) -> bool:
        if path.name != "messages.json":
            return False
        head = head_text(path, 2048)
        return (
            head.lstrip().startswith("{")
            and '"messages"' in head
            and (
                '"creator"' in head
                or '"message_state"' in head
                or path.parent.name.startswith(("DM ", "Space "))
            )
        )

    def load(self, path: Path) -> ImportResult:
        report = ImportReport(path=str(path), format=self.name)
        data = load_json(path)
        records = data.get("messages") if isinstance(data, dict) else None
        if not isinstance(records, list):
            raise ChatcloneError(
                f'{path}: a Google Chat messages.json holds {{"messages": [...]}}; give the '
                "messages.json of a Google Takeout chat folder"
            )
        info = (
            load_json(path.parent / "group_info.json")
            if (path.parent / "group_info.json").is_file()
            else {}
        )
        me = self_email(path)
        messages = []
        seen: set = set()
        for i, rec in enumerate(records):
            report.read += 1
            msg = chat_message(rec, me, f"{path} record {i}", report)
            if msg is not None and not repeated(rec.get("message_id"), seen, report):
                messages.append(msg)
        report.imported = len(messages)
        if out_of_order(messages):
            messages.sort(key=lambda m: m.timestamp)  # stable: equal times keep file order
            report.decisions["order"] = "re-sorted by time (the export was not chronological)"
        listed = _get(info, "members")
        members = [m for m in listed if isinstance(m, dict)] if isinstance(listed, list) else []
        others = [
            m.get("name")
            for m in members
            if m.get("email") != me and isinstance(m.get("name"), str)
        ]
        title = _get(info, "name") or ", ".join(others) or path.parent.name
        if me:
            report.decisions["owner"] = "from Users/*/user_info.json"
        conv = Conversation(
            id=f"google-chat:{path.parent.name}",
            messages=tuple(messages),
            title=str(title),
            platform="google-chat",
        )
        return ImportResult([conv] if messages else [], [report])


def self_email(path: Path) -> str | None:
    for folder in list(path.parents)[:4]:
        for info in (
            sorted((folder / "Users").glob("*/user_info.json"))
            if (folder / "Users").is_dir()
            else []
        ):
            email = _get(load_json(info), "user", "email")
            if isinstance(email, str):
                return email
    return None


def chat_message(rec: Any, me: str | None, where: str, report: ImportReport) -> Message | None:
    if not isinstance(rec, dict):
        report.skip("unparsable", report.read - 1, str(rec))
        return None
    if rec.get("message_state") == "DELETED":
        report.skip("deleted")
        return None
    text = rec.get("text")
    if not isinstance(text, str) or not text.strip():
        report.skip("media_only" if rec.get("attached_files") else "empty")
        return None
    ts, creator = chat_time(rec.get("created_date")), rec.get("creator")
    sender = _get(creator, "name") or _get(creator, "email")
    if ts is None or not isinstance(sender, str) or not sender.strip():
        report.skip("unparsable", report.read - 1, str(rec))
        return None
    outgoing = None if me is None else _get(creator, "email") == me
    return Message(sender, text.strip(), ts, outgoing, where)


HANGOUTS = HangoutsImporter()
GOOGLE_CHAT = GoogleChatImporter()
IMPORTER = HANGOUTS
IMPORTERS = (HANGOUTS, GOOGLE_CHAT)
