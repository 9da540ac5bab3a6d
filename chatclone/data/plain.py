"""Names from an export shown as plain text: a chat title, a sender or a file name in a zip is
written by whoever made the export, and must not drive the terminal or the report.

Control characters (ANSI escapes like ESC[31m, carriage returns, bells) and the marks that
reverse the direction of text are shown as visible escapes (`\\x1b`); console markup such as
`[bold]` stays literal text because the report prints names as `rich.text.Text`, never markup.
Long lists of names are cut to the first few and a count.
"""

from __future__ import annotations

import re
from typing import Iterable

# C0 and C1 controls, DEL, and the bidirectional overrides and isolates (U+202A-E, U+2066-9).
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
FEW = 5


def plain(text: object) -> str:
    """`text` with every control character written as a visible escape."""
    return _HIDDEN.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}"
        ),
        str(text),
    )


def summarise(names: Iterable[object], few: int = FEW) -> str:
    """'a, b, c and 1,234 more': the first `few` names (plain), then how many others."""
    names = list(names)
    shown = ", ".join(plain(n) for n in names[:few])
    more = len(names) - few
    return f"{shown} and {more:,} more" if more > 0 else shown
