"""WhatsApp "Export chat" text (Android and iOS, any locale's date and time shapes).

Lines are streamed; a line that does not start with a full header of the file's one header
variant (see `whatsapp_header`) continues the previous message. Day/month order is never stated
by the export, so it is decided once the whole file has been read (see `whatsapp_dates`).
Notices and placeholders are recognised by their wording (see `notices`). The chat's name
exists only in the file or zip name.
"""

from __future__ import annotations

import re
from pathlib import Path

from chatclone.data.importers._common import head_text, iter_chunks, strip_marks
from chatclone.data.importers.base import ImportReport, ImportResult
from chatclone.data.importers.notices import ANY, classify, is_notice
from chatclone.data.importers.whatsapp_dates import DateResolver
from chatclone.data.importers.whatsapp_header import GENERAL, lock
from chatclone.data.records import Conversation, Message, out_of_order

TITLE_PREFIX = re.compile(
    r"^(?:WhatsApp[ -]Chat (?:with|mit|met|con|avec|com|-)|Chat de WhatsApp con|"
    r"Conversa do WhatsApp com|Discussion WhatsApp avec)\s*",
    re.I,
)
_QUOTES = frozenset('"“”„«»')  # around a group name or subject that may hold ": "


def chat_title(path: Path) -> str:
    stem = path.stem
    if stem.lower() in ("_chat", "chat"):  # iOS: `_chat.txt` inside `WhatsApp Chat - <name>.zip`
        # The folder's name however the path was given (`_chat.txt` alone has no parent name).
        stem = path.absolute().parent.name.removesuffix(".zip") or stem
    return TITLE_PREFIX.sub("", stem).strip() or stem


def header(line: str) -> re.Match | None:
    """A header of any variant (the grammar in `whatsapp_header`)."""
    return GENERAL.match(line)


