"""Property tests: any chat written in any supported header variant, with any line ends and
notices sprinkled in, reads back as exactly the messages written."""

import datetime as dt
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatclone.data.importers import load_data

SENDERS = ["Ana", "Tom Berg", "+44 7700 900456", "Zoë", "🦊 Mira", "Lukas\u200d"]
# No ':' '[' ',' or digits-with-dots: a continuation line can never be shaped like a header.
ALPHABET = "abcdefghijk xyzé🙂\u200d\u200c\u0645\u06cc"
NOTICES = [
    "\u200eMessages and calls are end-to-end encrypted. Tap to learn more.",
    "Messages and calls are end-to-end encrypted. No one outside of this chat can read them.",
    "Ana created group “Group”",
    "\u200eAna added Tom Berg",
    "Tom Berg left",
    "Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt.",
]


def _h12(t: dt.datetime) -> tuple[int, str]:
    return t.hour % 12 or 12, "AM" if t.hour < 12 else "PM"


# (header prefix of a moment, whether it shows seconds)
VARIANTS = {
    "us": (lambda t: f"{t.month}/{t.day}/{t.year % 100}, {_h12(t)[0]}:{t:%M}\u202f{_h12(t)[1]} - ", False),
    "gb": (lambda t: f"{t:%d/%m/%Y, %H:%M} - ", False),
    "de": (lambda t: f"{t:%d.%m.%y, %H:%M} – ", False),
    "ios": (lambda t: f"[{t:%d/%m/%Y, %H:%M:%S}] ", True),
    "ios-mark": (lambda t: f"\u200e[{t:%d.%m.%y, %H:%M:%S}] ", True),
    "fi": (lambda t: f"{t.day}.{t.month}.{t.year} klo {t.hour}.{t:%M.%S} - ", True),
    "colon": (lambda t: f"{t:%d.%m.%y %H.%M.%S}: ", True),
    "bare": (lambda t: f"{t.day}. {t.month}. {t.year}. {t.hour}:{t:%M:%S} ", True),
    "myd": (lambda t: f"[{t:%m/%Y/%d, %H:%M:%S}] ", True),
    "ymd": (lambda t: f"{t:%Y-%m-%d}, {_h12(t)[0]}:{t:%M} {_h12(t)[1].lower()} - ", False),
}  # fmt: skip
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

message = st.tuples(
    st.sampled_from(SENDERS),
    st.lists(st.text(ALPHABET, max_size=12), min_size=1, max_size=3),  # first line, continuations
    st.integers(0, 3 * 86400),  # seconds after the previous message
    st.one_of(st.none(), st.sampled_from(NOTICES)),  # a notice before it, from the group
)


@SETTINGS
@given(
    variant=st.sampled_from(sorted(VARIANTS)),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    start=st.datetimes(dt.datetime(2015, 1, 1), dt.datetime(2030, 1, 1)),
    messages=st.lists(message, min_size=1, max_size=12),
)
def test_messages_read_back_exactly(tmp_path: Path, variant, newline, start, messages):
    head, seconds = VARIANTS[variant]
    t, lines, expected, notices = start.replace(microsecond=0), [], [], 0
    for sender, text_lines, gap, notice in messages:
        t += dt.timedelta(seconds=gap)
        if notice:
            lines.append(f"{head(t)}Group: {notice}")
            notices += 1
        first, *rest = text_lines
        lines.append(f"{head(t)}{sender}: {first}")
        lines.extend(rest)
        text = "\n".join(text_lines).strip()
        stamp = t if seconds else t.replace(second=0)
        if text:
            expected.append((sender, text, stamp.replace(tzinfo=dt.timezone.utc).timestamp()))
    path = tmp_path / "WhatsApp Chat with Group.txt"
    path.write_bytes(newline.join(lines).encode("utf-8") + newline.encode())
    result = load_data(path, "whatsapp")
    report = result.reports[0]
    got = [(m.sender, m.text, m.timestamp) for c in result.conversations for m in c.messages]
    assert [g[:2] for g in got] == [e[:2] for e in expected]
    if "assumed" not in report.decisions["date order"] or variant not in ("us",):
        assert [g[2] for g in got] == [e[2] for e in expected]
    assert report.skipped["system"] == notices
    assert report.read == len(lines)
    assert report.read == report.imported + sum(report.skipped.values()) + report.continuation
