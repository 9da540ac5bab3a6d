"""Helpers shared by the importers: reading text safely, streaming big JSON, repairing text.

Every failure here becomes a `ChatcloneError` naming the file and the place (line or byte
offset), so an importer never lets a `UnicodeDecodeError` or `JSONDecodeError` escape.
"""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path
from typing import Any, Iterator

from chatclone.errors import ChatcloneError

# Invisible marks that exports sprinkle into text (WhatsApp iOS: U+200E before placeholders).
INVISIBLE = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u00ad\ufeff")
)


def strip_marks(text: str) -> str:
    return text.translate(INVISIBLE)


def read_head(path: Path, size: int = 4096) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except OSError:
        return b""


def head_text(path: Path, size: int = 4096) -> str:
    """The first bytes as text (UTF-8 or UTF-16 with BOM), for sniffing; '' when unreadable."""
    head = read_head(path, size)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="ignore")
    return head.decode("utf-8", errors="ignore").lstrip("\ufeff")


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line without its end) of a UTF-8 (BOM ok) or UTF-16 (with BOM) text file."""
    head = read_head(path, 4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            with open(path, encoding="utf-16", newline="") as f:
                for n, line in enumerate(f, 1):
                    yield n, line.rstrip("\r\n")
        except UnicodeDecodeError as e:
            raise ChatcloneError(
                f"{path}: broken UTF-16 text ({e.reason}); re-export the chat"
            ) from None
        return
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise ChatcloneError(
                    f"{path}, line {n}: not UTF-8 text (byte 0x{raw[e.start]:02x} at column "
                    f"{e.start + 1}). Chat exports are UTF-8; convert the file first, e.g. "
                    f"`iconv -f latin1 -t utf-8 in.txt > out.txt`."
                ) from None
            if n == 1:
                line = line.lstrip("\ufeff")
            yield n, line.rstrip("\r\n")


def load_json(path: Path) -> Any:
    """A whole JSON file (for formats whose files are small by construction)."""
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ChatcloneError(
            f"{path}: not UTF-8 text at byte {e.start}; is this a JSON chat export?"
        ) from None
    try:
        return json.loads(text, strict=False)
    except json.JSONDecodeError as e:
        raise ChatcloneError(
            f"{path}, line {e.lineno}: not valid JSON ({e.msg}); the export looks truncated or damaged"
        ) from None


_MOJIBAKE = re.compile(r"[\u00c2-\u00f4][\u0080-\u00bf]")


def fix_mojibake(text: str) -> str:
    """Facebook's export writes each UTF-8 byte as a Latin-1 character: undo it, if it is that."""
    if text.isascii() or not _MOJIBAKE.search(text):
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text  # real Latin-1 or already repaired text: leave it as it is


_WS = re.compile(r"[ \t\r\n]*")


class JsonStream:
    """Walks a JSON document incrementally, decoding one value at a time with the C decoder.

    Big arrays (thousands of messages) are visited element by element, so memory holds one
    message, not the file. Telegram writes control characters as the invalid escape `\\xHH`;
    it is rewritten to `\\u00HH` where the decoder trips over it.
    """

    CHUNK = 1 << 20

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = open(path, "rb")
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.json = json.JSONDecoder(strict=False)
        self.buf, self.pos, self.eof, self.consumed = "", 0, False, 0
        self._more()
        if self.buf.startswith("\ufeff"):
            self.pos = 1

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> "JsonStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def error(self, what: str) -> ChatcloneError:
        return ChatcloneError(
            f"{self.path}, byte {self.consumed + self.pos}: {what}; the export looks truncated or damaged"
        )

    def _more(self) -> bool:
        if self.eof:
            return False
        raw = self.file.read(self.CHUNK)
        try:
            text = self.decoder.decode(raw, final=not raw)
        except UnicodeDecodeError:
            raise self.error("not UTF-8 text") from None
        if not raw:
            self.eof = True
        if self.pos > len(self.buf) // 2:  # drop what was read, keeping the buffer small
            self.consumed += self.pos
            self.buf, self.pos = self.buf[self.pos :], 0
        self.buf += text
        return bool(raw)

    def peek(self) -> str:
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()
            if self.pos < len(self.buf) or not self._more():
                return self.buf[self.pos] if self.pos < len(self.buf) else ""

    def expect(self, ch: str) -> None:
        if self.peek() != ch:
            found = self.peek() or "end of file"
            raise self.error(f"expected {ch!r}, found {found!r}")
        self.pos += 1

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = self.json.raw_decode(self.buf, self.pos)
                if (
                    end == len(self.buf)
                    and not self.eof
                    and not isinstance(value, (dict, list, str))
                ):
                    raise json.JSONDecodeError("number may continue", self.buf, end)
                self.pos = end
                return value
            except json.JSONDecodeError as e:
                if e.msg.startswith("Invalid \\escape") and self.buf[e.pos : e.pos + 2] == "\\x":
                    self.buf = self.buf[: e.pos] + "\\u00" + self.buf[e.pos + 2 :]
                    continue
                # Only an unfinished value at the end of the buffer can be cured by reading more.
                cut = e.msg.startswith("Unterminated string") or e.pos >= len(self.buf) - 8
                if not cut or not self._more():
                    raise self.error(f"not valid JSON ({e.msg})") from None

    def items(self) -> Iterator[str]:
        """Keys of the object starting here; after each key, read or skip its value."""
        self.expect("{")
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            key = self.value()
            if not isinstance(key, str):
                raise self.error("expected an object key")
            self.expect(":")
            yield key
            nxt = self.peek()
            self.pos += 1
            if nxt == "}":
                return
            if nxt != ",":
                raise self.error(f"expected ',' or '}}', found {nxt or 'end of file'!r}")

    def elements(self) -> Iterator[None]:
        """One step per element of the array starting here; read each element in the loop."""
        self.expect("[")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield None
            nxt = self.peek()
            self.pos += 1
            if nxt == "]":
                return
            if nxt != ",":
                raise self.error(f"expected ',' or ']', found {nxt or 'end of file'!r}")