class WhatsAppImporter:
    name = "whatsapp"
    description = (
        "WhatsApp 'Export chat' text: lines like '3/14/23, 9:41 PM - Name: text' "
        "(Android) or '[14/06/2021, 19:20:01] Name: text' (iOS)"
    )

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() != ".txt":
            return False
        lines = head_text(path).splitlines()[:12]
        lines = lines[:-1] or lines  # the last line may be cut
        if header(next((line for line in lines if line.strip()), "")):
            return True  # an export starts with a header
        # Further down, only a header with brackets or a separator: `1.2.2024 10:00 Bob: hi`
        # in another format's text is not enough.
        return any(
            (m := header(line)) is not None and (m.group("br") or m.group("end").strip())
            for line in lines
        )

    def load(self, path: Path) -> ImportResult:
        report = ImportReport(path=str(path), format=self.name)
        pending: list[tuple | None] = []  # (date, seconds of the day, sender, body, line)
        dates = DateResolver(path)
        canon, clocks, append = dates.canon, dates.seconds, pending.append
        names: dict[str, str] = {}  # sender as written -> as shown ("" if it holds quotes)
        bad: dict[int, str] = {}  # line -> a time that is no time
        line = 0  # lines consumed so far
        locked = None  # (pattern, ios) of the file's one header variant, once seen
        for chunk in iter_chunks(path):
            if "\r" in chunk:  # old Mac line ends (CRLF is already LF here)
                chunk = chunk.replace("\r", "\n")
            locked = locked or lock(chunk)
            if locked is None:
                line = self._gap(chunk, line, pending, report)
                continue
            pos = 0
            for m in locked[0].finditer(chunk):
                start, end = m.span()
                if start > pos:
                    line = self._gap(chunk[pos:start], line, pending, report)
                line, pos = line + 1, end
                date, clock, rest = m.groups()
                # One shared string per date (less memory), parsed once; clocks likewise.
                date, secs = canon.get(date) or dates.see(date), clocks.get(clock)
                if secs is None:
                    secs = dates.clock(clock)
                    if secs is None:
                        bad[line] = clock
                sender, sep, body = rest.partition(": ")
                name = names.get(sender)
                if not name or not sep:
                    name, body = _sender(rest, names)  # "" for a notice
                append((date, secs, name, body, line))
            if pos < len(chunk):
                line = self._gap(chunk[pos:], line, pending, report)
        report.read = line
        ios = locked is not None and locked[1]
        return self._finish(path, report, pending, dates, ios, bad)

    @staticmethod
    def _gap(text: str, line: int, pending: list[tuple], report: ImportReport) -> int:
        """Lines between two headers: they continue the message above (or cannot be placed)."""
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        if pending:
            date, secs, sender, body, n = pending[-1]
            pending[-1] = (date, secs, sender, body + "\n" + "\n".join(lines), n)
            report.continuation += len(lines)
        else:
            for k, raw in enumerate(lines, line + 1):
                report.skip("unparsable" if raw.strip() else "empty", k, raw)
        return line + len(lines)

    def _finish(
        self,
        path: Path,
        report: ImportReport,
        pending: list[tuple],
        dates: DateResolver,
        ios: bool,
        bad: dict[int, str],
    ) -> ImportResult:
        dates.decide(report)
        messages = []
        append = messages.append
        where = f"{path} line "
        title, starts, plain = chat_title(path), dates.starts, ANY.isdisjoint
        for i, (date, secs, sender, body, n) in enumerate(pending):
            pending[i] = None  # free each raw entry as its message is made: no double peak
            if not sender:
                report.skip("system")
                continue
            text = body.strip()
            # Inlined common case of `classify`: plain ASCII text, no word of any notice.
            if not (
                text.isascii()
                and text
                and text[0] != "<"
                and text[-1] != ">"
                and " (" not in text
                and plain(text.split())
            ):
                reason, text = classify(body, sender, title, ios)
                if reason is not None:
                    report.skip(reason)
                    continue
            start = starts[date]
            if start is None or secs is None:
                report.skip("unparsable", n, f"{date} {bad.get(n, '')}".strip())
                continue
            append(Message(sender, text, start + secs, None, where + str(n)))
        report.imported = len(messages)
        if out_of_order(messages):
            messages.sort(key=lambda msg: msg.timestamp)  # stable: equal minutes keep file order
            report.decisions["order"] = "re-sorted by time (the export was not chronological)"
        conv = Conversation(
            id=f"whatsapp:{title}", messages=tuple(messages), title=title, platform="whatsapp"
        )
        return ImportResult([conv] if messages else [], [report])


def _sender(rest: str, names: dict[str, str]) -> tuple[str, str]:
    """(sender as shown, body) of a header's text, or ("", text) for a notice: a line without
    `Name: `, or one whose quoted group name or subject holds ": ". `Name:` alone (the text on
    the next lines) is a message."""
    sender, sep, body = rest.partition(": ")
    if not sep:
        if rest[-1:] != ":":
            return "", rest
        sender, body = rest[:-1], ""
    name = names.get(sender)
    if name is None:
        name = names[sender] = _name(sender)
    if name:
        return name, body
    return ("", rest) if _notice(rest) else (clean_sender(sender), body)


def _notice(rest: str) -> bool:
    """Whether a whole header line's text is a notice (one whose quoted name holds ": ")."""
    return is_notice(strip_marks(rest).strip(), "", True)


def _name(sender: str) -> str:
    """The sender as shown; "" where it holds a quote (maybe a notice whose quoted group name
    or subject holds ": ", decided line by line)."""
    return "" if not _QUOTES.isdisjoint(sender) else clean_sender(sender) or sender


def clean_sender(sender: str) -> str:
    if not sender.isascii():
        sender = strip_marks(sender)
    # Newer exports show unsaved contacts as `~ Name` (with U+202F after the tilde).
    return sender.lstrip("~").strip(" \u202f\u00a0")


IMPORTER = WhatsAppImporter()
