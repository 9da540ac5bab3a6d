"""JSON escapes that would decode to something unusable, repaired in the JSON text.

Telegram writes control characters as the invalid escape `\\xHH`: it becomes `\\u00HH`. A lone
half of a UTF-16 surrogate pair (`\\ud83d` without its `\\ude00`, as an export cut in the middle
of an emoji writes it) decodes to a string that cannot be written as UTF-8, so `import -o` or
the report would fail at the end; it becomes U+FFFD (`\\ufffd`, the same length). Both scans
start at a token boundary, where escapes begin with the first backslash.
"""

from __future__ import annotations

import re

# An escape at the start of the text: `\\` stays, Telegram's invalid `\xHH` becomes `\u00HH`.
_X_ESCAPE = re.compile(r"\\[\s\S]")
# An escaped backslash (kept, so the scan stays in step), a whole pair (kept), or a half.
_SURROGATE = re.compile(
    r"(\\\\)|(\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
)
_LOW_START = re.compile(r"(?:\\(?:u(?:[dD](?:[c-fC-F][0-9a-fA-F]?)?)?)?)?")


def _u_escape(m: re.Match) -> str:
    return "\\u00" if m.group() == "\\x" else m.group()


def fix_x_escapes(text: str) -> str:
    """`text`, which starts with an escape, with every `\\xHH` written as `\\u00HH`."""
    return _X_ESCAPE.sub(_u_escape, text)


def fix_surrogates(text: str, final: bool = True) -> tuple[str, bool]:
    """(`text` with every lone surrogate escape as `\\ufffd`, whether a first half at its very
    end was left as it is because its second half may be in the next piece; never when
    `final`)."""
    if "\\u" not in text:
        return text, False
    unsure = False

    def one(m: re.Match) -> str:
        nonlocal unsure
        if m.lastindex:  # `\\` or a whole pair
            return m.group()
        if not final and m.group()[3] in "89abAB" and _LOW_START.fullmatch(text, m.end()):
            unsure = True  # the text ends where a second half could begin
            return m.group()
        return "\\ufffd"

    return _SURROGATE.sub(one, text), unsure


def scan_start(buf: str, start: int, floor: int) -> int:
    """Where to rescan `buf` from to see the escapes around `start` (new text begins there):
    12 characters back, so a first half left unsure is seen with its second, and back over a
    backslash that begins an escape; never before `floor` (a token boundary)."""
    s = max(floor, start - 12)
    run = s
    while run > floor and buf[run - 1] == "\\":
        run -= 1
    return s - 1 if (s - run) % 2 else s