def array_values(js: JsonStream) -> Iterator[Any]:
    """The elements of the array starting at `js`, decoded one at a time: `elements()` and
    `value()` in one loop, where an object already whole in the buffer (the usual case) is
    decoded by the C scanner directly; anything else takes the careful path of `value()`."""
    js.expect("[")
    if js.peek() == "]":
        js.pos += 1
        return
    scan, ws = js.json.scan_once, _WS.match
    while True:
        buf = js.buf
        pos = ws(buf, js.pos).end()
        if buf.startswith("{", pos):
            try:
                value, js.pos = scan(buf, pos)
            except (StopIteration, json.JSONDecodeError):
                value = js.value()
        else:
            value = js.value()
        yield value
        pos = ws(js.buf, js.pos).end()
        if pos < len(js.buf):
            js.pos, nxt = pos, js.buf[pos]
        else:
            nxt = js.peek()
        js.pos += 1
        if nxt == "]":
            return
        if nxt != ",":
            raise js.error(f"expected ',' or ']', found {nxt or 'end of file'!r}")


def iter_chunks(path: Path, size: int = 1 << 22) -> Iterator[str]:
    """The text of a UTF-8 (BOM ok) or UTF-16 (with BOM) file in pieces that end at a line end.

    CRLF becomes LF. Decoding errors name the line, counted over the whole file.
    """
    if read_head(path, 2).startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            with open(path, encoding="utf-16", newline="") as f:
                yield from _cut_at_lines(iter(lambda: f.read(size), ""))
        except UnicodeDecodeError as e:
            raise ChatcloneError(
                f"{path}: broken UTF-16 text ({e.reason}); re-export the chat"
            ) from None
        return
    lines_before = 0
    with open(path, "rb") as f:
        for n, raw in enumerate(_cut_at_lines(iter(lambda: f.read(size), b""))):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                line = lines_before + raw.count(b"\n", 0, e.start) + 1
                raise ChatcloneError(
                    f"{path}, line {line}: not UTF-8 text (byte 0x{raw[e.start]:02x}). Chat exports "
                    f"are UTF-8; convert the file first, e.g. `iconv -f latin1 -t utf-8 in.txt > out.txt`."
                ) from None
            lines_before += raw.count(b"\n")
            if n == 0 and text.startswith("\ufeff"):
                text = text[1:]
            yield text.replace("\r\n", "\n") if "\r" in text else text


def _cut_at_lines(pieces: Iterator) -> Iterator:
    """Re-cut pieces so that each ends at a newline (the last one may not)."""
    rest = None
    for piece in pieces:
        piece = piece if rest is None else rest + piece
        cut = piece.rfind(b"\n" if isinstance(piece, bytes) else "\n") + 1
        if cut:
            yield piece[:cut]
        rest = piece[cut:]
    if rest:
        yield rest
