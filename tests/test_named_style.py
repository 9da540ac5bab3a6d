"""`--prompt-style named`: in a group chat every other sender keeps a (pseudonymised) name, so
the model reads who said what (`<speaker2> Name: text`); the persona's lines are unchanged and
are what the model learns and writes. Training, chat, the API and exports all follow it."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import pytest

from chatclone import cli
from chatclone.data.records import Conversation, Message
from chatclone.data.select import SelectionRules, select_dialogues
from chatclone.prompt_style import run_format
from chatclone.rundir import RunDir
from chatclone.speaker_format import FORMAT, NAMED, OTHER, PERSONA, Dialogue, Turn
from chatclone.training.dataset import DatasetStats, encode_dialogue

PERSONA_NAME, OTHERS = "Dan Levi", ("Maya Cohen", "Ron Katz")
SECRETS = ("maya", "cohen", "katz", "levi")
# Who writes each message of a conversation: runs of one sender, and of two others in a row.
ORDER = [1, 2, 0, 1, 1, 0, 2, 1, 0, 0, 2, 2, 1, 0]


def group_records(n_convs: int = 3) -> list[dict]:
    people = (PERSONA_NAME, *OTHERS)
    return [
        {
            "timestamp": 1.6e9 + c * 1e5 + m * 60,
            "conversationId": f"group{c}",
            "conversationWithName": "Weekend plans",
            "senderName": people[who],
            "outgoing": who == 0,
            "text": f"message {m} of {c}" + (", right Maya?" if who == 2 else ""),
            "language": "en",
            "platform": "telegram",
        }
        for c in range(n_convs)
        for m, who in enumerate(ORDER)
    ]


def group_conversation() -> Conversation:
    people = (PERSONA_NAME, *OTHERS)
    msgs = tuple(Message(people[w], f"m{i}", 1.6e9 + i * 60, w == 0) for i, w in enumerate(ORDER))
    return Conversation("g", msgs, participants=people)


def test_named_selection_keeps_each_sender_and_does_not_merge_different_ones():
    rules = SelectionRules(two_senders_only=False, min_messages=2)
    [plain], _ = select_dialogues([group_conversation()], rules)
    [named], stats = select_dialogues([group_conversation()], replace(rules, keep_names=True))
    assert all(t.name == "" for t in plain.turns)  # the other styles: unchanged
    assert plain.turns[0] == Turn(OTHER, "m0 | m1")
    assert [(t.name, t.text) for t in named.turns[:4]] == [
        ("Maya Cohen", "m0"),
        ("Ron Katz", "m1"),
        ("", "m2"),
        ("Maya Cohen", "m3 | m4"),  # one sender's run still merges
    ]
    assert all(t.name == "" for t in named.turns if t.speaker == PERSONA)
    assert stats.merged == 3  # 1+1, 0+0 and 2+2 in ORDER


def test_the_named_format_writes_names_on_the_other_sides_lines_only():
    history = [Turn(OTHER, "hi all", "Sam"), Turn(OTHER, "yo", "Alex"), Turn(PERSONA, "hey")]
    assert NAMED.prompt(history) == (
        "<speaker2> Sam: hi all\n<speaker2> Alex: yo\n<speaker1> hey\n<speaker1>"
    )
    assert NAMED.render([Turn(OTHER, "no name")]) == "<speaker2> You: no name\n"
    assert FORMAT.render(history) == "<speaker2> hi all\n<speaker2> yo\n<speaker1> hey\n"
    assert NAMED.parse(NAMED.render(history)) == history
    assert NAMED.key() != FORMAT.key() and NAMED.tags == FORMAT.tags


@pytest.fixture(scope="module")
def group_run(tmp_path_factory, tiny_model):
    """A tiny run trained in the named style on a 3-person group chat, redaction on."""
    root = tmp_path_factory.mktemp("named")
    data = root / "group.json"
    data.write_text(json.dumps(group_records()))
    args = ["--data", str(data), "--model", str(tiny_model), "--runs-dir", str(root / "runs")]
    args += ["--me", PERSONA_NAME, "--prompt-style", "named"]  # group chats kept by itself
    args += ["--max-steps", "2", "--block-size", "96", "--min-messages", "2", "--device", "cpu"]
    assert cli.main(["train", *args, "--no-report", "--no-tensorboard"]) == 0
    return RunDir(root / "runs" / "run1")


def test_a_group_chat_trains_named_and_keeps_who_said_what(group_run):
    assert group_run.read_config().prompt_style == "named"
    train, heldout = group_run.read_dialogues()
    turns = [t for d in train + heldout for t in d.turns]
    names = {t.name for t in turns if t.speaker == OTHER}
    assert len(names) == 2 and not names & {*OTHERS, ""}  # two stand-ins, no real name
    assert all(t.name == "" for t in turns if t.speaker == PERSONA)
    # Two different senders in a row stay two turns.
    pairs = zip(turns, turns[1:])
    assert any(a.speaker == b.speaker == OTHER and a.name != b.name for a, b in pairs)
    # dialogues.jsonl writes a name only where a turn has one.
    lines = (group_run / "dialogues.jsonl").read_text().splitlines()
    widths = {len(t) for line in lines for t in json.loads(line)["turns"]}
    assert widths == {2, 3}


def test_nothing_under_runs_names_a_person_in_the_named_style(group_run):
    from test_delete import leaks

    assert leaks(group_run.path.parent, SECRETS) == []


def test_names_are_in_the_prompt_and_only_the_persona_is_learned(group_run):
    from chatclone.inference.engine import load_engine
    from chatclone.sampling import LoadOptions

    engine = load_engine(group_run, LoadOptions())
    tokenizer = engine.tokenizer
    history = [Turn(OTHER, "who is in", "Sam Park"), Turn(OTHER, "me", "Alex")]
    prompt = tokenizer.decode(engine.prompt.encode(history))
    assert prompt == "<speaker2> Sam Park: who is in\n<speaker2> Alex: me\n<speaker1>"
    fmt = run_format(tokenizer, "named")
    turns = (*history, Turn(PERSONA, "count me in"), Turn(OTHER, "ok", "Sam Park"))
    [example] = encode_dialogue(Dialogue("d", turns), tokenizer, fmt, 96, DatasetStats())
    learned = [i for i, p in zip(example.input_ids, example.persona) if p]
    assert tokenizer.decode(learned) == "<speaker1> count me in\n"
    assert "Sam Park: who is in" in tokenizer.decode(example.input_ids)


def test_chat_speaks_as_the_user_name(group_run):
    from chatclone.inference.repl import run_chat
    from chatclone.sampling import ChatConfig

    out = io.StringIO()
    cfg = ChatConfig(
        run_name=group_run.name,
        runs_dir=str(group_run.path.parent),
        greedy=True,
        max_new_tokens=4,
        device="cpu",
        user_name="Zed",
        opening=["Hi!"],
    )
    assert run_chat(cfg, io.StringIO("anyone up?\nh\n"), out) == 0
    text = out.getvalue()
    assert "<speaker2> Zed: Hi!\n" in text and "<speaker2> Zed: anyone up?\n" in text


def test_the_api_passes_a_messages_name_on(group_run):
    from fastapi.testclient import TestClient

    from chatclone.inference.engine import load_engine
    from chatclone.sampling import LoadOptions
    from chatclone.serving.openai_api import create_app
    from chatclone.serving.serve import ServeConfig

    engine = load_engine(group_run, LoadOptions())
    cfg = ServeConfig(
        greedy=True, max_new_tokens=4, memory=0, runs_dir=str(group_run.path.parent)
    )  # memory off: the prompt is the history alone
    ask = [
        {"role": "user", "content": "lunch?", "name": "Sam Park"},
        {"role": "user", "content": "yes"},
    ]
    with TestClient(create_app(engine, cfg), base_url="http://127.0.0.1") as client:
        body = client.post("/v1/chat/completions", json={"messages": ask}).json()
    assert "usage" in body, body
    history = [Turn(OTHER, "lunch?", "Sam Park"), Turn(OTHER, "yes")]
    expected = engine.generate(history, cfg)
    assert (
        body["usage"]["prompt_tokens"]
        == expected.prompt_tokens
        == len(engine.prompt.encode(history))
    )
    assert body["choices"][0]["message"]["content"] == expected.text


def test_exports_render_the_names(group_run, tmp_path):
    from transformers import AutoTokenizer

    from chatclone.exporting.export import chat_template, ollama_template

    tokenizer = AutoTokenizer.from_pretrained(group_run.path)
    tokenizer.chat_template = chat_template(NAMED)
    messages = [
        {"role": "user", "content": "lunch?", "name": "Sam Park"},
        {"role": "user", "content": "it's on"},
        {"role": "assistant", "content": "in"},
    ]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    history = [Turn(OTHER, "lunch?", "Sam Park"), Turn(OTHER, "it's on"), Turn(PERSONA, "in")]
    assert rendered == NAMED.prompt(history)
    assert "<speaker2> You: {{ .Content }}" in ollama_template(NAMED)


def test_eval_scores_a_named_run_with_the_names_in_its_contexts(group_run, tmp_path):
    from conftest import copy_run

    from chatclone.evaluation.evaluate import evaluate
    from chatclone.evaluation.options import EvalConfig

    runs = tmp_path / "runs"
    copy_run(group_run.path, runs)
    cfg = EvalConfig(run_name="run1", runs_dir=str(runs), quick=True, base=False, device="cpu")
    result = evaluate(cfg, progress=False)
    contexts = [s["context"] for s in result["models"]["trained"]["samples"]]
    lines = [line for c in contexts for line in c.splitlines() if line.startswith("<speaker2>")]
    assert lines and all(": message " in line for line in lines)  # "<speaker2> Name: message"
    assert not any(name in c for name in OTHERS for c in contexts)
