"""iMessage HTML exports (imessage-exporter `-f html`): what is kept, what is skipped and counted,
and whatever the markup or the bytes, counted records or one clear error line."""

import datetime as dt
import html
import random
import shutil
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_importers_platforms import reconciles  # noqa: E402
from test_importers_platforms_properties import check  # noqa: E402

from chatclone.cli.main import main
from chatclone.data.importers import detect, load_data
from chatclone.errors import ChatcloneError

FIX = Path(__file__).parent / "fixtures"
SAMPLE = FIX / "imessage_html" / "Contact 1 - 5.html"
SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def texts(conv):
    return [(m.sender, m.text) for m in conv.messages]


def message(stamp: str, sender: str, *parts: str, inner: str = "") -> str:
    body = "".join(f'<div class="message_part">{p}</div>' for p in parts)
    return (
        f'<div class="message"><div class="received"><p><span class="timestamp">{stamp}</span>'
        f'<span class="sender">{sender}</span></p><hr>{body}{inner}</div></div>\n'
    )


def bubble(text: str) -> str:
    return f'<span class="bubble">{text}</span>'


def write(tmp_path: Path, body: str, name: str = "Kai - 4.html") -> Path:
    path = tmp_path / name
    path.write_text(f"<html><body>\n{body}</body></html>\n", encoding="utf-8")
    return path


def test_fixture_keeps_text_and_counts_the_rest():
    result = load_data(FIX / "imessage_html")
    conv, report = result.conversations[0], result.reports[0]
    assert conv.title == "Contact 1" and conv.platform == "imessage"
    assert conv.id == "imessage:Contact 1 - 5" and report.format == "imessage-html"
    assert texts(conv) == [
        ("Contact 1", "Fish & chips\ntonight?"),  # entity, <br>; reactions dropped
        ("Me", "Yes! Look at this <3 menu"),  # inline tags; image part, expressive dropped
        ("Contact 1", "Thread reply \U0001f60a"),  # nested reply; reply_context dropped
        ("Me", "Morning"),  # space-padded hour
    ]
    assert [m.outgoing for m in conv.messages] == [False, True, False, True]
    assert conv.messages[0].timestamp == 1634509909.0  # Oct 17, 2021 10:31:49 PM, naive
    assert conv.messages[3].timestamp == 1634547900.0  # Oct 18, 2021  9:05:00 AM
    assert conv.messages[2].source.endswith("line 32")
    assert dict(report.skipped) == {"system": 1, "media_only": 1, "unparsable": 1}
    assert report.unparsable == [(65, "timestamp: Octember 99, 2021 9:06:00 AM")]
    assert reconciles(report) and "order" in report.decisions


def test_detection_by_content(tmp_path):
    assert detect(SAMPLE).name == "imessage-html"
    assert detect(FIX / "imessage" / "Sam Rivera - 12.txt").name == "imessage"
    renamed = tmp_path / "chat.htm"
    shutil.copy(SAMPLE, renamed)
    assert detect(renamed).name == "imessage-html"
    (tmp_path / "page.html").write_text("<html><body><div class='x'>hi</div></body></html>")
    assert detect(tmp_path / "page.html") is None


def test_mixed_folder_of_txt_and_html(capsys):
    result = load_data(FIX / "imessage_mixed")
    by_title = {c.title: c for c in result.conversations}
    assert texts(by_title["Ana Lima"]) == [("Ana Lima", "Dinner at eight?"), ("Me", "Perfect")]
    assert texts(by_title["Book Club"]) == [
        ("+15555550123", "Chapter 4 by Sunday"),
        ("Me", "On it"),
    ]
    assert sorted(r.format for r in result.reports) == ["imessage", "imessage-html"]
    assert main(["inspect", str(FIX / "imessage_mixed")]) == 0
    out = capsys.readouterr().out
    assert "imessage-html" in out and "Book Club" in out and "Ana Lima" in out


def test_zip_and_forced_format(tmp_path):
    archive = shutil.make_archive(str(tmp_path / "export"), "zip", FIX / "imessage_mixed")
    assert len(load_data(archive).conversations) == 2
    forced = load_data(FIX / "imessage_mixed", "imessage-html")
    assert [c.title for c in forced.conversations] == ["Book Club"]


def test_deleted_empty_and_broken_records_are_counted(tmp_path):
    good = "Jan 05, 2024 10:00:00 AM"
    body = (
        message(good, "Kai", bubble("This message was deleted from the conversation!"))
        + message(good, "Kai", bubble("  "))  # a bubble of nothing
        + message(good, "", bubble("who wrote this?"))  # no sender
        + '<div class="message"><div class="received"><p><span class="sender">Kai</span></p>'
        + f"{bubble('no timestamp')}</div></div>\n"
        + f'<p><span class="timestamp">{good}</span></p>\n'  # a date outside any message
        + message(good, "Kai", bubble("kept"))
    )
    report = load_data(write(tmp_path, body)).reports[0]
    assert dict(report.skipped) == {"deleted": 1, "empty": 1, "unparsable": 3}
    assert [n for n, _ in report.unparsable] == [4, 5, 6]
    assert report.imported == 1 and reconciles(report)


