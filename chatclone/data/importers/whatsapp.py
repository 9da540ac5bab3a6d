"""WhatsApp "Export chat" text (Android and iOS, any locale's date and time shapes).

Lines are streamed; a line that does not start with a full header continues the previous
message. Day/month order is never stated by the export, so it is decided once the whole file has
been read (see `whatsapp_dates`). The chat's name exists only in the file or zip name.
"""

from __future__ import annotations

import re
from pathlib import Path
from sys import intern

from chatclone.data.importers._common import head_text, iter_chunks, strip_marks
from chatclone.data.importers.base import ImportReport, ImportResult
from chatclone.data.importers.whatsapp_dates import DateResolver
from chatclone.data.records import Conversation, Message, out_of_order

_DATE = r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}"
_TIME = r"(\d{1,2}[:.]\d{2}(?:[:.]\d{2})?)(?:[^\S\n]*([AaPp]\.?[^\S\n]?[Mm]\.?))?"
_SP = r"[^\S\n]"  # whitespace, but never a line end
# One pattern for both shapes: iOS `[date, time] rest`, Android `date, time - rest`. Run over
# whole chunks of the file (re.M), so the Python loop turns once per message, not per line.
HEADER = re.compile(
    r"^[\u200e\u200f]*(?:\[("
    + _DATE
    + r"),?"
    + _SP
    + _TIME
    + r"\]"
    + _SP
    + r"|("
    + _DATE
    + r"),?"
    + _SP
    + _TIME
    + _SP
    + r"[-\u2013]"
    + _SP
    + r")([^\n]*)\n?",
    re.M,
)
TITLE_PREFIX = re.compile(
    r"^(?:WhatsApp[ -]Chat (?:with|mit|met|con|avec|com|-)|Chat de WhatsApp con|"
    r"Conversa do WhatsApp com|Discussion WhatsApp avec)\s*",
    re.I,
)
MEDIA = frozenset(
    s.lower()
    for s in (
        "<Media omitted>",
        "<Medien ausgeschlossen>",
        "<Multimedia omitido>",
        "<Médias omis>",
        "<Média omis>",
        "<Media weggelaten>",
        "<Mídia oculta>",
        "<Media omessi>",
        "<Medya dahil edilmedi>",
        "image omitted",
        "video omitted",
        "audio omitted",
        "sticker omitted",
        "GIF omitted",
        "document omitted",
        "Contact card omitted",
        "Bild weggelassen",
        "Video weggelassen",
        "Audio weggelassen",
        "Sticker weggelassen",
        "GIF weggelassen",
        "Dokument weggelassen",
        "imagen omitida",
        "audio omitido",
        "video omitido",
        "vídeo omitido",
        "sticker omitido",
        "GIF omitido",
        "image absente",
        "vidéo absente",
        "null",
        "view once voice message omitted",
    )
)
DELETED = frozenset(
    s.lower()
    for s in (
        "This message was deleted",
        "This message was deleted.",
        "You deleted this message",
        "You deleted this message.",
        "Diese Nachricht wurde gelöscht",
        "Diese Nachricht wurde gelöscht.",
        "Du hast diese Nachricht gelöscht",
        "Du hast diese Nachricht gelöscht.",
        "Se eliminó este mensaje.",
        "Se eliminó este mensaje",
        "Eliminaste este mensaje.",
        "Eliminaste este mensaje",
        "Ce message a été supprimé",
        "Vous avez supprimé ce message",
        "Dit bericht is verwijderd",
        "Mensagem apagada",
        "Questo messaggio è stato eliminato",
    )
)
CALLS = (
    "missed voice call",
    "missed video call",
    "missed group voice call",
    "missed group video call",
    "verpasster sprachanruf",
    "verpasster videoanruf",
)
# Android system lines that contain ": " (a quoted subject or group name), seen before the colon.
SYSTEM_BEFORE_COLON = re.compile(
    r" (?:changed the subject|created group|changed the group name|"
    r"hat den Betreff|hat die Gruppe)"
)
SYSTEM = re.compile(
    r"end-to-end encrypted|secured with end-to-end encryption|Ende-zu-Ende-verschl|"
    r"cifrados de extremo a extremo|chiffrés de bout en bout|"
    r"^.{0,80}? (?:created group|created this group|added|removed|left|joined using this group's "
    r"invite link|changed the subject|changed this group's icon|changed the group description|"
    r"deleted this group's icon|changed their phone number|changed to|hat die Gruppe|hat den Betreff|"
    r"ist beigetreten|hat .{1,60} hinzugefügt|hat die Gruppe verlassen)\b|"
    r"security code (?:with .{1,80} )?changed|Sicherheitsnummer|disappearing messages|"
    r"You're now an admin|You joined using|This chat is with a business account|"
    r"^(?:Waiting for this message|Warte auf diese Nachricht)",
)
ATTACHED = re.compile(
    r"^\S.*\.\w{2,5} \((?:file attached|Datei angehängt|archivo adjunto|fichier joint|"
    r"arquivo anexado|file allegato|bestand bijgevoegd)\)\s*",
    re.I,
)
IOS_ATTACHED = re.compile(r"^<(?:attached|angehängt|adjunto|pièce jointe): [^>]*>\s*", re.I)
EDITED = re.compile(
    r"\s*<(?:This message was edited|Diese Nachricht wurde bearbeitet|Se editó este "
    r"mensaje\.?|Ce message a été modifié|Dit bericht is bewerkt)>$",
    re.I,
)


