"""iMessage through imessage-exporter `-f txt`: one text file per conversation.

A message is a block: a date line (`Feb 09, 2024  8:03:27 AM`, the hour padded with a space,
maybe followed by a read receipt in parentheses), a sender line (`Me`, a handle or a contact
name), the body, and a blank line. A body may hold blank lines itself, so a block starts only at
a date line that follows a blank line. Thread replies are the same blocks indented by four
spaces. What the exporter writes about a message is not its text: attachment paths, `Tapbacks:`
(older: `Reactions:`) lists, `This message responded to an earlier message.`, `Sent with
Confetti`, unsent parts; of an edited message (`<date> first version` then `Edited … later:
new version`) the last version is its text. A group event is one line, `<date> <who> <action>`
(`left the conversation.`), and is a system line. Times are the exporting Mac's local time
(read as UTC, like other zoneless sources).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from chatclone.data.importers._common import head_text, iter_lines
from chatclone.data.importers.base import ImportReport, ImportResult
from chatclone.data.records import Conversation, Message, out_of_order

DATE = re.compile(
    r"( {4})?([A-Z][a-z]{2} \d{2}, \d{4} [ \d]\d:\d{2}:\d{2} [AP]M)(?: \([^\n]*\))?[ \t]*\Z"
)
# `Loved by Me`; older exporters wrote `Laughed by …`, newer ones an emoji: `👍 by Me`.
REACTION = re.compile(
    r"(?:Loved|Liked|Disliked|Laughed(?: at)?|Emphasized|Questioned|Reacted .{1,40}?|\S{1,12})"
    r" by .+|Sticker from .+"
)
REACTIONS = ("Tapbacks:", "Reactions:")
NOTES = frozenset(
    (
        "This message responded to an earlier message.",
        "Attachment missing!",
        "Started sharing location!",
        "Stopped sharing location!",
    )
)
EFFECT = re.compile(r"Sent with [A-Z][A-Za-z ]{1,24}")
UNSENT = re.compile(r".{1,80} unsent this message part(?: .{1,80} after sending)?!")
EDITED = re.compile(r"Edited .{1,80}? later: (.*)")
STAMP = re.compile(r"[A-Z][a-z]{2} \d{2}, \d{4} [ \d]\d:\d{2}:\d{2} [AP]M ")  # an edit's first line
# A group event: `<date> <who> <action>` on one line.
EVENT = re.compile(
    r"([A-Z][a-z]{2} \d{2}, \d{4} [ \d]\d:\d{2}:\d{2} [AP]M) .{1,120}? (?:(?:added|removed) .+ "
    r"(?:to|from) the conversation\.|renamed the conversation to .*|left the conversation\.|"
    r"(?:changed|removed) the group photo\.|kept an audio message\.|unsent a message!|"
    r"performed unknown action \d+)\Z"
)
ATTACHMENT = re.compile(r"(?:.*/Library/Messages/Attachments/.+|(?:.*/)?attachments/\d+/[^/]+)")
DELETED = "This message was deleted from the conversation!"
STICKER = re.compile(r"Sticker from .*")
ROWID = re.compile(r" - \d+\Z")
OWNER = "Me"


def parse_date(text: str) -> float | None:
    try:
        stamp = dt.datetime.strptime(" ".join(text.split()), "%b %d, %Y %I:%M:%S %p")
    except ValueError:
        return None
    return stamp.replace(tzinfo=dt.timezone.utc).timestamp()


def clean(lines: list[str]) -> tuple[str, str]:
    """(reason to skip or '', text) of a block's body lines."""
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    kept, unsent, media = _spoken(lines)
    text = "\n".join(kept).strip()
    if text == DELETED:
        return "deleted", ""
    if STICKER.fullmatch(text):
        return "media_only", ""
    if not text:
        return ("deleted" if unsent else "media_only" if media else "empty"), ""
    return "", text


def _spoken(lines: list[str]) -> tuple[list[str], bool, bool]:
    """The lines the sender wrote (the last version of an edited one); whether a part was
    unsent; whether an attachment was left out."""
    kept: list[str] = []
    unsent = media = False
    edits = _edit_history(lines)  # line index -> what it becomes in the last version
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line in REACTIONS:  # the list runs to the first line that names no reaction
            j = i + 1
            while j < len(lines) and REACTION.fullmatch(lines[j].strip()):
                j += 1
            if j > i + 1:
                i = j
                continue
        if i in edits:
            kept += edits[i]
        elif UNSENT.fullmatch(line):
            unsent = True
        elif ATTACHMENT.fullmatch(line):
            media = True
        elif line not in NOTES and not EFFECT.fullmatch(line):
            kept.append(lines[i])
        i += 1
    return kept, unsent, media