def test_unbalanced_and_truncated_markup(tmp_path):
    stamp = "Jan 05, 2024 10:00:00 AM"
    body = (
        "</span></div></p>\n"  # end tags with nothing open
        + message(stamp, "Kai", bubble("one <i>unclosed"))
        + message("Jan 05, 2024 10:01:00 AM", "Me", bubble("two"))
        + '<div class="message"><div class="received"><p><span class="timestamp">'
        + "Jan 05, 2024 10:02:00 AM</span><span class=sender>Kai</span></p>"
        + '<div class="message_part"><span class="bubble">cut sho'
    )
    path = tmp_path / "Kai - 4.html"
    path.write_text(body, encoding="utf-8")
    result = load_data(path)
    assert [m.text for m in result.conversations[0].messages] == ["one unclosed", "two", "cut sho"]
    path.write_text(body + '<span class="x', encoding="utf-8")  # a tag cut short
    report = load_data(path).reports[0]
    assert report.skipped["unparsable"] == 1 and reconciles(report)
    path.write_text(message(stamp, "Kai", "<!-- never closed") + message(stamp, "Me", bubble("b")))
    report = load_data(path).reports[0]
    assert report.imported == 1 and reconciles(report)  # parsing goes on after the comment


def test_unclosed_tags_stay_linear(tmp_path):
    path = write(tmp_path, "<a" * 200_000 + '<b c="' * 50_000 + "<!--" * 10_000)
    started = time.monotonic()
    result = load_data(path, "imessage-html")
    assert time.monotonic() - started < 5
    assert result.conversations == [] and reconciles(result.reports[0])


def test_errors_name_the_file_the_line_and_the_fix(tmp_path, monkeypatch):
    path = tmp_path / "Kai - 4.html"
    path.write_bytes(SAMPLE.read_bytes().replace(b"Morning", b"Morn\xe9ing"))
    try:
        load_data(path)
        raise AssertionError("no error")
    except ChatcloneError as e:
        assert str(e).startswith(f"{path}, line 62: not UTF-8") and "convert" in str(e)
    monkeypatch.setenv("CHATCLONE_MAX_FILE_MB", "0.001")
    try:
        load_data(SAMPLE)
        raise AssertionError("no error")
    except ChatcloneError as e:
        assert "CHATCLONE_MAX_FILE_MB" in str(e) and str(SAMPLE) in str(e)


@SETTINGS
@given(seed=st.integers(0, 10**6), n=st.integers(1, 12), forced=st.booleans())
def test_mutations_end_in_counts_or_one_error(tmp_path, seed, n, forced):
    raw, rng = bytearray(SAMPLE.read_bytes()), random.Random(seed)
    for _ in range(n):
        if not raw:  # deletions can empty the file: an empty file is a case too
            break
        kind, at = rng.randrange(4), rng.randrange(len(raw))
        if kind == 0:
            raw[at] = rng.randrange(256)
        elif kind == 1:
            raw[at:at] = rng.choice([b"<", b">", b"</div>", b"<div>", b'"', b"<!--", b"&"])
        elif kind == 2:
            del raw[at : at + rng.randint(1, 80)]
        else:
            raw = raw[:at]
    path = tmp_path / SAMPLE.name
    path.write_bytes(bytes(raw) or b" ")
    check(path, "imessage-html" if forced else None)


WORD = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=8
)
LINE = st.lists(WORD, min_size=1, max_size=4).map(" ".join)
TEXT = st.lists(LINE, min_size=1, max_size=3).map("\n".join)
WHEN = st.datetimes(dt.datetime(2001, 1, 1), dt.datetime(2037, 1, 1)).map(
    lambda d: d.replace(microsecond=0)
)
SENDER = st.sampled_from(["Me", "Noor", "Sam Lee", "+15555550123", "a&b <c>"])
MESSAGES = st.lists(st.tuples(SENDER, TEXT, WHEN, st.booleans()), max_size=8)


def stamp(when: dt.datetime, receipt: bool) -> str:
    hour = when.hour % 12 or 12
    suffix = " (Read by you after 1 minute)" if receipt else ""
    return f"{when:%b %d, %Y} {hour:>2}:{when:%M:%S} {'AM' if when.hour < 12 else 'PM'}{suffix}"


@SETTINGS
@given(messages=MESSAGES)
def test_round_trip(tmp_path, messages):
    """Messages written as the exporter writes them (some as thread replies of the one before)
    come back with their sender, text and time, in time order."""
    blocks: list[str] = []
    for sender, text, when, reply in messages:
        escaped = html.escape(text).replace("\n", "<br>")
        if text == "This message was deleted from the conversation!":
            continue
        inner = message(stamp(when, reply), html.escape(sender), bubble(escaped))
        if reply and blocks:
            previous = blocks.pop()
            cut = previous.rindex("</div></div>")
            blocks.append(
                previous[:cut] + f'<div class="replies"><div class="reply">{inner}'
                "</div></div>" + previous[cut:]
            )
        else:
            blocks.append(inner)
    path = write(tmp_path, "".join(blocks))
    result = load_data(path, "imessage-html")
    got = [(m.sender, m.text, m.timestamp) for c in result.conversations for m in c.messages]
    want = [
        (s, t, w.replace(tzinfo=dt.timezone.utc).timestamp())
        for s, t, w, _ in messages
        if t != "This message was deleted from the conversation!"
    ]
    assert sorted(got) == sorted(want)
    assert [g[2] for g in got] == sorted(g[2] for g in got)
    assert all(m.outgoing == (m.sender == "Me") for c in result.conversations for m in c.messages)
    assert reconciles(result.reports[0])


def test_one_chat_exported_as_txt_and_html_is_merged(tmp_path):
    body = message("Mar 02, 2024  7:15:00 PM", "Ana Lima", bubble("Dinner at eight?"))
    write(tmp_path, body, "Ana Lima - 3.html")
    shutil.copy(FIX / "imessage_mixed" / "Ana Lima - 3.txt", tmp_path)
    result = load_data(tmp_path)
    assert [len(c.messages) for c in result.conversations] == [2]
    assert sum(r.skipped["duplicate"] for r in result.reports) == 1
