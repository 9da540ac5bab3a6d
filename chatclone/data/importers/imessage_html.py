"""iMessage through imessage-exporter `-f html`: one HTML file per conversation.

A message is a `<div class="message">` around a `received` or `sent …` div: a `timestamp` span
(the date as in the txt export, maybe followed by a read receipt in parentheses), a `sender` span
(`Me` for the Mac's owner, else a handle or contact name) and `message_part` divs. A part's
`bubble` span holds text (entities unescaped, `<br>` a line break, inline tags reduced to their
text); a part without one is an attachment. Reactions, `expressive` notes and `reply_context`
are not text. Thread replies are `div.message`s nested in `div.replies`: messages of the same
conversation, put in time order. An `announcement` div (a rename, someone joining) is a system
line. Times are the exporting Mac's local time (read as UTC, like the txt export).

The file is parsed in one pass of the standard library's `html.parser`, whatever its markup:
unclosed elements close at the end of the file, stray end tags are ignored, and markup cut short
(an unclosed tag or comment) is counted as unparsable and parsing goes on after it.
"""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

from chatclone.data.importers._common import head_text, iter_chunks
from chatclone.data.importers.base import ImportReport, ImportResult
from chatclone.data.importers.imessage import DELETED, OWNER, conversation_of, parse_date
from chatclone.data.importers.limits import FILE
from chatclone.data.records import Message

STAMP = re.compile(
    r"([A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} [AP]M)(?: \(.*\))?", re.ASCII | re.S
)
SNIFF_MESSAGE = re.compile(r"""<div\s+class\s*=\s*["']?(?:message|announcement)\b""", re.I)
SNIFF_STAMP = re.compile(r"""class\s*=\s*["']?timestamp\b""", re.I)
VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
MEDIA = frozenset(("img", "video", "audio", "source", "embed", "object", "iframe"))
SKIP = "skip"  # inside reactions, expressive notes, reply context, announcements: not text
ROLES = {
    "timestamp": "timestamp",
    "sender": "sender",
    "bubble": "bubble",
    "reactions": SKIP,
    "reaction": SKIP,
    "expressive": SKIP,
    "reply_context": SKIP,
}


class Record:
    """One `div.message` or `div.announcement` as it is read."""

    __slots__ = ("line", "system", "stamp", "sender", "texts", "parts", "media")

    def __init__(self, line: int, system: bool) -> None:
        self.line, self.system = line, system
        self.stamp: list[str] = []
        self.sender: list[str] = []
        self.texts: list[list[str]] = []  # one list of pieces per bubble
        self.parts = 0  # message_part divs (a part without a bubble is an attachment)
        self.media = 0  # images, videos, sounds


