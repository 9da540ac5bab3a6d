from pathlib import Path

import pytest

from chatclone.data.importers import load_data
from chatclone.data.importers.jsonl import write_jsonl
from chatclone.errors import ChatcloneError

FIX = Path(__file__).parent / "fixtures" / "tabular"


def test_chatistics_csv():
    result = load_data(FIX / "chatistics_export.csv")
    assert result.reports[0].format == "chatistics-csv"
    renee, sam = result.conversations
    assert renee.title == "Renée Dubois" and renee.messages[0].text == "Tea at 5 🍵 / café?"
    assert [m.outgoing for m in renee.messages] == [True, False]
    assert sam.messages[0].text == "hey, multi\nline"  # quoted newline survives
    assert result.reports[0].skipped == {"empty": 1}


def test_generic_csv_needs_a_mapping_and_says_how():
    with pytest.raises(ChatcloneError) as err:
        load_data(FIX / "custom.csv", "table")
    assert (
        "cannot tell which columns hold the sender and the text (columns: When, Who, What, Chat)"
        in str(err.value)
    )


def test_generic_csv_with_mapping():
    result = load_data(
        FIX / "custom.csv", "table:sender=Who,text=What,timestamp=When,conversation=Chat"
    )
    conv = result.conversations[0]
    assert [m.text for m in conv.messages] == ["Morning", "Morning! Coffee?", "Yes please"]
    assert result.reports[0].unparsable == [(4, "not a date,Dad,broken row,family")]


def test_bad_mapping_is_explained():
    with pytest.raises(ChatcloneError, match="bad column mapping 'speaker=Who'"):
        load_data(FIX / "custom.csv", "table:speaker=Who")


def test_generic_jsonl_guessed_columns_and_milliseconds():
    result = load_data(FIX / "messages.jsonl")
    conv = result.conversations[0]
    assert [(m.sender, m.timestamp) for m in conv.messages] == [
        ("Ana", 1700000000.0),
        ("Bo", 1700000060.0),
    ]
    assert dict(result.reports[0].skipped) == {"empty": 1, "unparsable": 1}


def test_chatclone_jsonl_round_trip(tmp_path):
    original = load_data(FIX / "chatistics_export.csv").conversations
    path = tmp_path / "chats.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        assert write_jsonl(original, f) == 4
    back = load_data(path)
    assert back.reports[0].format == "chatclone-jsonl"
    assert [(c.id, c.title) for c in back.conversations] == [(c.id, c.title) for c in original]
    assert [m.text for c in back.conversations for m in c.messages] == [
        m.text for c in original for m in c.messages
    ]
    assert [m.outgoing for c in back.conversations for m in c.messages] == [
        True,
        False,
        False,
        True,
    ]


def test_jsonl_with_no_valid_line_is_an_error(tmp_path):
    path = tmp_path / "chats.jsonl"
    path.write_text('{"conversation": 1, "sender": "a", "text": "x", "outgoing": "yes"}\n')
    with pytest.raises(ChatcloneError, match="no line is a chatclone message record"):
        load_data(path, "chatclone-jsonl")
