"""--memory: the persona's own past replies to similar messages, put before the conversation."""

from __future__ import annotations

import json

from chatclone.cli.main import main
from chatclone.inference.engine import ReplyEngine
from chatclone.inference.memory import Memory
from chatclone.sampling import SamplingOptions
from chatclone.speaker_format import OTHER, PERSONA, Dialogue, Turn
from chatclone.training.models import load_base

TRAIN = [
    Dialogue(
        "d1",
        (
            Turn(OTHER, "do you want to grab pizza tonight?"),
            Turn(PERSONA, "pizza always yes lol"),
            Turn(OTHER, "how was the exam"),
            Turn(PERSONA, "brutal. never again"),
        ),
    ),
    Dialogue(
        "d2",
        (
            Turn(PERSONA, "morning!!"),  # a persona turn that answers nothing: not an exchange
            Turn(OTHER, "what music are you into these days"),
            Turn(PERSONA, "mostly old jazz records"),
        ),
    ),
]


def test_recall_finds_the_reply_to_the_most_similar_message():
    memory = Memory(TRAIN)
    assert len(memory.pairs) == 3
    history = [Turn(OTHER, "hey"), Turn(PERSONA, "hi"), Turn(OTHER, "want pizza tonight?")]
    assert memory.recall(history, 1) == [
        Turn(OTHER, "do you want to grab pizza tonight?"),
        Turn(PERSONA, "pizza always yes lol"),
    ]
    two = memory.recall([Turn(OTHER, "what music do you like? pizza?")], 2)
    assert len(two) == 4 and two[-1].text == "mostly old jazz records"  # the most similar last


def test_recall_gives_nothing_without_a_message_or_a_match():
    memory = Memory(TRAIN)
    assert memory.recall([], 3) == [] and memory.recall([Turn(PERSONA, "pizza")], 3) == []
    assert memory.recall([Turn(OTHER, "kfq qfk")], 3) == []  # nothing similar enough
    assert memory.recall([Turn(OTHER, "pizza tonight?")], 0) == []
    # A reply already in the conversation is not shown again.
    shown = [Turn(PERSONA, "pizza always yes lol"), Turn(OTHER, "pizza tonight?")]
    assert memory.recall(shown, 1) == []
    assert Memory([]).recall([Turn(OTHER, "pizza")], 2) == []


def test_the_engine_puts_memory_before_the_conversation(tiny_model):
    model, tokenizer = load_base(str(tiny_model))
    engine = ReplyEngine(model, tokenizer, memory=Memory(TRAIN))
    history = [Turn(OTHER, "how did the exam go")]
    recalled = Memory(TRAIN).recall(history, 1)
    assert recalled[-1].text == "brutal. never again"
    assert engine.prompt_ids(history, SamplingOptions(memory=1)) == engine.encode(
        recalled + history
    )
    assert engine.prompt_ids(history, SamplingOptions(memory=0)) == engine.encode(history)


def test_chat_and_eval_take_memory_from_the_run(run_copy, capsys):
    where = ["--run-name", run_copy.name, "--runs-dir", str(run_copy.parent)]
    assert main(["reply", *where, "--memory", "2", "--max-new-tokens", "6", "hello"]) == 0
    assert capsys.readouterr().out.strip()
    args = ["eval", *where, "--memory", "2", "--samples", "2", "--probes", "Hi?", "--quick"]
    assert main([*args, "--no-base"]) == 0
    assert json.loads((run_copy / "eval.json").read_text())["settings"]["memory"] == 2
    capsys.readouterr()
    assert main(["reply", *where, "--memory", "-1", "hello"]) == 1
    assert capsys.readouterr().err == "Error: --memory must be at least 0 (got -1)\n"
