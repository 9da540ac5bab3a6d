"""REPL commands of `chatclone chat`, driven by a scripted transcript on a tiny run."""

from __future__ import annotations

import io

import pytest

from chatclone.inference.repl import HELP, run_chat
from chatclone.sampling import ChatConfig
from chatclone.speaker_format import FORMAT, OTHER, PERSONA, Turn


@pytest.fixture(scope="module")
def engine(tiny_model):
    from chatclone.inference.engine import ReplyEngine
    from chatclone.training.models import load_base

    return ReplyEngine(*load_base(str(tiny_model)))


def chat(engine, lines: list[str], **cfg) -> str:
    out = io.StringIO()
    assert (
        run_chat(
            ChatConfig(greedy=True, **cfg), io.StringIO("\n".join(lines) + "\n"), out, engine=engine
        )
        == 0
    )
    return out.getvalue()


def test_banner_lists_the_commands(engine):
    text = chat(engine, [])
    assert HELP in text
    for command in ("/reset", "/history", "/save FILE", "/set", "/quit"):
        assert command in HELP


def test_set_changes_sampling_and_save_writes_the_transcript(engine, tmp_path):
    saved = tmp_path / "chat.txt"
    text = chat(
        engine,
        [
            "/set temperature 0.7",
            "/set max_new_tokens 1",
            "/set greedy on",
            "Do you like pizza?",
            f"/save {saved}",
            "/quit",
            "never read",
        ],
    )
    assert "(temperature = 0.7)\n(max_new_tokens = 1)\n(greedy = True)\n" in text
    assert f"(saved 4 turns to {saved})" in text
    turns = FORMAT.parse(saved.read_text())
    assert turns[:3] == [
        Turn(OTHER, "Hi!"),
        Turn(PERSONA, "Hey!"),
        Turn(OTHER, "Do you like pizza?"),
    ]
    assert (
        len(turns) == 4
        and turns[3].speaker == PERSONA
        and len(engine.tokenizer(turns[3].text)["input_ids"]) <= 1
    )
    assert "never read" not in text


@pytest.mark.parametrize(
    "line, error",
    [
        ("/set temperature hot", "Error: temperature must be a number, not 'hot'"),
        ("/set top_p 2", "Error: --top-p must be above 0 and at most 1 (got 2.0)"),
        ("/set seed x", "Error: seed must be a whole number or none, not 'x'"),
        (
            "/set colour red",
            "Error: usage: /set NAME VALUE, NAME one of temperature, top_k, top_p, "
            "greedy, max_new_tokens, min_new_tokens, repetition_penalty, "
            "no_repeat_ngram_size, loop_guard, seed, history_turns, history_tokens",
        ),
        ("/save", "Error: /save needs a file name, e.g. /save chat.txt"),
        ("/frobnicate", f"Error: unknown command '/frobnicate'. {HELP}"),
    ],
)
def test_bad_commands_print_an_error_and_the_chat_goes_on(engine, line, error):
    text = chat(engine, [line, "/history"])
    assert f"{error}\n" in text
    assert text.endswith(FORMAT.render([Turn(OTHER, "Hi!"), Turn(PERSONA, "Hey!")]))


def test_save_into_a_missing_folder_names_the_file(engine, tmp_path):
    target = tmp_path / "nope" / "chat.txt"
    text = chat(engine, [f"/save {target}"])
    assert (
        f"Error: could not write {target}: No such file or directory; pick another file\n" in text
    )


def test_reset_and_history(engine):
    text = chat(engine, ["Good morning!", "/reset", "h"], max_new_tokens=4)
    assert "(conversation reset)\n" in text
    after = text.split("(conversation reset)\n", 1)[1]
    assert after == FORMAT.render([Turn(OTHER, "Hi!"), Turn(PERSONA, "Hey!")])


def test_set_without_arguments_lists_the_settings(engine):
    text = chat(engine, ["/set"], top_k=7)
    assert "temperature=0.8  top_k=7  top_p=0.9" in text
