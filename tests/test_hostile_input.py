"""Broken or hostile exports: one `ChatcloneError` naming the file and the fix, or a counted
skip; never a traceback, a hang, a read without limit or a silent partial import."""

import json
from pathlib import Path

import pytest

from chatclone.cli.main import main
from chatclone.data.importers import load_data
from chatclone.data.importers.base import ImportReport, ImportResult
from chatclone.data.importers.sources import load_path
from chatclone.data.records import Conversation, Message
from chatclone.errors import ChatcloneError

FIX = Path(__file__).parent / "fixtures"
DEEP = "[" * 5000 + "]" * 5000
HUGE = "1" * 5000
pytestmark = pytest.mark.timeout(60)


def telegram(messages: str) -> str:
    return '{"name": "X", "type": "personal_chat", "id": 1, "messages": [' + messages + "]}"


def message(**extra) -> str:
    rec = {"type": "message", "id": 1, "date_unixtime": "1700000000", "from": "A", "text": "hi"}
    return json.dumps({**rec, **extra})


def messenger_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inbox" / "ana_1" / "message_1.json"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def chatclone_line(**extra) -> str:
    rec = {"conversation": "c", "sender": "A", "text": "hi", "outgoing": True, "timestamp": 1.7e9}
    return json.dumps({**rec, **extra}, allow_nan=True)


@pytest.mark.parametrize("value, what", [(DEEP, "nested too deep"), (HUGE, "4300 digits")])
def test_json_beyond_the_decoders_limits_is_one_error(tmp_path, value, what):
    whole = messenger_file(tmp_path, '{"participants": ' + value + ', "messages": []}')
    streamed = tmp_path / "result.json"
    streamed.write_text(telegram(message()[:-1] + ', "extra": ' + value + "}"))
    for path, fmt in ((whole, "messenger"), (streamed, "telegram")):
        with pytest.raises(ChatcloneError) as err:
            load_data(path, fmt)
        assert str(err.value).startswith(str(path)) and what in str(err.value)


@pytest.mark.parametrize("value", [DEEP, HUGE])
def test_jsonl_line_beyond_the_decoders_limits_is_a_counted_skip(tmp_path, value):
    path = tmp_path / "chats.jsonl"
    path.write_text(chatclone_line() + "\n" + value + "\n" + chatclone_line(text="yo") + "\n")
    report = load_data(path).reports[0]
    assert (report.read, report.imported, report.skipped["unparsable"]) == (3, 2, 1)
    assert report.unparsable[0][0] == 2
    table = tmp_path / "rows.jsonl"
    table.write_text('{"sender": "A", "text": "hi"}\n' + value + "\n")
    report = load_data(table).reports[0]
    assert (report.imported, report.skipped["unparsable"]) == (1, 1)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("bad", ["inf", "-inf", "1e999", "nan", "Infinity", "1e300", "9" * 400])
def test_time_that_is_no_time_is_skipped_not_looped_on(tmp_path, bad):
    csv_path = tmp_path / "chat.csv"
    csv_path.write_text(f"sender,text,timestamp\nA,hi,1700000000\nB,yo,{bad}\n")
    jsonl_path = tmp_path / "chat.jsonl"
    jsonl_path.write_text(
        '{"sender": "A", "text": "hi", "timestamp": 1700000000}\n'
        f'{{"sender": "B", "text": "yo", "timestamp": {bad}}}\n'
    )
    for path in (csv_path, jsonl_path):
        result = load_data(path)
        report = result.reports[0]
        assert (report.imported, report.skipped["unparsable"]) == (1, 1), path
        assert [m.sender for c in result.conversations for m in c.messages] == ["A"]


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "1e20", "-1e300"])
def test_chatclone_jsonl_time_that_is_no_time_is_skipped(tmp_path, bad):
    path = tmp_path / "chats.jsonl"
    path.write_text(chatclone_line() + "\n" + chatclone_line().replace("1700000000.0", bad) + "\n")
    report = load_data(path).reports[0]
    assert (report.imported, report.skipped["unparsable"]) == (1, 1)


