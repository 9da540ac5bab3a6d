"""iMessage through imessage-exporter `-f txt`: one text file per conversation.

A message is a block: a date line (`Feb 09, 2024  8:03:27 AM`, the hour padded with a space,
maybe followed by a read receipt in parentheses), a sender line (`Me`, a handle or a contact
name), the body, an optional `Reactions:` list, and a blank line. A body may hold blank lines
itself, so a block starts only at a date line that follows a blank line. Thread replies are the
same blocks indented by four spaces. Attachments are path lines and are not text. Times are the
exporting Mac's local time (read as UTC, like other zoneless sources).
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
REACTION = re.compile(
    r"(?:Loved|Liked|Disliked|Laughed at|Emphasized|Questioned|Reacted .{1,40}?) by .+"
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
    if "Reactions:" in lines:  # the last one, when every line after it names a reaction
        cut = len(lines) - 1 - lines[::-1].index("Reactions:")
        if all(REACTION.fullmatch(r.strip()) for r in lines[cut + 1 :] if r.strip()):
            lines = lines[:cut]
    kept = [ln for ln in lines if not ATTACHMENT.fullmatch(ln.strip())]
    text = "\n".join(kept).strip()
    if text == DELETED:
        return "deleted", ""
    if STICKER.fullmatch(text):
        return "media_only", ""
    if not text:
        return ("media_only" if len(kept) < len(lines) else "empty"), ""
    return "", text


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
            if m is not None and parse_date(m.group(2)) is not None:
                self._emit(block, indent, path, report, messages)
                block, indent = [(n, m.group(2))], m.group(1) or ""
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
