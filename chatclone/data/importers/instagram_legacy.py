"""Instagram's data download from before December 2020: one `messages.json` for every chat.

It is a list of conversations, each `{"participants": [usernames], "conversation": [messages]}`,
a message `{"sender", "created_at" (ISO 8601 with offset), "text"}` or, instead of text, a
shared post, a photo, a voice note, a heart or an `action` ("Liked a message"). Newer downloads
are read by the `messenger` importer (one `message_N.json` per thread). The owner is the
`username` of the `profile.json` beside it, when there is one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chatclone.data.importers._common import head_text
from chatclone.data.importers._json import load_json
from chatclone.data.importers._time import parse_iso
from chatclone.data.importers.base import ImportReport, ImportResult
from chatclone.data.records import Conversation, Message, out_of_order
from chatclone.errors import ChatcloneError

MEDIA_KEYS = (
    "media", "media_url", "media_share_url", "media_share_caption", "voice_media",
    "animated_media_images", "story_share", "link", "video_call_action", "heart", "likes",
)  # fmt: skip


class InstagramLegacyImporter:
    name = "instagram-legacy"
    description = (
        "Instagram data download before 2021: messages.json, a list of "
        "{participants, conversation[sender, created_at, text]}"
    )

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() != ".json":
            return False
        head = head_text(path, 1 << 14)
        return head.lstrip().startswith("[") and all(
            key in head for key in ('"participants"', '"conversation"', '"created_at"')
        )

    def load(self, path: Path) -> ImportResult:
        data = load_json(path)
        if not isinstance(data, list):
            raise ChatcloneError(
                f"{path}: an Instagram messages.json is a list of conversations; give the file "
                "from the data download as it came"
            )
        report = ImportReport(path=str(path), format=self.name)
        owner = _owner(path)
        conversations = []
        for k, entry in enumerate(data):
            conv = _conversation(entry, k, path, owner, report)
            if conv is not None:
                conversations.append(conv)
        if owner:
            report.decisions["owner"] = "the username in profile.json"
        return ImportResult(conversations, [report])


def _owner(path: Path) -> str | None:
    profile = path.parent / "profile.json"
    data = load_json(profile) if profile.is_file() else None
    name = data.get("username") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name else None


def _conversation(
    entry: Any, k: int, path: Path, owner: str | None, report: ImportReport
) -> Conversation | None:
    records = entry.get("conversation") if isinstance(entry, dict) else None
    if not isinstance(records, list):
        report.read += 1
        report.skip("unparsable", report.read - 1, str(entry)[:120])
        return None
    listed = entry.get("participants")
    people = [p for p in listed if isinstance(p, str) and p] if isinstance(listed, list) else []
    messages = []
    for i, rec in enumerate(records):
        report.read += 1
        reason, msg = _message(rec, owner, f"{path} conversation {k} message {i}")
        if msg is None:
            report.skip(reason, report.read - 1, str(rec)[:120])
        else:
            messages.append(msg)
    report.imported += len(messages)
    if out_of_order(messages):  # the download lists the newest first
        messages.sort(key=lambda m: m.timestamp)
        report.decisions["order"] = "newest-first conversations sorted oldest-first"
    title = ", ".join(p for p in people if p != owner) or ", ".join(people) or f"chat {k}"
    return Conversation(
        id=f"instagram:{'-'.join(sorted(people)) or k}",
        messages=tuple(messages),
        title=title,
        platform="instagram",
        participants=tuple(dict.fromkeys(people + [m.sender for m in messages])),
    )


def _message(rec: Any, owner: str | None, where: str) -> tuple[str, Message | None]:
    if not isinstance(rec, dict):
        return "unparsable", None
    sender, ts, text = rec.get("sender"), parse_iso(rec.get("created_at")), rec.get("text")
    if not isinstance(sender, str) or not sender.strip() or ts is None:
        return "unparsable", None
    if isinstance(text, str) and text.strip():
        outgoing = None if owner is None else sender == owner
        return "", Message(sender, text.strip(), ts, outgoing, where)
    if rec.get("action"):
        return "system", None
    return ("media_only" if any(rec.get(key) for key in MEDIA_KEYS) else "empty"), None


IMPORTER = InstagramLegacyImporter()