def test_any_importers_time_that_is_no_time_is_dropped_and_counted(tmp_path):
    path = tmp_path / "x.chat"
    path.write_text("anything")

    class Loose:  # an importer that lets `inf` and NaN through
        name, description = "loose", "test"

        def sniff(self, path: Path) -> bool:
            return True

        def load(self, path: Path) -> ImportResult:
            report = ImportReport(str(path), "loose", read=3, imported=3)
            times = (1.7e9, float("inf"), float("nan"))
            msgs = tuple(
                Message("A", "hi", t, None, f"{path} line {i}") for i, t in enumerate(times)
            )
            return ImportResult([Conversation("c", msgs)], [report])

    result = load_path(path, Loose())
    assert [m.timestamp for m in result.conversations[0].messages] == [1.7e9]
    report = result.reports[0]
    assert (report.read, report.imported, dict(report.skipped)) == (3, 1, {"bad timestamp": 2})


def test_ids_of_the_wrong_type_are_counted_skips(tmp_path):
    path = tmp_path / "rows.jsonl"
    rows = [
        {"sender": "A", "text": "hi", "conversation": "c"},
        {"sender": "A", "text": "hi", "conversation": ["c"]},
        {"sender": ["A"], "text": "hi"},
        {"sender": True, "text": "hi"},
        {"sender": "A", "text": {"t": 1}},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = load_data(path)
    assert [c.id for c in result.conversations] == ["table:c"]
    assert result.reports[0].skipped["unparsable"] == 4
    own = tmp_path / "chats.jsonl"
    own.write_text(chatclone_line(title=["x"], platform={"p": 1}) + "\n")
    conv = load_data(own).conversations[0]
    assert (conv.title, conv.platform) == ("c", "")


def test_second_json_document_in_one_file_is_an_error(tmp_path):
    doc = {"participants": [{"name": "A"}], "messages": [], "title": "A"}
    whole = messenger_file(tmp_path, json.dumps(doc) + "\n" + json.dumps(doc))
    streamed = tmp_path / "result.json"
    streamed.write_text(telegram(message()) + "\n" + telegram(message(text="lost")))
    for path, fmt, where in ((whole, "messenger", "line 2"), (streamed, "telegram", "byte")):
        with pytest.raises(ChatcloneError) as err:
            load_data(path, fmt)
        text = str(err.value)
        assert text.startswith(f"{path}, {where}") and "a second JSON document" in text
        assert "split the file" in text
    streamed.write_text(telegram(message()) + "\n garbage")
    with pytest.raises(ChatcloneError, match="unexpected text 'garbage' after the end"):
        load_data(streamed, "telegram")


def test_torn_jsonl_line_is_counted_with_its_line(tmp_path):
    path = tmp_path / "chats.jsonl"
    path.write_text(chatclone_line() + "\n" + chatclone_line()[:30])
    report = load_data(path).reports[0]
    assert (report.read, report.imported, report.unparsable[0][0]) == (2, 1, 2)


@pytest.mark.parametrize(
    "rows, line",
    [
        # a quote never closed: the rest of the file would be one field
        (['A,"hello,1', "B,one,2", "C,two,3"], 2),
        # closed only much later by a stray quote: the rows in between would be swallowed
        (["A,hi,1", 'B,"so,2', "C,a,3", "D,b,4", "E,c,5", 'F,d",6', "G,e,7"], 3),
    ],
)
def test_unbalanced_csv_quote_stops_with_its_line(tmp_path, rows, line):
    path = tmp_path / "chat.csv"
    path.write_text("sender,text,timestamp\n" + "\n".join(rows) + "\n")
    with pytest.raises(ChatcloneError) as err:
        load_data(path)
    assert str(err.value).startswith(f"{path}, line {line}: an opening quote is never closed")
    assert "fix:" in str(err.value)


def test_csv_message_over_several_lines_still_imports(tmp_path):
    path = tmp_path / "chat.csv"
    path.write_text('sender,text,timestamp\nA,"one\ntwo, three\nfour",1\nB,yo,2\n')
    result = load_data(path)
    assert [m.text for m in result.conversations[0].messages] == ["one\ntwo, three\nfour", "yo"]


def test_csv_message_longer_than_csvs_own_limit_imports_or_names_the_limit(tmp_path, monkeypatch):
    path = tmp_path / "chat.csv"
    long = "word\n" * 28_000  # 140,000 characters over short lines, past csv's default 131,072
    path.write_text(f'sender,text,timestamp\nA,hi,1\nB,"{long}",2\n')
    assert [len(m.text) for m in load_data(path).conversations[0].messages] == [2, len(long) - 1]
    monkeypatch.setenv("CHATCLONE_MAX_FILE_MB", "0.1")  # each line fits, the field does not
    with pytest.raises(ChatcloneError) as err:
        load_data(path)
    assert str(err.value) == (
        f"{path}, line 3: one field: over the limit of 0.1 MB for one file read whole, one line "
        "of text or one JSON value (CHATCLONE_MAX_FILE_MB); if the export is genuine, raise it, "
        "e.g. CHATCLONE_MAX_FILE_MB=1"
    )


def test_names_with_markup_and_escapes_print_as_plain_text(tmp_path, capsys):
    path = tmp_path / "chat [red] \x1b[2J.csv"
    names = ["[/]", "[bold]Boss", "[link=http://x]click[/link]", "Eve\x1b[31mRED", "Mal\u202eory"]
    rows = [f"{n},hello {i},170000000{i},{n}" for i, n in enumerate(names)]
    path.write_text("sender,text,timestamp,conversation\n" + "\n".join(rows) + "\n")
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "[/]" in out and "[bold]Boss" in out and "[link=http://x]click[/link]" in out
    assert "\x1b" not in out and "\u202e" not in out
    assert "Eve\\x1b[31mRED" in out and "chat [red] \\x1b[2J.csv" in out


def test_folder_error_never_lists_thousands_of_files(tmp_path):
    for i in range(2):
        (tmp_path / f"export{i}.json").write_text('[{"senderName": "A", "conversationId": "c"}]')
    for i in range(300):
        (tmp_path / f"WhatsApp Chat with P{i:03}.txt").write_text("1/2/20, 10:00 - X: hi\n")
    with pytest.raises(ChatcloneError) as err:
        load_data(tmp_path)
    text = str(err.value)
    assert len(text) < 1000 and "and 297 more" in text and "(at most one Chatistics" in text


def test_file_that_cannot_be_read_is_one_error(tmp_path):
    path = tmp_path / "chat.txt"
    path.write_text("anything")

    class Locked:  # what any importer meets on a file it may not read
        name, description = "locked", "test"

        def sniff(self, path: Path) -> bool:
            return True

        def load(self, path: Path) -> ImportResult:
            raise PermissionError(13, "Permission denied", str(path))

    with pytest.raises(ChatcloneError) as err:
        load_path(path, Locked())
    assert str(err.value) == (
        f"{path}: cannot be read (Permission denied); check that it is there and that you may "
        "read it"
    )


@pytest.mark.parametrize("pad", range(0, 14))
def test_lone_surrogate_escapes_become_replacement_characters(tmp_path, monkeypatch, pad):
    """A lone half of a surrogate pair cannot be written as UTF-8: it becomes U+FFFD, in files
    read whole, streamed (wherever the 16-byte reads cut the escapes) and in JSONL lines; whole
    pairs and escaped backslashes are kept."""
    from chatclone.data.importers._json import JsonStream, array_values, load_json

    monkeypatch.setattr(JsonStream, "CHUNK", 16)
    texts = ["\\ud83d\\ude00", "a\\ud83d", "\\ude00b", "\\\\ud83d", "\\ud83d\\ud83d\\ude00", "\\\\"]
    want = ["\U0001f600", "a\ufffd", "\ufffdb", "\\ud83d", "\ufffd\U0001f600", "\\"]
    path = tmp_path / "x.json"
    path.write_text(" " * pad + "[" + ", ".join(f'"{t}"' for t in texts) + "]")
    assert load_json(path) == want
    with JsonStream(path) as js:
        assert list(array_values(js)) == want
    lines = tmp_path / "chats.jsonl"
    lines.write_text(
        "".join(chatclone_line(text="x").replace('"x"', f'"{t}"') + "\n" for t in texts)
    )
    assert [m.text for c in load_data(lines).conversations for m in c.messages] == want
