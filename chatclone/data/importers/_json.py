"""Reading JSON exports safely: whole (small files) or streamed (big ones), within limits.

Every failure becomes a `ChatcloneError` naming the file and the place: invalid JSON, text that
is not UTF-8, nesting too deep for the decoder, numbers too long for Python's int parser, a
value over the size limit, and a second JSON document after the first (two exports joined in
one file would otherwise lose the second one silently).
"""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path
from typing import Any, Iterator

from chatclone.data.importers._escapes import fix_surrogates, fix_x_escapes, scan_start
from chatclone.data.importers.limits import FILE
from chatclone.errors import ChatcloneError

_WS = re.compile(r"[ \t\r\n]*")
_LONG_NUMBER = re.compile(r"\d{4301}")
DAMAGED = "the file is damaged or not a chat export; check that it is the export file itself"


def read_limited(path: Path) -> bytes:
    """The bytes of a file read whole, refused beyond the file limit before anything is read."""
    size = Path(path).stat().st_size
    if size > FILE.value():
        raise FILE.exceeded(f"{path} ({size / (1 << 20):.0f} MB)")
    return Path(path).read_bytes()


def load_json(path: Path) -> Any:
    """A whole JSON file (for formats whose files are small by construction)."""
    try:
        text = read_limited(path).decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ChatcloneError(
            f"{path}: not UTF-8 text at byte {e.start}; is this a JSON chat export?"
        ) from None
    text = fix_surrogates(text)[0]
    start = _WS.match(text).end()
    try:
        value, end = json.JSONDecoder(strict=False).raw_decode(text, start)
    except json.JSONDecodeError as e:
        raise ChatcloneError(
            f"{path}, line {e.lineno}: not valid JSON ({e.msg}); the export looks truncated or damaged"
        ) from None
    except (RecursionError, ValueError) as e:
        raise ChatcloneError(f"{path}: {_unreadable(e, text, start)}; {DAMAGED}") from None
    rest = _WS.match(text, end).end()
    if rest < len(text):
        raise ChatcloneError(
            trailing(f"{path}, line {text.count(chr(10), 0, rest) + 1}", text[rest : rest + 20])
        )
    return value


def _unreadable(e: Exception, text: str, start: int = 0) -> str:
    """What makes valid-looking JSON unreadable: nesting or a number beyond Python's limits."""
    if isinstance(e, RecursionError):
        return "JSON nested too deep to read (thousands of levels)"
    long = _LONG_NUMBER.search(text, start)
    where = f" (line {text.count(chr(10), 0, long.start()) + 1})" if long else ""
    return f"a number of more than 4300 digits{where}"


def trailing(place: str, found: str) -> str:
    """The error for data after the end of the first JSON document."""
    if found[0] in "{[":
        return (
            f"{place}: a second JSON document starts after the first one ends; chatclone reads "
            "one document per file, so the second would be lost. Fix: split the file into one "
            "file per document (e.g. part1.json, part2.json) and pass them all"
        )
    return (
        f"{place}: unexpected text {found.splitlines()[0]!r} after the end of the JSON document; the file "
        "was appended to or damaged. Fix: remove what follows the JSON, or export again"
    )


