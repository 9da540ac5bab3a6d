"""The reply engine: stop conditions (incl. a tag split over tokens), streaming hold-back,
sampling options, parity with transformers' `generate`, history budget, seeds, cancel."""

from __future__ import annotations

import threading

import pytest
import torch

from chatclone.inference.engine import ReplyEngine, settled
from chatclone.sampling import SamplingOptions
from chatclone.speaker_format import FORMAT, OTHER, PERSONA, Turn

HISTORY = [
    Turn(OTHER, "Hi"),
    Turn(PERSONA, "Hey - how are you?"),
    Turn(OTHER, "Do you like pizza?"),
]


@pytest.fixture(scope="module")
def run(tiny_model):
    """A trained-run-like model: the tiny llama with the speaker tags as special tokens."""
    from chatclone.training.models import load_base

    model, tokenizer = load_base(str(tiny_model))
    model.eval()
    return model, tokenizer


class Forced(torch.nn.Module):
    """The real tiny model, with a large bonus on the logit of the next scripted token, so
    the script wins unless the engine bans that token (then the model's own choice does)."""

    def __init__(self, model, script: list[int]):
        super().__init__()
        self.inner, self.script, self.config, self.step = model, script, model.config, 0

    @property
    def device(self):
        return self.inner.device

    def forward(self, input_ids, past_key_values=None, use_cache=True):
        out = self.inner(input_ids=input_ids, past_key_values=past_key_values, use_cache=use_cache)
        if self.step < len(self.script):
            out.logits[:, -1, self.script[self.step]] += 1000.0
        self.step += 1
        return out


def ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def forced_reply(run, script, **cfg):
    model, tokenizer = run
    engine = ReplyEngine(Forced(model, script), tokenizer)
    pieces: list[str] = []
    reply = engine.generate(HISTORY, SamplingOptions(greedy=True, **cfg), on_text=pieces.append)
    return reply, pieces


def test_a_speaker_tag_split_over_tokens_ends_the_reply_and_is_never_streamed(run):
    tokenizer = run[1]
    tag = ids(tokenizer, "<spe") + ids(tokenizer, "aker2>")
    assert len(tag) >= 2 and tokenizer.decode(tag) == "<speaker2>"
    words = ids(tokenizer, "Yes, a lot.")
    reply, pieces = forced_reply(run, words + tag + ids(tokenizer, " Bye!"))
    assert reply.text == "Yes, a lot."
    assert reply.ended and reply.finish_reason == "stop"
    assert reply.tokens == len(words) + len(tag)
    assert "".join(pieces) == reply.text
    assert not any("<" in p for p in pieces)


@pytest.mark.parametrize(
    "tail, expected",
    [
        ("eos", "Hi"),
        ("tag", "Hi"),
        ("\nGood morning!", "Hi"),
        ("<speaker1> Good", "Hi"),
    ],
)
def test_eos_tag_token_newline_and_tag_text_end_the_turn(run, tail, expected):
    tokenizer = run[1]
    end = {
        "eos": [tokenizer.eos_token_id],
        "tag": [tokenizer.convert_tokens_to_ids(FORMAT.other_tag)],
    }.get(tail)
    script = ids(tokenizer, "Hi") + (end or ids(tokenizer, tail))
    reply, pieces = forced_reply(run, script, max_new_tokens=40)
    assert (reply.text, reply.ended) == (expected, True)
    assert "".join(pieces) == expected


def test_caller_stop_text_and_max_new_tokens(run):
    tokenizer = run[1]
    script = ids(tokenizer, "I went to the park and read a book.")
    reply, pieces = forced_reply(run, script, stop=["park"])
    assert (reply.text, reply.ended, "".join(pieces)) == ("I went to the", True, "I went to the")
    reply, pieces = forced_reply(run, script, max_new_tokens=3)
    assert (reply.tokens, reply.ended, reply.finish_reason) == (3, False, "length")
    assert reply.text == tokenizer.decode(script[:3]).strip() == "".join(pieces)


