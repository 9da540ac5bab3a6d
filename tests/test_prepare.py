from pathlib import Path

import pytest

from chatclone.config import TrainConfig
from chatclone.data.importers import load_data
from chatclone.data.prepare import prepare_conversations, prepare_dialogues
from chatclone.errors import ChatcloneError
from chatclone.inputs import InputOptions
from chatclone.speaker_format import FORMAT, PERSONA

FIX = Path(__file__).parent / "fixtures"


def write_chat(path: Path, n: int = 30) -> Path:
    lines = [
        f"1/{1 + i // 20}/21, 10:{i % 20:02d} - {'Maya Cohen' if i % 2 else 'Ana Silva'}: "
        f"msg {i} call +1 202-555-0173 Maya"
        for i in range(n)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_prepare_dialogues_from_raw_whatsapp(tmp_path):
    path = write_chat(tmp_path / "WhatsApp Chat with Maya Cohen.txt", 40)
    cfg = TrainConfig(data=str(path), me=["Ana Silva"], min_messages=2)
    dialogues, stats = prepare_dialogues(cfg)
    assert stats["sessions"] == 2 and len(dialogues) == 2  # 1/1 and 1/2 are a day apart
    text = FORMAT.render(dialogues[0].turns)
    assert "202-555" not in text and "<PHONE>" in text and "Maya" not in text
    assert dialogues[0].turns[0].speaker == PERSONA  # Ana wrote first
    assert stats["owner"] == "given with --me" and stats["redacted"]["phone"] == 40


def test_no_redact_and_persona_choice(tmp_path):
    path = write_chat(tmp_path / "WhatsApp Chat with Maya Cohen.txt")
    cfg = TrainConfig(
        data=str(path), persona="Maya Cohen", redact=False, min_messages=2, session_gap_hours=0
    )
    dialogues, stats = prepare_dialogues(cfg)
    assert (
        dialogues[0].turns[0].speaker != PERSONA and "+1 202-555-0173" in dialogues[0].turns[0].text
    )


def test_group_chat_persona_vs_everyone_else():
    result = load_data(FIX / "telegram" / "account" / "result.json")
    ns = InputOptions(conversation=["Hiking"], redact=False)
    prepared = prepare_conversations(result, ns)
    group = prepared.conversations[0]
    assert [m.outgoing for m in group.messages] == [False, True, False]


def test_redacted_jsonl_is_not_redacted_twice(tmp_path):
    from chatclone.data.importers.jsonl import write_jsonl

    result = load_data(FIX / "whatsapp" / "WhatsApp Chat with Tom.txt")
    first = prepare_conversations(result, InputOptions(me=["Tom"]))
    out = tmp_path / "chats.jsonl"
    with open(out, "w") as f:
        write_jsonl(first.conversations, f)
    again = prepare_conversations(load_data(out), InputOptions())
    assert [m.sender for m in again.conversations[0].messages] == [
        m.sender for m in first.conversations[0].messages
    ]
    assert again.owners.how == "marked by the export"


def test_unknown_persona():
    result = load_data(FIX / "discord")
    with pytest.raises(
        ChatcloneError, match="--persona 'Zed': no such participant. Participants: Ana, Mira"
    ):
        prepare_conversations(result, InputOptions(persona="Zed"))


def test_bundled_sample_still_works_without_redaction_of_public_text():
    dialogues, stats = prepare_dialogues(TrainConfig(data="sample"))
    assert dialogues and stats["redacted"] == {} and stats["owner"] == "marked by the export"
