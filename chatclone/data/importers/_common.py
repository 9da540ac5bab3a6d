"""Helpers shared by the importers: reading text safely, streaming big JSON, repairing text.

Every failure here becomes a `ChatcloneError` naming the file and the place (line or byte
offset), so an importer never lets a `UnicodeDecodeError` or `JSONDecodeError` escape. No line
is read beyond the file limit (`limits.FILE`): a file without line ends is not one huge string.
JSON reading lives in `_json` and is importable from here too.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Callable, Iterator

# The importers take JSON reading from here too.
from chatclone.data.importers._json import JsonStream, array_values, load_json  # noqa: F401
from chatclone.data.importers.limits import FILE
from chatclone.errors import ChatcloneError

# Invisible marks that exports sprinkle into text (WhatsApp iOS: U+200E before placeholders):
# the bidi marks and the BOM only. ZWJ/ZWNJ (U+200D/U+200C) and variation selectors are part
# of the text: they join emoji sequences (👩🏻‍⚖️) and spell Persian and Indic words.
BIDI_AND_BOM = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
INVISIBLE = dict.fromkeys(map(ord, BIDI_AND_BOM))


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
    head, limit = read_head(path, 4), FILE.value()
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            with open(path, encoding="utf-16", newline="") as f:
                for n, line in enumerate(iter(lambda: f.readline(limit // 2 + 1), ""), 1):
                    if len(line) > limit // 2:
                        raise FILE.exceeded(f"{path}, line {n}")
                    yield n, line.rstrip("\r\n")
        except UnicodeDecodeError as e:
            raise ChatcloneError(
                f"{path}: broken UTF-16 text ({e.reason}); re-export the chat"
            ) from None
        return
    n = 0
    with open(path, "rb") as f:
        long = lambda i: FILE.exceeded(f"{path}, line {n + 1 + i}")  # noqa: E731
        for block in _line_blocks(f, limit, long):
            for n, raw in enumerate(block, n + 1):
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


_MOJIBAKE = re.compile(r"[\u00c2-\u00f4][\u0080-\u00bf]")


def fix_mojibake(text: str) -> str:
    """Facebook's export writes each UTF-8 byte as a Latin-1 character: undo it, if it is that."""
    if text.isascii() or not _MOJIBAKE.search(text):
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text  # real Latin-1 or already repaired text: leave it as it is


def _line_blocks(f, limit: int, too_long: Callable[[int], ChatcloneError]) -> Iterator[list[bytes]]:
    """The lines of a binary file, in lists, split in C from 4 MiB reads (a line keeps a CR
    before its end): as fast as iterating the file, and a line longer than `limit` is
    `too_long(i)` (i: its place in the block) rather than one string that grows with the file."""
    parts: list[bytes] = []
    while chunk := f.read(1 << 22):
        if b"\n" not in chunk:
            parts.append(chunk)
            if sum(map(len, parts)) > limit:
                raise too_long(0)
            continue
        lines = chunk.split(b"\n")
        if parts:
            lines[0] = b"".join(parts) + lines[0]
        if len(lines[0]) > limit or len(chunk) > limit and max(map(len, lines)) > limit:
            raise too_long(next(i for i, line in enumerate(lines) if len(line) > limit))
        parts = [lines.pop()]
        yield lines
    if parts and parts != [b""]:
        yield [b"".join(parts)]


def iter_chunks(path: Path, size: int = 1 << 22) -> Iterator[str]:
    """The text of a UTF-8 (BOM ok) or UTF-16 (with BOM) file in pieces that end at a line end.

    CRLF becomes LF. Decoding errors name the line, counted over the whole file.
    """
    if read_head(path, 2).startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            with open(path, encoding="utf-16", newline="") as f:
                too_long = lambda: FILE.exceeded(f"{path}: one line")  # noqa: E731
                yield from _cut_at_lines(iter(lambda: f.read(size), ""), too_long)
        except UnicodeDecodeError as e:
            raise ChatcloneError(
                f"{path}: broken UTF-16 text ({e.reason}); re-export the chat"
            ) from None
        return
    lines_before = 0
    with open(path, "rb") as f:
        too_long = lambda: FILE.exceeded(f"{path}, line {lines_before + 1}")  # noqa: E731
        for n, raw in enumerate(_cut_at_lines(iter(lambda: f.read(size), b""), too_long)):
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


def _cut_at_lines(pieces: Iterator, too_long: Callable[[], ChatcloneError]) -> Iterator:
    """Re-cut pieces so that each ends at a newline (the last one may not); a line longer than
    the file limit is `too_long()` rather than a string that grows with the file."""
    rest, limit = None, FILE.value()
    for piece in pieces:
        piece = piece if rest is None else rest + piece
        cut = piece.rfind(b"\n" if isinstance(piece, bytes) else "\n") + 1
        if cut:
            yield piece[:cut]
        rest = piece[cut:]
        if len(rest) > limit:
            raise too_long()
    if rest:
        yield rest
