"""The header grammar of WhatsApp exports, and the one variant a file is locked to.

A header is `[date<join>time ampm] rest` (iOS) or `date<join>time ampm<end>rest` (Android),
where the date is three numbers in any order with `.` `/` `-` (optionally followed by a space,
optionally ending in `.`), the join is `,` and/or spaces with an optional word (`klo`, `um`,
`à`, `a las`, …), the time is `H:MM`, `HH.MM.SS`, … with an optional 12 h marker in several
languages, and the end is ` - ` / ` – `, `: ` or a plain space.

That grammar is loose, so it only picks the file's variant: the shape most of the first headers
share. The rest of the file is read with a pattern built from that one variant (same brackets,
separators, number widths, seconds, 12 h marker), so a continuation line that merely looks like a
header of another variant (`[1.9.19, 00:00:00] …` in a file of `[17.9.2019, …]`) stays text.
"""

from __future__ import annotations

import re
from collections import Counter

_S = r"[^\S\n]"  # whitespace, but never a line end
# 12 h markers: AM/PM, am/pm, a. m./p. m. (es), vorm./nachm. (de), ap./ip. (fi), ÖÖ/ÖS (tr),
# ДП/ПП (ru), 上午/下午 (zh), 午前/午後 (ja), 오전/오후 (ko), ص/م (ar), ق.ظ/ب.ظ (fa),
# पूर्वाह्न/अपराह्न (hi). Chinese, Japanese and Korean write it before the time.
_AMPM = (
    r"[AaPp]\.?" + _S + r"?[Mm]\.?|vorm\.|nachm\.|ap\.|ip\.|ÖÖ|ÖS|öö|ös|ДП|ПП|дп|пп|"
    r"上午|下午|午前|午後|오전|오후|ص|م|ق\.ظ\.?|ب\.ظ\.?|पूर्वाह्न|अपराह्न"
)
_MARKS = r"[\u200e\u200f]*"  # Arabic exports put a direction mark beside each separator
_WORD = r"(?:klo|kl\.|um|à|a las|a la|alle|às|om|at|в|saat)"
GENERAL = re.compile(
    r"^[\u200e\u200f]*(?P<br>\[)?"
    r"(?P<d1>\d{1,4})(?P<s1>" + _MARKS + r"[./-]" + _MARKS + _S + r"?)"
    r"(?P<d2>\d{1,4})(?P<s2>" + _MARKS + r"[./-]" + _MARKS + _S + r"?)"
    r"(?P<d3>\d{1,4})(?P<dt>\.?)"
    r"(?P<join>[,،]?" + _S + r"+(?:" + _WORD + _S + r"+)?|[,،])"
    r"(?:(?P<before>" + _AMPM + r")" + _S + r"*)?"
    r"(?P<time>\d{1,2}(?P<ts>[:.])\d{2}(?P<sec>(?P=ts)\d{2})?)"
    r"(?:" + _S + r"*(?P<ampm>" + _AMPM + r"))?"
    r"(?(br)\]" + _S + r"+|(?P<end>" + _S + r"+[-\u2013]" + _S + r"+|:" + _S + r"+|" + _S + r"+))"
    r"(?P<rest>[^\n]*)",
    re.M,
)
_SPACES = re.compile(r"\s+")
_IOS = r"^[\u200e\u200f]*\["
HEAD = 1 << 16  # characters from the first header on that choose the variant
VOTES = 50  # headers looked at


def _literal(text: str) -> str:
    """`text` as a pattern: its spaces as any run of (non-newline) spaces, the rest escaped."""
    return (_S + "+").join(re.escape(part) for part in _SPACES.split(text))


def _number(digits: str) -> str:
    return r"\d{4}" if len(digits) == 4 else r"\d{1,2}"


def variant(m: re.Match) -> str:
    """The pattern of the one header variant `m` is an instance of. Its groups are always
    (date, clock: the time with its 12 h marker if any, rest)."""
    g = m.group
    date = (
        _number(g("d1")) + _literal(g("s1")) + _number(g("d2")) + _literal(g("s2"))
        + _number(g("d3")) + re.escape(g("dt"))
    )  # fmt: skip
    ts = re.escape(g("ts"))
    time = r"\d{1,2}" + ts + r"\d{2}" + (ts + r"\d{2}" if g("sec") else "")
    ampm = _S + "*(?:" + _AMPM + ")" if g("ampm") else ""
    before = "(?:" + _AMPM + ")" + _S + "*" if g("before") else ""
    if g("br"):
        start, end = r"\[", r"\]" + _S + "+"
    else:
        start, mark = "", g("end").strip()  # '-' or '–' (locales differ), ':' or nothing
        if mark == ":":
            end = ":" + _S + "+"
        else:
            end = _S + "+" + ("[-\u2013]" + _S + "+" if mark else "")
    clock = "(" + before + time + ampm + ")"
    return (
        r"^[\u200e\u200f]*"
        + start
        + "("
        + date
        + ")"
        + _literal(g("join"))
        + clock
        + end
        + r"([^\n]*)\n?"
    )


def lock(text: str) -> tuple[re.Pattern, bool] | None:
    """The pattern of the variant most of the first headers in `text` share (ties: the
    earliest) and whether it is the bracketed (iOS) shape; None when `text` holds no header."""
    first = GENERAL.search(text)
    if first is None:
        return None
    votes: Counter = Counter()
    for i, m in enumerate(GENERAL.finditer(text, first.start(), first.start() + HEAD)):
        if i == VOTES:
            break
        votes[variant(m)] += 1
    pattern = votes.most_common(1)[0][0]
    return re.compile(pattern, re.M), pattern.startswith(_IOS)
