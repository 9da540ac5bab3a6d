"""Signal through signal-export: one folder per conversation holding `chat.md` (and `media/`).

Each message is a header line `[YYYY-MM-DD HH:MM:SS] Sender: body` (older exports: no seconds,
or a comma after the date) followed by more body lines and a blank line. Bodies carry export
decoration that is not text: a quoted reply before the body (`> ...` lines), a reactions line
`(- Me: 👍 -)`, a sticker `(( 😂 ))`, attachment links `![x](./media/x)` and two trailing spaces.
Times are the exporting machine's local time (read as UTC, like other zoneless sources). The
owner is written `Me`. The conversation is named after its folder.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from chatclone.data.importers._common import head_text, iter_lines
from chatclone.data.importers.base import ImportReport, ImportResult
from chatclone.data.records import Conversation, Message, out_of_order

HEADER = re.compile(
    r"\[(\d{4}-\d{2}-\d{2}),? (\d{1,2}:\d{2}(?::\d{2})?)\] (.+?):(?: (.*))?\Z", re.S
)
QUOTE = re.compile(r"\A\s*(?:>[^\n]*(?:\n|\Z))+\s*")
REACTIONS = re.compile(r"^\(- .*? -\)", re.M)
STICKER = re.compile(r"^\(\( .*? \)\)[ \t]*$", re.M)
# No `[` inside the name: a line of thousands of `[` must not cost a scan from each of them.
ATTACHMENT = re.compile(r"!?\[[^\[\]\n]*\]\((?:\./|media/|attachments/)[^()\n]*\)")
CALL = re.compile(r"(?:Incoming|Outgoing|Missed) (?:voice |video |group )?call\b[^\n]*", re.I)
DELETED = "(This message was deleted)"
OWNER = "Me"


def parse_time(day: str, clock: str) -> float | None:
    fmt = "%Y-%m-%d %H:%M:%S" if clock.count(":") == 2 else "%Y-%m-%d %H:%M"
    try:
        stamp = dt.datetime.strptime(f"{day} {clock}", fmt)
    except ValueError:
        return None
    return stamp.replace(tzinfo=dt.timezone.utc).timestamp()


def clean(first: str, rest: list[str]) -> tuple[str, str]:
    """(reason to skip or '', text) of a message: the header line's text and the lines after."""
    text = "\n".join([first, *rest])
    if not first.strip():  # a quoted reply is written between the header and the body
        text = QUOTE.sub("", text.strip("\n"), count=1)
    decorated = bool(ATTACHMENT.search(text) or STICKER.search(text))
    text = ATTACHMENT.sub("", STICKER.sub("", REACTIONS.sub("", text)))
    text = "\n".join(line.rstrip() for line in text.split("\n")).strip()
    if text == DELETED:
        return "deleted", ""
    if CALL.fullmatch(text):
        return "system", ""
    if not text:
        return ("media_only" if decorated else "empty"), ""
    return "", text


class SignalImporter:
    name = "signal"
    description = "Signal via signal-export (chat.md: '[YYYY-MM-DD HH:MM:SS] Sender: text')"

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() != ".md":
            return False
        first = next((ln for ln in head_text(path).splitlines() if ln.strip()), "")
        return HEADER.match(first) is not None

    def load(self, path: Path) -> ImportResult:
        report = ImportReport(path=str(path), format=self.name)
        title = path.parent.name if path.name.lower() == "chat.md" else path.stem
        messages: list[Message] = []
        head: tuple[int, re.Match] | None = None
        body: list[str] = []
        for n, line in iter_lines(path):
            report.read += 1
            m = HEADER.match(line)
            if m is None or parse_time(m.group(1), m.group(2)) is None:
                if head is not None:
                    report.continuation += 1
                    body.append(line)
                else:
                    report.skip("unparsable" if line.strip() else "empty", n, line)
                continue
            if head is not None:
                self._emit(head, body, path, report, messages)
            head, body = (n, m), [m.group(4) or ""]
        if head is not None:
            self._emit(head, body, path, report, messages)
        if out_of_order(messages):
            messages.sort(key=lambda msg: msg.timestamp)
            report.decisions["order"] = "re-sorted by time"
        report.imported = len(messages)
        report.decisions["time"] = "naive local time (no zone in the export)"
        report.decisions["owner"] = f"'{OWNER}' (how signal-export writes the exporting account)"
        conv = Conversation(
            id=f"signal:{title}", messages=tuple(messages), title=title, platform="signal"
        )
        return ImportResult([conv] if messages else [], [report])

    @staticmethod
    def _emit(
        head: tuple[int, re.Match],
        body: list[str],
        path: Path,
        report: ImportReport,
        out: list[Message],
    ) -> None:
        n, m = head
        sender = m.group(3).strip()
        reason, text = clean(body[0], body[1:]) if sender else ("unparsable", "")
        if reason:
            report.skip(reason, n, m.group(0))
            return
        ts = parse_time(m.group(1), m.group(2))
        out.append(Message(sender, text, ts, sender == OWNER, f"{path} line {n}"))


IMPORTER = SignalImporter()
