"""`train` says what redaction replaced, and keeps the persona's own name unless told not to."""

import json

from chatclone import cli
from chatclone.config import TrainConfig
from chatclone.data.prepare import prepare_dialogues
from chatclone.speaker_format import PERSONA
from chatclone.training.plan import privacy_line


def records(path):
    rows = []
    for m in range(12):
        me = m % 2 == 1
        text = "Barack here, call me on +1 202-555-0173" if me else "Hi Barack, it is Maya"
        rows.append(
            {
                "timestamp": 1.6e9 + m * 60,
                "conversationId": "c",
                "outgoing": me,
                "conversationWithName": "Maya Cohen",
                "text": text,
                "senderName": "Barack Obama" if me else "Maya Cohen",
            }
        )
    path.write_text(json.dumps(rows))
    return path


def test_the_persona_keeps_their_own_name_by_default(tmp_path):
    data = records(tmp_path / "export.json")
    dialogues, stats = prepare_dialogues(TrainConfig(data=str(data), min_messages=2))
    texts = [t.text for d in dialogues for t in d.turns]
    assert any("Barack" in t for t in texts) and not any("Maya" in t for t in texts)
    assert stats["redaction"]["persona_name_kept"] is True
    renamed, _ = prepare_dialogues(
        TrainConfig(data=str(data), min_messages=2, keep_persona_name=False)
    )
    assert not any("Barack" in t.text for d in renamed for t in d.turns)
    assert any(t.speaker == PERSONA for t in renamed[0].turns)


def test_privacy_line_says_what_was_replaced_and_how_to_change_it():
    selection = {
        "redacted": {"name": 12, "phone": 6},
        "redaction": {"on": True, "persona_name_kept": True, "stand_ins": ["Alex Park"]},
    }
    assert privacy_line(selection) == (
        "Privacy: replaced 12 names, 6 phone numbers in the training text (senders get stand-in "
        "names such as 'Alex Park'); the persona's own name is kept (--no-keep-persona-name "
        "replaces it too)."
    )
    off = {"redacted": {}, "redaction": {"on": False}}
    assert privacy_line(off).startswith("Privacy: redaction is off (--no-redact)")


def test_train_prints_the_privacy_line_before_training(tmp_path, tiny_model, capsys):
    data = records(tmp_path / "export.json")
    assert (
        cli.main(
            [
                "train",
                "--data",
                str(data),
                "--model",
                str(tiny_model),
                "--runs-dir",
                str(tmp_path / "runs"),
                "--max-steps",
                "1",
                "--min-messages",
                "2",
                "--no-report",
                "--no-tensorboard",
                "--device",
                "cpu",
                "--no-cache",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("Privacy:"))
    assert "6 phone numbers" in line and "the persona's own name is kept" in line
    assert "Maya" not in line  # only stand-ins are named, never the real people
