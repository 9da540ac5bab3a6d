"""Telegram Desktop JSON (`result.json`): one chat, or the full-account export (`chats.list`).

The file is walked as a stream, one message at a time, so a multi-gigabyte account export needs
the memory of the messages kept, not of the file. Time comes from `date_unixtime` (UTC) where
present: the naive `date` is the exporting machine's local time and breaks order across DST.

A message id seen twice in one chat (overlapping exports pasted together, a chat listed in both
`chats` and `left_chats`) is imported once and counted as `duplicate`. In an account export, chats
where the owner never wrote (groups they only read) hold no voice of theirs: they are skipped and
counted, unless no chat has the owner at all (then `--persona`/`--participant` must decide).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from chatclone.data.importers._common import head_text
from chatclone.data.importers._json import JsonStream, array_values
from chatclone.data.importers.base import ImportReport, ImportResult
from chatclone.data.records import Conversation, Message, out_of_order
from chatclone.errors import ChatcloneError

MEDIA_KEYS = (
    "photo",
    "file",
    "media_type",
    "sticker_emoji",
    "location_information",
    "contact_information",
    "poll",
    "game_information",
    "invoice_information",
)
NAMELESS = {"saved_messages": "Saved Messages", "replies": "Replies"}


def flatten(text: Any) -> str | None:
    """`text` is a string or a list of strings and entity objects; None when it is neither."""
    if isinstance(text, str):
        return text
    if not isinstance(text, list):
        return None
    parts = []
    for part in text:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            parts.append(part["text"])
        else:
            return None
    return "".join(parts)


def timestamp(msg: dict) -> float | None:
    unix = msg.get("date_unixtime")
    if isinstance(unix, (str, int)) and not isinstance(unix, bool):
        try:
            return float(unix)
        except (ValueError, OverflowError):  # OverflowError: an integer no float holds
            return None
    date = msg.get("date")
    if not isinstance(date, str):
        return None
    try:  # old exports: naive local time, read as UTC like the other zoneless sources
        return dt.datetime.fromisoformat(date).replace(tzinfo=dt.timezone.utc).timestamp()
    except ValueError:
        return None


class TelegramImporter:
    name = "telegram"
    description = "Telegram Desktop JSON export (result.json of one chat or of the whole account)"

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() != ".json":
            return False
        head = head_text(path, 2048).lstrip()
        if not head.startswith("{"):
            return False
        kinds = (
            '"personal_chat"',
            '"private_group"',
            '"private_supergroup"',
            '"public_supergroup"',
            '"private_channel"',
            '"public_channel"',
            '"bot_chat"',
            '"saved_messages"',
            '"replies"',
        )
        single = '"messages"' in head and (
            any(k in head for k in kinds) or '"date_unixtime"' in head
        )
        account = '"personal_information"' in head or '"chats"' in head and '"list"' in head
        return single or account or '"about": "Here is the data you requested' in head

    def load(self, path: Path) -> ImportResult:
        state = _State(path, ImportReport(path=str(path), format=self.name))
        with JsonStream(path) as js:
            if js.peek() != "{":
                raise ChatcloneError(
                    f"{path}: a Telegram export is a JSON object with 'messages' (one chat) or "
                    f"'chats' (whole account); this file starts with {js.peek() or 'nothing'!r}"
                )
            single: dict[str, Any] = {}
            for key in js.items():
                if key == "messages":
                    state.read_chat_messages(js, single)
                elif key in ("chats", "left_chats"):
                    state.read_chat_list(js)
                elif key == "personal_information":
                    state.set_owner(js.value())
                elif key in ("name", "type", "id"):
                    single[key] = js.value()
                else:
                    js.value()
        if not state.found:
            raise ChatcloneError(
                f"{path}: no 'messages' or 'chats' in this JSON; not a Telegram export"
            )
        return ImportResult(state.finish(), [state.report])


class _State:
    def __init__(self, path: Path, report: ImportReport) -> None:
        self.path, self.report = path, report
        # chat id -> (title, messages, message ids seen): a chat listed twice is merged
        self.chats: dict[str, tuple[str, list[Message], set]] = {}
        self.owner_ids: set[str] = set()
        self.found = False

    def set_owner(self, info: Any) -> None:
        if isinstance(info, dict) and info.get("user_id") is not None:
            # `from_id` is "user123" since 2021 and the bare number 123 before.
            self.owner_ids = {f"user{info['user_id']}", str(info["user_id"])}
            self.report.decisions["owner"] = "from personal_information (the exporting account)"

    def read_chat_list(self, js: JsonStream) -> None:
        if js.peek() != "{":
            js.value()
            return
        for key in js.items():
            if key != "list" or js.peek() != "[":
                js.value()
                continue
            for _ in js.elements():
                if js.peek() != "{":
                    self.report.read += 1
                    self.report.skip("unparsable", self.report.read - 1, str(js.value())[:120])
                    continue
                chat: dict[str, Any] = {}
                for ckey in js.items():
                    if ckey == "messages":
                        self.read_chat_messages(js, chat)
                    else:
                        chat[ckey] = js.value()

    def read_chat_messages(self, js: JsonStream, chat: dict[str, Any]) -> None:
        self.found = True
        if js.peek() != "[":
            raise js.error("'messages' is not a list")
        kind = chat.get("type") if isinstance(chat.get("type"), str) else ""
        title = chat.get("name") if isinstance(chat.get("name"), str) else NAMELESS.get(kind, "")
        # A single-chat export without name and id: its folder (`ChatExport_...`) names it.
        if "id" not in chat and not title:
            title = self.path.stem if self.path.stem != "result" else self.path.parent.name
        cid = f"telegram:{chat.get('id', title)}"
        title, items, ids = self.chats.setdefault(cid, (title or cid, [], set()))
        where = f"{self.path} record "
        report, message, append, seen = self.report, self.message, items.append, ids.add
        for value in array_values(js):
            report.read += 1
            msg = message(value, where)
            if msg is None:
                continue
            mid = value.get("id")
            if isinstance(mid, (int, str)):
                if mid in ids:
                    report.skip("duplicate")
                    continue
                seen(mid)
            append(msg)

    def finish(self) -> list[Conversation]:
        """The chats with messages, time-ordered; in an account export, those the owner wrote in."""
        chats = {cid: chat for cid, chat in self.chats.items() if chat[1]}
        silent = [cid for cid, (_, items, _) in chats.items() if not any(m.outgoing for m in items)]
        if self.owner_ids and silent and len(silent) < len(chats):
            for cid in silent:
                self.report.skipped["chat without the owner"] += len(chats.pop(cid)[1])
            names = ", ".join(self.chats[cid][0] for cid in silent[:5])
            self.report.decisions["chats without the owner"] = (
                f"{len(silent)} skipped ({names}{', ...' if len(silent) > 5 else ''}): "
                "the exporting account wrote nothing there"
            )
        elif self.owner_ids and silent:
            self.report.decisions["owner"] = (
                "the exporting account wrote in none of the chats: name whose voice to learn "
                "with --persona NAME, and keep that person's chats with --participant NAME"
            )
        conversations = []
        for cid, (title, items, _) in chats.items():
            if out_of_order(items):
                items.sort(key=lambda m: m.timestamp)
                self.report.decisions["order"] = "re-sorted by date_unixtime"
            self.report.imported += len(items)
            conversations.append(
                Conversation(id=cid, messages=tuple(items), title=title or cid, platform="telegram")
            )
        return conversations

    def message(self, msg: Any, where: str) -> Message | None:
        """`where` is the file's part of the source; the record number is appended."""
        report = self.report
        if type(msg) is not dict:
            report.skip("unparsable", report.read - 1, str(msg))
            return None
        kind = msg.get("type")
        if kind != "message":
            report.skip(
                "system" if kind in ("service", "unsupported") else "unparsable",
                report.read - 1,
                str(msg),
            )
            return None
        text = msg.get("text", "")
        if type(text) is not str:
            text = flatten(text)
        unix = msg.get("date_unixtime")
        ts = _unix(unix) if type(unix) is str else timestamp(msg)
        sender = msg.get("from", "Deleted Account")
        if sender is None:
            sender = "Deleted Account"
        if text is None or ts is None or not isinstance(sender, str) or not sender.strip():
            report.skip("unparsable", report.read - 1, str(msg))
            return None
        text = text.strip()
        if not text:
            report.skip("media_only" if any(k in msg for k in MEDIA_KEYS) else "empty")
            return None
        outgoing = str(msg.get("from_id")) in self.owner_ids if self.owner_ids else None
        return Message(sender, text, ts, outgoing, where + str(report.read - 1))


def _unix(unix: str) -> float | None:
    try:
        return float(unix)
    except ValueError:
        return None


IMPORTER = TelegramImporter()