def test_min_new_tokens_bans_the_end_of_the_turn(run):
    eos = run[1].eos_token_id
    reply, _ = forced_reply(run, [eos] * 10, min_new_tokens=4)
    assert reply.tokens == 4 and reply.ended
    reply, _ = forced_reply(run, [eos] * 10, min_new_tokens=0)
    assert reply.tokens == 0 and reply.text == "" and reply.ended
    reply, _ = forced_reply(run, [eos] * 10)  # by default a reply is never empty
    assert reply.tokens == 1 and reply.ended


def test_greedy_tokens_match_transformers_generate_with_the_same_options(run):
    model, tokenizer = run
    engine = ReplyEngine(model, tokenizer)
    cfg = SamplingOptions(
        greedy=True, max_new_tokens=24, repetition_penalty=1.3, no_repeat_ngram_size=2
    )
    prompt = engine.prompt_ids(HISTORY, cfg)
    ours = list(engine.tokens(prompt, cfg))
    out = model.generate(
        torch.tensor([prompt]),
        max_new_tokens=24,
        do_sample=False,
        repetition_penalty=1.3,
        no_repeat_ngram_size=2,
        eos_token_id=sorted(engine.stop_ids),
        pad_token_id=tokenizer.eos_token_id,
    )
    theirs = [t for t in out[0, len(prompt) :].tolist() if t not in engine.stop_ids]
    assert ours == theirs and len(ours) > 2
    seq = prompt + ours
    for j in range(len(prompt), len(seq)):  # no generated token repeats an earlier bigram
        assert (seq[j - 1], seq[j]) not in set(zip(seq[: j - 1], seq[1:j]))


def test_a_seed_makes_sampling_reproducible(run):
    engine = ReplyEngine(*run)
    cfg = SamplingOptions(temperature=1.5, top_k=0, top_p=1.0, max_new_tokens=12, min_new_tokens=12)
    seeded = [SamplingOptions(**{**cfg.__dict__, "seed": s}) for s in (7, 7, 8)]
    a, b, c = (list(engine.tokens(engine.prompt_ids(HISTORY, s), s)) for s in seeded)
    assert a == b and a != c


def test_history_budget_in_tokens_drops_the_oldest_turns_first(run):
    engine = ReplyEngine(*run)
    history = [
        Turn(OTHER if i % 2 == 0 else PERSONA, f"I went to the park and read a book. {i}")
        for i in range(10)
    ]
    full = engine.prompt_ids(history, SamplingOptions(history_turns=10))
    cfg = SamplingOptions(history_turns=10, history_tokens=60)
    prompt = engine.prompt_ids(history, cfg)
    assert len(prompt) <= 61 < len(full)
    kept = FORMAT.parse(run[1].decode(prompt[:-1]).replace("<speaker", "\n<speaker"))
    assert kept == history[-len(kept) :] and 1 <= len(kept) < 10
    assert full[-len(prompt) :] == prompt  # the same turns, encoded the same way


def test_cancel_stops_at_the_next_token(run):
    tokenizer = run[1]
    cancel = threading.Event()
    engine = ReplyEngine(
        Forced(run[0], ids(tokenizer, "I went to the park and read a book.")), tokenizer
    )
    reply = engine.generate(
        HISTORY, SamplingOptions(greedy=True), on_text=lambda _: cancel.set(), cancel=cancel
    )
    assert reply.cancelled and not reply.ended and reply.tokens < 5


@pytest.mark.parametrize(
    "text, shown",
    [
        ("Yes <spe", "Yes"),
        ("Yes <speaker1", "Yes"),
        ("Yes <", "Yes"),
        ("a<b", "a<b"),
        ("caf\ufffd", "caf"),
        ("fine ", "fine"),
        ("ok", "ok"),
    ],
)
def test_settled_holds_back_what_could_still_become_a_marker(text, shown):
    assert settled(text, [*FORMAT.tags, "\n"]) == shown


