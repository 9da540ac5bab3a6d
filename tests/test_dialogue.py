import pytest

from chatclone.data.records import Conversation, Message
from chatclone.data.select import SelectionRules, select_dialogues
from chatclone.errors import ChatcloneError
from chatclone.speaker_format import FORMAT, OTHER, PERSONA, Turn, clean_text


def conv(cid, spec, t0=0.0):
    """spec: list of (sender, text); 'me' is the outgoing sender."""
    return Conversation(
        cid,
        tuple(
            Message(sender=s, text=t, timestamp=t0 + i, outgoing=s == "me")
            for i, (s, t) in enumerate(spec)
        ),
    )


def test_render_and_parse_round_trip():
    turns = [Turn(OTHER, "Am I speaking to a bot?"), Turn(PERSONA, "No way")]
    text = FORMAT.render(turns)
    assert text == "<speaker2> Am I speaking to a bot?\n<speaker1> No way\n"
    assert FORMAT.parse(text) == turns
    assert FORMAT.prompt(turns[:1]) == "<speaker2> Am I speaking to a bot?\n<speaker1>"


def test_cut_reply_stops_at_newline_or_tag():
    assert FORMAT.cut_reply(" Sure thing\n<speaker2> ok") == ("Sure thing", True)
    assert FORMAT.cut_reply(" Sure <speaker2> ok") == ("Sure", True)
    assert FORMAT.cut_reply(" still going") == ("still going", False)


def test_clean_text_removes_controls_and_tags():
    assert clean_text("a\u200eb\x07c\nnext\tline") == "abc next line"
    assert clean_text("look <speaker1> fake turn") == "look fake turn"


def test_each_turn_once_and_no_leak_between_conversations():
    # The original wrote the last turn twice and carried it into the next conversation.
    a = conv("a", [("x", f"a{i}") if i % 2 == 0 else ("me", f"a{i}") for i in range(12)])
    b = conv("b", [("y", f"b{i}") if i % 2 == 0 else ("me", f"b{i}") for i in range(12)])
    dialogues, stats = select_dialogues([a, b])
    assert [t.text for t in dialogues[0].turns] == [f"a{i}" for i in range(12)]
    assert [t.text for t in dialogues[1].turns] == [f"b{i}" for i in range(12)]
    assert stats.kept == 2 and stats.turns == 24


def test_sorted_by_time_merged_and_outgoing_is_persona():
    msgs = (
        Message("me", "later", timestamp=5.0, outgoing=True),
        Message("x", "first", timestamp=1.0, outgoing=False),
        Message("x", "second", timestamp=2.0, outgoing=False),
    )
    dialogues, stats = select_dialogues([Conversation("c", msgs)], SelectionRules(min_messages=1))
    assert dialogues[0].turns == (Turn(OTHER, "first | second"), Turn(PERSONA, "later"))
    assert stats.merged == 1


def test_selection_rules_and_error_names_each_rule():
    group = conv("g", [("me", "1"), ("x", "2"), ("y", "3")] * 4)
    short = conv("s", [("me", "hi"), ("x", "yo")])
    with pytest.raises(ChatcloneError) as err:
        select_dialogues([group, short])
    assert str(err.value) == (
        "no conversation passed the filters: of 2 conversation(s), 1 did not have exactly 2 senders "
        "(relax with --no-two-senders-only); 1 had too few messages (relax with --min-messages). "
        "Current settings: min_messages=11, two_senders_only=True."
    )
    dialogues, _ = select_dialogues(
        [group, short], SelectionRules(min_messages=2, two_senders_only=False)
    )
    assert len(dialogues) == 2


def test_rules_judge_the_conversation_then_sessions_are_kept():
    # 12 messages over two days: long enough as a conversation, though each session is short.
    spec = [("x", f"m{i}") if i % 2 == 0 else ("me", f"m{i}") for i in range(12)]
    c = Conversation(
        "c",
        tuple(
            Message(
                sender=s, text=t, timestamp=i * 60 + (86400 if i >= 6 else 0), outgoing=s == "me"
            )
            for i, (s, t) in enumerate(spec)
        ),
    )
    dialogues, stats = select_dialogues([c], SelectionRules(session_gap_hours=6))
    assert [len(d.turns) for d in dialogues] == [6, 6]
    assert {d.conversation_id for d in dialogues} == {"c"} and len({d.id for d in dialogues}) == 2
    assert stats.kept == 2 and not stats.removed


def test_validation_keeps_sessions_of_a_conversation_together():
    from chatclone.speaker_format import Dialogue
    from chatclone.training.heldout import split_dialogues

    dialogues = [
        Dialogue(f"{c}#{s}", (Turn(OTHER, "hi"),), conversation=c)
        for c in "abcdefgh"
        for s in range(3)
    ]
    train, val = split_dialogues(dialogues, 0.25, seed=1)
    assert val and train
    assert not {d.conversation_id for d in train} & {d.conversation_id for d in val}
    assert len(val) % 3 == 0