class Reader(HTMLParser):
    """Turns the markup into `Message`s, counting every record in `report`."""

    def __init__(self, path: Path, report: ImportReport) -> None:
        super().__init__(convert_charrefs=True)
        self.path, self.report = path, report
        self.messages: list[Message] = []
        # Open elements: (tag, what text inside is, the record it belongs to, whether it is
        # that record's own div); `open` counts them by tag, so a stray end tag costs nothing.
        self.stack: list[tuple[str, str | None, Record | None, bool]] = []
        self.open: Counter = Counter()

    def run(self, text: str) -> None:
        """Parse all of `text`; after markup cut short, go on at the next tag (within a budget
        of re-reading, so that a file of unclosed tags stays linear)."""
        budget = 16 * len(text) + (1 << 20)
        self.feed(text)
        while self.rawdata:  # what the parser could not finish: an unclosed tag or comment
            rest, line = self.rawdata, self.getpos()[0]
            self.report.read += 1
            self.report.skip("unparsable", line, rest[:120])
            cut = rest.find("<", 1)
            budget -= len(rest)
            self.rawdata = ""
            if cut < 0 or budget < 0:
                break
            skipped = rest[:cut]
            if "\n" in skipped:
                self.lineno += skipped.count("\n")
                self.offset = len(skipped) - skipped.rfind("\n") - 1
            else:
                self.offset += len(skipped)
            self.clear_cdata_mode()
            self.feed(rest[cut:])
        while self.stack:  # elements never closed (a truncated file): their records end here
            self._pop()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        _, capture, record, _ = self.stack[-1] if self.stack else ("", None, None, False)
        if tag in VOID:
            if record is not None and tag == "br" and capture == "bubble":
                record.texts[-1].append("\n")
            elif record is not None and tag in MEDIA and capture != SKIP:
                record.media += 1
            return
        classes = " ".join(v for k, v in attrs if k == "class" and v).split()
        owns = tag == "div" and ("message" in classes or "announcement" in classes)
        if owns:
            record = Record(self.getpos()[0], "message" not in classes)
            capture = SKIP if record.system else None
            self.report.read += 1
        elif record is None:
            if "timestamp" in classes:  # a message's date with no message around it
                self.report.read += 1
                self.report.skip("unparsable", self.getpos()[0], "timestamp outside a message")
        elif capture != SKIP:
            record.media += tag in MEDIA
            record.parts += "message_part" in classes
            role = next((ROLES[c] for c in classes if c in ROLES), None)
            if role == "bubble":
                record.texts.append([])
            capture = role or capture
        self.stack.append((tag, capture, record, owns))
        self.open[tag] += 1

    def handle_endtag(self, tag: str) -> None:
        if self.open[tag]:
            while self._pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if not self.stack:
            return
        _, capture, record, _ = self.stack[-1]
        if record is None or capture is None or capture == SKIP:
            return
        if capture == "timestamp":
            record.stamp.append(data)
        elif capture == "sender":
            record.sender.append(data)
        else:
            record.texts[-1].append(data)

    def _pop(self) -> str:
        tag, _, record, owns = self.stack.pop()
        self.open[tag] -= 1
        if owns and record is not None:
            self._finish(record)
        return tag

    def _finish(self, record: Record) -> None:
        report, line = self.report, record.line
        if record.system:
            report.skip("system", line)
            return
        raw = " ".join("".join(record.stamp).split())
        m = STAMP.fullmatch(raw)
        when = parse_date(m.group(1)) if m else None
        if when is None:
            report.skip("unparsable", line, f"timestamp: {raw}" if raw else "no timestamp")
            return
        sender = " ".join("".join(record.sender).split())
        if not sender:
            report.skip("unparsable", line, f"no sender: {raw}")
            return
        text = "\n".join(t for t in ("".join(p).strip() for p in record.texts) if t)
        if text == DELETED:
            report.skip("deleted", line)
        elif not text:
            attached = record.media or record.parts > len(record.texts)
            report.skip("media_only" if attached else "empty", line)
        else:
            source = f"{self.path} line {line}"
            self.messages.append(Message(sender, text, when, sender == OWNER, source))


def read_text(path: Path) -> str:
    """The whole file as text, within the file limit; decoding errors name the line."""
    pieces, size, limit = [], 0, FILE.value()
    for piece in iter_chunks(path):
        size += len(piece)
        if size > limit:
            raise FILE.exceeded(str(path))
        pieces.append(piece)
    return "".join(pieces)


class IMessageHtmlImporter:
    name = "imessage-html"
    description = "iMessage via imessage-exporter -f html (div.message with timestamp and sender)"

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() not in (".html", ".htm"):
            return False
        head = head_text(path, 1 << 16)
        return SNIFF_MESSAGE.search(head) is not None and SNIFF_STAMP.search(head) is not None

    def load(self, path: Path) -> ImportResult:
        report = ImportReport(path=str(path), format=self.name)
        reader = Reader(path, report)
        reader.run(read_text(path))
        return conversation_of(path, reader.messages, report)


IMPORTER = IMessageHtmlImporter()