def test_the_budget_running_out_ends_the_reply_at_its_last_full_sentence(run):
    tokenizer = run[1]
    first = ids(tokenizer, "Yes, a lot.")
    rest = ids(tokenizer, " I went to the park and read a book.")
    budget = len(first) + 3  # runs out inside the second sentence, in the last 8 tokens
    reply, pieces = forced_reply(run, first + rest, max_new_tokens=budget)
    assert (reply.text, reply.tokens) == ("Yes, a lot.", budget)
    assert not reply.ended and reply.finish_reason == "length"  # still cut short, and says so
    assert "".join(pieces) == reply.text  # the held-back tail was never streamed


def test_text_streamed_before_the_last_tokens_of_the_budget_is_kept(run):
    """Only the last max(8, budget // 4) tokens stream whole sentences: a sentence end before
    text that was already shown cannot be cut back to, so the reply keeps that text."""
    tokenizer = run[1]
    words = ids(tokenizer, "Yes. I went to the park and read a book and I am fine and you")
    reply, pieces = forced_reply(run, words, max_new_tokens=len(words) - 1)
    assert reply.text == tokenizer.decode(words[:-1]).strip() and not reply.ended
    assert len(pieces) > 1 and "".join(pieces) == reply.text


def test_loop_guard_blocks_loops_and_copies_of_the_persona_s_recent_turns(run):
    tokenizer = run[1]
    loop = ids(tokenizer, " I am fine. I am fine. I am fine. I am fine.")
    guarded, pieces = forced_reply(run, loop, max_new_tokens=len(loop))
    assert forced_reply(run, loop, max_new_tokens=len(loop), loop_guard=0)[0].text == (
        "I am fine. I am fine. I am fine. I am fine."
    )
    assert guarded.text.count("I am fine") == 1 and "".join(pieces) == guarded.text
    # HISTORY's persona turn, token for token: its first two tokens get through, not a third
    copy = ids(tokenizer, " Hey - how are you?")
    reply, _ = forced_reply(run, copy + [tokenizer.eos_token_id], loop_guard=3)
    assert reply.text.startswith(tokenizer.decode(copy[:2]).strip())
    assert not reply.text.startswith(tokenizer.decode(copy[:3]).strip())


def test_loop_guard_does_not_let_a_reply_end_as_a_copy_of_a_recent_turn(run):
    tokenizer = run[1]
    script = ids(tokenizer, " Hi") + [tokenizer.eos_token_id] * 3
    history = [*HISTORY, Turn(PERSONA, "Hi"), Turn(OTHER, "Hi")]
    engine = ReplyEngine(Forced(run[0], script), tokenizer)
    copied = engine.generate(history, SamplingOptions(greedy=True, loop_guard=0))
    assert (copied.text, copied.ended) == ("Hi", True)
    engine = ReplyEngine(Forced(run[0], script), tokenizer)
    reply = engine.generate(history, SamplingOptions(greedy=True, max_new_tokens=6))
    assert reply.text.startswith("Hi") and reply.text != "Hi" and reply.tokens > 1


def test_one_generator_per_conversation_gives_different_replies_that_repeat_with_the_seed(run):
    engine = ReplyEngine(*run)
    cfg = SamplingOptions(temperature=1.5, top_k=0, top_p=1.0, max_new_tokens=8, loop_guard=0)

    def conversation(seed: int) -> list[str]:
        stream = engine.generator(seed)
        return [engine.generate(HISTORY, cfg, generator=stream).text for _ in range(3)]

    first = conversation(7)
    assert len(set(first)) == 3  # the same history, three draws of one stream
    assert conversation(7) == first
    # without a conversation's generator, each reply starts afresh from the seed (eval, API)
    seeded = SamplingOptions(**{**cfg.__dict__, "seed": 7})
    assert engine.generate(HISTORY, seeded).text == engine.generate(HISTORY, seeded).text
    assert engine.generate(HISTORY, seeded).text == first[0]
    assert engine.generator(None) is None


def test_control_characters_a_model_writes_never_reach_the_reply(run):
    tokenizer = run[1]
    script = ids(tokenizer, "Hi\x1b[31m there\x0b you\u2028") + ids(tokenizer, "next line")
    reply, pieces = forced_reply(run, script)
    assert reply.text == "Hi[31m there you"  # no escape, no vertical tab; U+2028 ends the turn
    assert "".join(pieces) == reply.text and reply.ended