def chat_title(path: Path) -> str:
    stem = path.stem
    if stem.lower() in ("_chat", "chat"):  # iOS: `_chat.txt` inside `WhatsApp Chat - <name>.zip`
        stem = path.parent.name.removesuffix(".zip")
    return TITLE_PREFIX.sub("", stem).strip() or stem


def header(line: str) -> re.Match | None:
    return HEADER.match(line)


def classify(body: str, ios: bool) -> tuple[str | None, str]:
    """(skip reason or None, cleaned text) of one message body."""
    marked = body[:1] == "\u200e"
    if not body.isascii():
        body = strip_marks(body)
    body = body.strip()
    if not body:
        return "empty", body
    if body[-1] == ">" and ("<" in body[:-1]):
        body = EDITED.sub("", body)
    if len(body) < 80:
        key = body.lower()
        if (
            key in MEDIA
            or key.endswith((" omitted", " weggelassen", " omitida", " omitido"))
            and (marked or not ios)
        ):
            return "media_only", body
        if key in DELETED:
            return "deleted", body
        if key.startswith(CALLS):
            return "system", body
    if body[0] == "<" or "(" in body:
        stripped = IOS_ATTACHED.sub("", body) if body[0] == "<" else ATTACHED.sub("", body)
        if stripped != body:
            return ("media_only", "") if not stripped.strip() else (None, stripped.strip())
    if ios and marked and SYSTEM.search(body):
        return "system", body  # iOS attributes system lines to a sender; they start with U+200E
    return None, body


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
        return any(header(line) for line in lines[:-1] or lines)

    def load(self, path: Path) -> ImportResult:
        report = ImportReport(path=str(path), format=self.name)
        pending: list[tuple | None] = []  # (date, time, ampm, sender, body, line, ios)
        dates = DateResolver(path)
        canon, append = dates.canon, pending.append
        line = 0  # lines consumed so far
        for chunk in iter_chunks(path):
            pos = 0
            for m in HEADER.finditer(chunk):
                start = m.start()
                if start > pos:
                    line = self._gap(chunk[pos:start], line, pending, report)
                line += 1
                pos = m.end()
                idate, itime, iampm, adate, atime, aampm, rest = m.groups()
                date, time, ampm, ios = (
                    (idate, itime, iampm, True) if idate else (adate, atime, aampm, False)
                )
                # Shared strings (less memory); a date seen before needs no parsing.
                date, time = canon.get(date) or dates.see(date), intern(time)
                sender, sep, body = rest.partition(": ")
                if not sep or (
                    not ios
                    and ('"' in sender or "\u201c" in sender)
                    and SYSTEM_BEFORE_COLON.search(sender)
                ):
                    append((date, time, ampm, "", rest, line, ios))  # Android notice: no sender
                    continue
                append((date, time, ampm, sender, body, line, ios))
            if pos < len(chunk):
                line = self._gap(chunk[pos:], line, pending, report)
        report.read = line
        return self._finish(path, report, pending, dates)

    @staticmethod
    def _gap(text: str, line: int, pending: list[tuple], report: ImportReport) -> int:
        """Lines between two headers: they continue the message above (or cannot be placed)."""
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        if pending:
            date, time, ampm, sender, body, n, ios = pending[-1]
            pending[-1] = (date, time, ampm, sender, body + "\n" + "\n".join(lines), n, ios)
            report.continuation += len(lines)
        else:
            for k, raw in enumerate(lines, line + 1):
                report.skip("unparsable" if raw.strip() else "empty", k, raw)
        return line + len(lines)

    def _finish(
        self, path: Path, report: ImportReport, pending: list[tuple], dates: DateResolver
    ) -> ImportResult:
        dates.decide(report)
        messages = []
        append = messages.append
        where = f"{path} line "
        timestamp = dates.timestamp
        for i, (date, time, ampm, sender, body, n, ios) in enumerate(pending):
            pending[i] = None  # free each raw entry as its message is made: no double peak
            if not sender:
                report.skip("system")
                continue
            reason, text = classify(body, ios)
            if reason is not None:
                report.skip(reason)
                continue
            ts = timestamp(date, time, ampm)
            if ts is None:
                report.skip("unparsable", n, f"{date} {time} {ampm or ''}".strip())
                continue
            if not sender.isascii() or sender[:1] == "~":
                sender = clean_sender(sender)
            append(Message(sender, text, ts, None, where + str(n)))
        report.imported = len(messages)
        if out_of_order(messages):
            messages.sort(key=lambda msg: msg.timestamp)  # stable: equal minutes keep file order
            report.decisions["order"] = "re-sorted by time (the export was not chronological)"
        title = chat_title(path)
        conv = Conversation(
            id=f"whatsapp:{title}", messages=tuple(messages), title=title, platform="whatsapp"
        )
        return ImportResult([conv] if messages else [], [report])


def clean_sender(sender: str) -> str:
    if not sender.isascii():
        sender = strip_marks(sender)
    # Newer exports show unsaved contacts as `~ Name` (with U+202F after the tilde).
    return sender.lstrip("~").strip(" \u202f\u00a0")


IMPORTER = WhatsAppImporter()
