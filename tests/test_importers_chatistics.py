import json
import shutil
from pathlib import Path

import pytest

from chatclone.data.importers import load_data
from chatclone.errors import ChatcloneError

SHARED = Path(__file__).parent / "fixtures" / "chatistics"


def test_reads_export_grouped_and_sorted(chatistics_file):
    records = json.loads(chatistics_file.read_text())
    chatistics_file.write_text(json.dumps(records[::-1]))  # Chatistics files are not chronological
    result = load_data(chatistics_file)
    assert [c.id for c in result.conversations] == ["conv2", "conv1", "conv0"]
    msgs = result.conversations[2].messages
    assert [m.timestamp for m in msgs] == sorted(m.timestamp for m in msgs)
    assert result.reports[0].read == result.reports[0].imported == 36


def test_real_interviews_export():
    result = load_data(SHARED / "interviews_sample.json")
    assert result.reports[0].format == "chatistics"
    assert result.conversations and all(c.messages for c in result.conversations)


def test_empty_text_is_counted_not_lost(tmp_path):
    path = tmp_path / "e.json"
    recs = [
        {"timestamp": 1.0, "conversationId": 1, "senderName": "a", "outgoing": True, "text": t}
        for t in ["hi", "", None]
    ]
    path.write_text(json.dumps(recs))
    result = load_data(path)
    assert result.reports[0].imported == 1 and result.reports[0].skipped["empty"] == 2


def test_folder_with_exactly_one_export(chatistics_file):
    result = load_data(chatistics_file.parent)
    assert len(result.conversations) == 3


def test_folder_with_two_exports_lists_them(chatistics_file):
    shutil.copy(chatistics_file, chatistics_file.parent / "other.json")
    with pytest.raises(ChatcloneError, match="found 2 chat exports .*export.json.*other.json"):
        load_data(chatistics_file.parent)


def test_missing_path():
    with pytest.raises(ChatcloneError) as err:
        load_data("no/such/export.json")
    assert str(err.value).startswith("no/such/export.json: no such file or folder.")


def test_not_a_chatistics_export_names_fields_and_record(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"senderName": "a", "text": "hi"}]))
    with pytest.raises(ChatcloneError) as err:
        load_data(path)
    assert str(err.value) == (
        f"{path}: record 0 is not a Chatistics message: missing field(s) timestamp, "
        'conversationId, outgoing (record: {"senderName": "a", "text": "hi"}). A Chatistics export '
        "has the fields timestamp, conversationId, conversationWithName, senderName, outgoing, "
        "text, language, platform."
    )


def test_bundled_sample_alternates_speakers():
    result = load_data("sample")
    assert len(result.conversations) > 1000
    conv = max(result.conversations, key=lambda c: len(c.messages))
    assert [m.outgoing for m in conv.messages][:4] == [False, True, False, True]
    # trivia.yml holds one entry that is a bare string, not a dialogue: counted, not lost
    assert sum(r.skipped["unparsable"] for r in result.reports) == 1


def records(tmp_path, texts, platform="whatsapp"):
    path = tmp_path / "chatistics_export_2024-01-01_00-00-00.json"
    recs = [
        {
            "timestamp": 1650000000.0 + i,
            "conversationId": "c1",
            "conversationWithName": "Owen Price",
            "senderName": "Hiking Club" if i == 0 else "Owen Price",
            "outgoing": False,
            "text": t,
            "language": "en",
            "platform": platform,
        }
        for i, t in enumerate(texts)
    ]
    path.write_text(json.dumps(recs))
    result = load_data(path, "chatistics")
    kept = [m.text for c in result.conversations for m in c.messages]
    return kept, result.reports[0]


def test_whatsapp_notices_and_placeholders_are_dropped_and_counted(tmp_path):
    kept, report = records(
        tmp_path,
        [
            "\u200eMessages and calls are end-to-end encrypted. No one outside of this chat, "
            "not even WhatsApp, can read or listen to them.",
            "\u200eimage omitted",
            "<Media omitted>",
            "<Médias omis>",
            "Bild weggelassen",
            "\u200eThis message was deleted.",
            "\u200eMissed voice call",
            "Diagram.graphml (file attached)",
            "\u200e<attached: 00000012-PHOTO-2020.jpg>",
            "Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt.",
            "See you at 7 <This message was edited>",
        ],
    )
    assert kept == ["See you at 7"]
    assert dict(report.skipped) == {"system": 3, "media_only": 6, "deleted": 1}
    assert report.read == report.imported + sum(report.skipped.values())


def test_text_is_trimmed_and_whitespace_only_text_is_skipped(tmp_path):
    kept, report = records(tmp_path, ["  hello there \n", " \n\t", "\u200e  ", "a\n b "])
    assert kept == ["hello there", "a\n b"]
    assert report.skipped["empty"] == 2


def test_messenger_notices_in_chatistics(tmp_path):
    kept, report = records(
        tmp_path, ["Owen sent an attachment.", "The video chat ended.", " ok "], "messenger"
    )
    assert kept == ["ok"] and report.skipped["system"] == 2


def test_zwj_survives_chatistics(tmp_path):
    kept, _ = records(tmp_path, ["x", " 👩🏻\u200d⚖️ می\u200cخواهم "], "telegram")
    assert kept == ["x", "👩🏻\u200d⚖️ می\u200cخواهم"]