class JsonStream:
    """Walks a JSON document incrementally, decoding one value at a time with the C decoder.

    Big arrays (thousands of messages) are visited element by element, so memory holds one
    message, not the file. Telegram writes control characters as the invalid escape `\\xHH`;
    it is rewritten to `\\u00HH` where the decoder trips over it. When the walk went through the
    whole top-level value, anything but white space after it is an error (see `trailing`).
    """

    CHUNK = 1 << 20

    def __init__(self, path: Path) -> None:
        self.path = path
        self.limit = FILE.value()
        self.file = open(path, "rb")
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.json = json.JSONDecoder(strict=False)
        self.buf, self.pos, self.eof, self.consumed = "", 0, False, 0
        self.depth, self.done = 0, False  # open containers; whether the top value was read
        self.unsure = False  # a surrogate escape at the end waits for its second half
        self._more()
        if self.buf.startswith("\ufeff"):
            self.pos = 1

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> "JsonStream":
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        try:
            if exc_type is None and self.done and self.peek():
                place = f"{self.path}, byte {self.consumed + self.pos}"
                raise ChatcloneError(trailing(place, self.buf[self.pos : self.pos + 20]))
        finally:
            self.close()

    def error(self, what: str) -> ChatcloneError:
        return ChatcloneError(
            f"{self.path}, byte {self.consumed + self.pos}: {what}; the export looks truncated or damaged"
        )

    def _more(self, size: int = 0) -> bool:
        if self.eof:
            return False
        if len(self.buf) - self.pos > self.limit:
            raise FILE.exceeded(f"{self.path}, byte {self.consumed + self.pos}: one JSON value")
        raw = self.file.read(max(size, self.CHUNK))
        try:
            text = self.decoder.decode(raw, final=not raw)
        except UnicodeDecodeError:
            raise self.error("not UTF-8 text") from None
        if not raw:
            self.eof = True
        if self.pos > len(self.buf) // 2:  # drop what was read, keeping the buffer small
            self.consumed += self.pos
            self.buf, self.pos = self.buf[self.pos :], 0
        start = len(self.buf)
        self.buf += text
        if self.unsure or "\\u" in self.buf[max(self.pos, start - 6) :]:
            at = scan_start(self.buf, start, self.pos)
            fixed, self.unsure = fix_surrogates(self.buf[at:], final=self.eof)
            self.buf = self.buf[:at] + fixed  # the same length: no offset moves
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

    def _enter(self, ch: str) -> None:
        self.expect(ch)
        self.depth += 1

    def _leave(self) -> None:
        self.depth -= 1
        self.done = self.depth == 0

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
                self.done = self.done or self.depth == 0
                return value
            except json.JSONDecodeError as e:
                if e.msg.startswith("Invalid \\escape") and self.buf[e.pos : e.pos + 2] == "\\x":
                    # All of them at once: one at a time would copy the buffer once for each.
                    self.buf = self.buf[: e.pos] + fix_x_escapes(self.buf[e.pos :])
                    continue
                # Only an unfinished value at the end of the buffer can be cured by reading more;
                # read as much again as it already holds, so a big value is not re-parsed often.
                cut = e.msg.startswith("Unterminated string") or e.pos >= len(self.buf) - 8
                if not cut or not self._more(len(self.buf) - self.pos):
                    raise self.error(f"not valid JSON ({e.msg})") from None
            except (RecursionError, ValueError) as e:
                raise self.error(_unreadable(e, "")) from None

    def items(self) -> Iterator[str]:
        """Keys of the object starting here; after each key, read or skip its value."""
        self._enter("{")
        if self.peek() == "}":
            self.pos += 1
            return self._leave()
        while True:
            key = self.value()
            if not isinstance(key, str):
                raise self.error("expected an object key")
            self.expect(":")
            yield key
            nxt = self.peek()
            self.pos += 1
            if nxt == "}":
                return self._leave()
            if nxt != ",":
                raise self.error(f"expected ',' or '}}', found {nxt or 'end of file'!r}")

    def elements(self) -> Iterator[None]:
        """One step per element of the array starting here; read each element in the loop."""
        self._enter("[")
        if self.peek() == "]":
            self.pos += 1
            return self._leave()
        while True:
            yield None
            nxt = self.peek()
            self.pos += 1
            if nxt == "]":
                return self._leave()
            if nxt != ",":
                raise self.error(f"expected ',' or ']', found {nxt or 'end of file'!r}")


def array_values(js: JsonStream) -> Iterator[Any]:
    """The elements of the array starting at `js`, decoded one at a time: `elements()` and
    `value()` in one loop, where an object already whole in the buffer (the usual case) is
    decoded by the C scanner directly; anything else takes the careful path of `value()`."""
    js._enter("[")
    if js.peek() == "]":
        js.pos += 1
        return js._leave()
    scan, ws = js.json.scan_once, _WS.match
    while True:
        buf = js.buf
        pos = ws(buf, js.pos).end()
        if buf.startswith("{", pos):
            try:
                value, js.pos = scan(buf, pos)
            except (StopIteration, json.JSONDecodeError, RecursionError, ValueError):
                value = js.value()  # says what is wrong, or reads more of the file
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
            return js._leave()
        if nxt != ",":
            raise js.error(f"expected ',' or ']', found {nxt or 'end of file'!r}")