def _edit_history(lines: list[str]) -> dict[int, list[str]]:
    """An edited part is `<date> first version` then `Edited … later: next version` for each
    edit, each version maybe over several lines: {first line: the last version's lines, each
    other line of the history: nothing}. Empty when nothing was edited."""
    edited = [i for i, line in enumerate(lines) if EDITED.fullmatch(line.strip())]
    if not edited:
        return {}
    start = next((i for i in range(edited[0], -1, -1) if STAMP.match(lines[i].strip())), None)
    if start is None:
        return {}
    end = edited[-1] + 1  # the last version runs to the first line the exporter adds
    while end < len(lines) and not _added(lines[end].strip()):
        end += 1
    last = [EDITED.fullmatch(lines[edited[-1]].strip()).group(1), *lines[edited[-1] + 1 : end]]
    return {start: last} | {i: [] for i in range(start + 1, end)}


def _added(line: str) -> bool:
    """A line imessage-exporter writes after a message's text (a note, a list, a path)."""
    return (
        line in REACTIONS
        or line in NOTES
        or EFFECT.fullmatch(line) is not None
        or UNSENT.fullmatch(line) is not None
        or ATTACHMENT.fullmatch(line) is not None
    )


class IMessageImporter:
    name = "imessage"
    description = "iMessage via imessage-exporter -f txt (date line, sender line, text block)"

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() != ".txt":
            return False
        lines = [ln for ln in head_text(path).splitlines() if ln.strip()][:2]
        return len(lines) == 2 and DATE.match(lines[0]) is not None

    def load(self, path: Path) -> ImportResult:
        report = ImportReport(path=str(path), format=self.name)
        messages: list[Message] = []
        block: list[tuple[int, str]] = []  # (line number, line) from a date line on
        indent = ""
        blank = True  # the line before was blank (or there was none)
        for n, line in iter_lines(path):
            report.read += 1
            m = DATE.match(line) if blank else None
            event = EVENT.match(line) if blank and m is None else None
            if m is not None and parse_date(m.group(2)) is not None:
                self._emit(block, indent, path, report, messages)
                block, indent = [(n, m.group(2))], m.group(1) or ""
            elif event is not None and parse_date(event.group(1)) is not None:
                self._emit(block, indent, path, report, messages)
                report.skip("system")  # a group event; the blank line after it continues it
                block, indent = [(n, "")], ""
            elif block:
                report.continuation += 1
                block.append((n, line[len(indent) :] if line.startswith(indent) else line))
            else:
                report.skip("unparsable" if line.strip() else "empty", n, line)
            blank = not line.strip()
        self._emit(block, indent, path, report, messages)
        return conversation_of(path, messages, report)

    @staticmethod
    def _emit(
        block: list[tuple[int, str]],
        indent: str,
        path: Path,
        report: ImportReport,
        out: list[Message],
    ) -> None:
        if not block:
            return
        (n, date), rest = block[0], block[1:]
        if not date:  # a group event, already counted
            return
        sender = rest[0][1].strip() if rest else ""
        if not sender:  # the date line is the record; the lines after it were continuations
            report.skip("unparsable", n, date)
            return
        reason, text = clean([ln for _, ln in rest[1:]])
        if reason:
            report.skip(reason, n, date)
            return
        out.append(Message(sender, text, parse_date(date), sender == OWNER, f"{path} line {n}"))


def conversation_of(path: Path, messages: list, report: ImportReport) -> ImportResult:
    """One chat file's result, for the txt and the HTML export alike: time order (thread
    replies are written under their first message), the counts, the conversation."""
    if out_of_order(messages):
        messages.sort(key=lambda msg: msg.timestamp)
        report.decisions["order"] = "re-sorted by time (thread replies)"
    report.imported = len(messages)
    report.decisions["time"] = "naive local time (no zone in the export)"
    report.decisions["owner"] = f"'{OWNER}' (how imessage-exporter writes the Mac's owner)"
    title = ROWID.sub("", path.stem) or path.stem
    conv = Conversation(
        id=f"imessage:{path.stem}", messages=tuple(messages), title=title, platform="imessage"
    )
    return ImportResult([conv] if messages else [], [report])


IMPORTER = IMessageImporter()
