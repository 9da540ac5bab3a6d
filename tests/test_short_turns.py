"""Very short persona turns ("Yes.", "Uh-huh."): `inspect` tells their share, `--min-words N`
leaves them out of training, counted in the stats (never a silent drop)."""

from __future__ import annotations

import json

import pytest

from chatclone.cli.main import main
from chatclone.config import TrainConfig
from chatclone.data.prepare import prepare_dialogues
from chatclone.data.records import Conversation, Message
from chatclone.data.select import SelectionRules, select_dialogues, word_count
from chatclone.speaker_format import OTHER, PERSONA, Turn

CHAT = [  # (sender, text); "me" is the persona
    ("x", "Are you coming tonight?"),
    ("me", "Yes."),
    ("x", "Great, bring the cake"),
    ("x", "and the candles"),
    ("me", "Uh-huh."),
    ("x", "Did you book the table for eight?"),
    ("me", "I did, at the place near the station."),
    ("x", "Perfect"),
    ("me", "ok"),
    ("me", "see you"),  # merged with "ok" into one turn of 3 words: kept
]


def conversation(cid: str = "c", spec=CHAT, t0: float = 1.6e9) -> Conversation:
    return Conversation(
        cid,
        tuple(
            Message(s, t, t0 + 60 * i, s == "me", source=f"line {i}")
            for i, (s, t) in enumerate(spec)
        ),
        participants=("me", "x"),
    )


def test_word_count_counts_words_not_punctuation_nor_separators():
    assert word_count("Yes.") == 1 and word_count("Uh-huh.") == 1
    assert word_count("ok | see you") == 3  # the separator of merged messages is no word
    assert word_count("👍") == 0 and word_count("  ") == 0 and word_count("- ...") == 0
    assert word_count("I'm 25, really") == 3
    assert word_count("好的") == 2 and word_count("我明天去") == 4  # no spaces between words


def test_min_words_leaves_short_persona_turns_out_and_counts_them():
    rules = SelectionRules(min_messages=2)
    [kept], before = select_dialogues([conversation()], rules)
    assert before.short_turns_removed == 0 and before.turns == 8
    [d], stats = select_dialogues([conversation()], SelectionRules(min_messages=2, min_words=3))
    assert stats.short_turns_removed == 2  # "Yes." and "Uh-huh."
    # The other side's turns around a turn left out become one turn, as merged messages do;
    # the other side's turns are never left out, however short ("Perfect").
    assert d.turns == (
        Turn(
            OTHER,
            "Are you coming tonight? | Great, bring the cake | and the candles | "
            "Did you book the table for eight?",
        ),
        Turn(PERSONA, "I did, at the place near the station."),
        Turn(OTHER, "Perfect"),
        Turn(PERSONA, "ok | see you"),  # two messages, three words: kept
    )
    assert stats.turns == 4 and kept.turns[1] == Turn(PERSONA, "Yes.")


def test_without_merging_only_the_short_turns_go():
    rules = SelectionRules(min_messages=2, merge_consecutive=False, min_words=2)
    [d], stats = select_dialogues([conversation()], rules)
    assert stats.short_turns_removed == 3  # "Yes.", "Uh-huh.", "ok"
    assert [t.text for t in d.turns if t.speaker == PERSONA] == [
        "I did, at the place near the station.",
        "see you",
    ]


def export(tmp_path, n_convs: int = 2):
    records = [
        {
            "timestamp": 1.6e9 + c * 1e5 + i * 60,
            "conversationId": f"conv{c}",
            "conversationWithName": f"Friend {c}",
            "senderName": "Me" if s == "me" else f"Friend {c}",
            "outgoing": s == "me",
            "text": t,
            "platform": "telegram",
        }
        for c in range(n_convs)
        for i, (s, t) in enumerate(CHAT)
    ]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(records))
    return path


def test_training_data_records_the_turns_left_out(tmp_path):
    data = str(export(tmp_path))
    _, stats = prepare_dialogues(TrainConfig(data=data, min_messages=2, min_words=3))
    assert stats["min_words"] == 3 and stats["short_turns_removed"] == 4
    _, stats = prepare_dialogues(TrainConfig(data=data, min_messages=2))
    assert stats["min_words"] == 0 and stats["short_turns_removed"] == 0


def test_inspect_shows_the_share_of_very_short_turns_and_what_min_words_does(tmp_path, capsys):
    path = str(export(tmp_path))
    assert main(["inspect", path, "--me", "Me"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert (
        "Persona turns: 8, 4 (50%) very short (at most 2 words, like 'Yes.' or 'Uh-huh.'); "
        "train --min-words 3 would leave them out." in out
    )
    assert main(["inspect", path, "--me", "Me", "--min-words", "3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    totals = report["totals"]
    assert (totals["persona_turns"], totals["short_persona_turns"]) == (8, 4)
    assert (totals["min_words"], totals["below_min_words"]) == (3, 4)
    assert report["conversations"][0]["short_persona_turns"] == 2
    assert main(["inspect", path, "--me", "Me", "--min-words", "4"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--min-words 4 leaves 6 (75%) out of training." in out


def test_inspect_without_a_known_persona_says_nothing_about_short_turns(capsys, tmp_path):
    path = tmp_path / "WhatsApp Chat with Friends.txt"
    path.write_text("1/2/20, 10:00 - Ana: hi\n1/2/20, 10:01 - Bo: yo\n")
    assert main(["inspect", str(path)]) == 0
    assert "Persona turns" not in capsys.readouterr().out


def test_min_words_must_not_be_negative_and_import_does_not_take_it(capsys, tmp_path):
    assert main(["inspect", str(export(tmp_path)), "--min-words", "-1"]) == 1
    assert capsys.readouterr().err == "Error: --min-words must be at least 0 (got -1)\n"
    with pytest.raises(SystemExit):
        main(["import", str(export(tmp_path)), "-o", "-", "--min-words", "3"])
