"""What a chat feels like: replies that do not loop or repeat, one seed per conversation, a reply
budget from the run, `--base` for comparison, and no library noise on the terminal."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chatclone.cli.main import main
from chatclone.inference.repl import load_engine, run_chat
from chatclone.rundir import RunDir
from chatclone.sampling import ChatConfig
from chatclone.speaker_format import OTHER, PERSONA, Turn

SCRIPT = [
    "Hi",
    "What did you do today?",
    "What did you do today?",
    "Do you like pizza?",
    "How are you?",
    "What did you do today?",
    "Hi",
    "Bye",
]


def chat(run: Path, lines: list[str], **options) -> list[str]:
    """The replies of a chat piped through `run_chat` (quiet: one reply a line)."""
    cfg = ChatConfig(
        run_name=run.name, runs_dir=str(run.parent), device="cpu", quiet=True, **options
    )
    out = io.StringIO()
    assert run_chat(cfg, io.StringIO("\n".join(lines) + "\n"), out) == 0
    return out.getvalue().splitlines()


def test_a_greedy_chat_never_repeats_an_earlier_reply(finished_run):
    unguarded = chat(finished_run, SCRIPT, greedy=True, loop_guard=0)
    assert len(set(unguarded)) < len(SCRIPT)  # this tiny model does loop when left alone
    replies = chat(finished_run, SCRIPT, greedy=True)
    assert len(replies) == len(SCRIPT)
    for i, reply in enumerate(replies):
        assert reply not in replies[:i], f"reply {i} repeats an earlier one: {reply!r}"


def test_one_seed_gives_the_same_whole_chat_and_different_replies_within_it(finished_run):
    options = {"temperature": 1.0, "top_k": 0, "top_p": 1.0, "seed": 3, "loop_guard": 0}
    lines = ["Hi", "Hi", "Hi", "/reset", "Hi"]
    replies = chat(finished_run, lines, **options)
    assert chat(finished_run, lines, **options) == replies  # reproducible as a whole
    assert len(set(replies[:3])) == 3  # ... but not one reply over and over
    assert replies[3] == replies[0]  # /reset starts the conversation, and its seed, over
    assert chat(finished_run, lines, **{**options, "seed": 4}) != replies


def test_eval_samples_each_context_on_its_own(finished_run):
    """Eval seeds every context afresh: a context's reply does not depend on the others."""
    from chatclone.evaluation.evaluate import sample
    from chatclone.evaluation.options import EvalConfig

    cfg = EvalConfig(run_name=finished_run.name, runs_dir=str(finished_run.parent), device="cpu")
    engine = load_engine(ChatConfig(run_name=finished_run.name, runs_dir=str(finished_run.parent)))
    one, two = [Turn(OTHER, "Hi")], [Turn(OTHER, "How are you?")]
    alone = sample(engine, two, cfg)
    sample(engine, one, cfg)
    assert sample(engine, two, cfg) == alone


def test_a_request_seed_seeds_that_request_alone(finished_run):
    pytest.importorskip("fastapi")
    from chatclone.serving.schema import CompletionRequest, generation_config
    from chatclone.serving.serve import ServeConfig

    cfg = ServeConfig(run_name=finished_run.name, runs_dir=str(finished_run.parent), seed=1)
    engine = load_engine(ChatConfig(run_name=finished_run.name, runs_dir=str(finished_run.parent)))
    ask = {"messages": [{"role": "user", "content": "Hi"}], "temperature": 1.0}
    gen = generation_config(CompletionRequest(**ask, seed=9), cfg)
    assert gen.seed == 9 and generation_config(CompletionRequest(**ask), cfg).seed == 1
    history = [Turn(OTHER, "Hi")]
    assert engine.generate(history, gen).text == engine.generate(history, gen).text


def test_the_default_reply_budget_comes_from_the_persona_s_turns(finished_run):
    from chatclone.inference.length import reply_budget
    from chatclone.sampling import MAX_BUDGET, MIN_BUDGET
    from chatclone.speaker_format import Dialogue

    def turns(*lengths: int) -> list[Dialogue]:
        return [Dialogue("d", tuple(Turn(PERSONA, "w " * n) for n in lengths))]

    def words(text: str) -> list[str]:
        return text.split()

    assert reply_budget(turns(*[10] * 19, 200), words) == 13 + 4  # 1.25 x 10: the tail aside
    assert reply_budget(turns(1), words) == MIN_BUDGET
    assert reply_budget(turns(1000), words) == MAX_BUDGET
    assert ChatConfig().max_new_tokens is None  # "from the run" unless given

    cfg = ChatConfig(run_name=finished_run.name, runs_dir=str(finished_run.parent), device="cpu")
    engine = load_engine(cfg)
    train, _ = RunDir(finished_run).read_dialogues()
    assert engine.max_new_tokens == reply_budget(train, engine.prompt.turn_ids)
    assert engine.budget(cfg) == engine.max_new_tokens
    assert engine.budget(cfg.replace(max_new_tokens=5)) == 5
    reply = engine.generate([Turn(OTHER, "Hi")], cfg.replace(min_new_tokens=200))
    assert reply.tokens == 200 and not reply.ended  # at least min_new_tokens, at most that


def test_help_says_where_the_default_reply_length_comes_from(capsys):
    with pytest.raises(SystemExit):
        main(["reply", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: from the run, a long turn of the persona's, within 16-256)" in text
    assert "--base" in text and "--loop-guard" in text


CHATML = (
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@pytest.fixture(scope="module")
def chat_model(tmp_path_factory, tiny_model) -> Path:
    """The tiny model with a chat template and its two special tokens, as chat models come."""
    from transformers import AutoTokenizer

    path = tmp_path_factory.mktemp("tiny-chat-model")
    for f in tiny_model.iterdir():
        (path / f.name).write_bytes(f.read_bytes())
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tokenizer.chat_template = CHATML
    tokenizer.save_pretrained(path)
    return path


def test_a_chat_template_prompts_the_base_model_and_its_end_token_ends_the_turn(chat_model):
    from chatclone.inference.engine import ReplyEngine
    from chatclone.inference.formats import NativePrompt, prompt_format
    from chatclone.training.models import load_base

    model, tokenizer = load_base(str(chat_model))
    fmt = prompt_format(tokenizer, base=True)
    assert isinstance(fmt, NativePrompt) and "<|im_end|>" in fmt.stop_texts
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in fmt.stop_ids()
    history = [Turn(PERSONA, "Hey!"), Turn(OTHER, "Hi"), Turn(PERSONA, "Yo"), Turn(OTHER, "Ok?")]
    assert tokenizer.decode(fmt.encode(history)) == (
        "<|im_start|>assistant\nHey!<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nYo<|im_end|>\n<|im_start|>user\nOk?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert not isinstance(prompt_format(tokenizer), NativePrompt)  # a trained run: speakers
    engine = ReplyEngine(model, tokenizer, fmt)
    for end in ("<|im_end|>", "<|endoftext|>"):  # the template's end token, or EOS
        end_id = tokenizer.convert_tokens_to_ids(end)
        model_forced = _forced(model, tokenizer("Fine", add_special_tokens=False)["input_ids"])
        engine.model = model_forced.with_end(end_id)
        reply = engine.generate(history, ChatConfig(greedy=True, max_new_tokens=20))
        assert (reply.text, reply.ended) == ("Fine", True)


def _forced(model, script: list[int]):
    import torch

    class Forced(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner, self.config, self.step, self.script = model, model.config, 0, script

        def with_end(self, end: int):
            self.script = [*self.script, end]
            return self

        @property
        def device(self):
            return self.inner.device

        def forward(self, **kw):
            out = self.inner(**kw)
            if self.step < len(self.script):
                out.logits[:, -1, self.script[self.step]] += 1000.0
            self.step += 1
            return out

    return Forced()


def test_base_talks_to_the_run_s_untrained_model(short_run, chat_model, tmp_path, capsys):
    import torch
    from conftest import copy_run

    from chatclone.inference.formats import NativePrompt

    run = copy_run(short_run, tmp_path / "runs", "bot")
    saved = json.loads((run / "chatclone.json").read_text())
    (run / "chatclone.json").write_text(json.dumps({**saved, "model": str(chat_model)}))
    cfg = ChatConfig(run_name="bot", runs_dir=str(run.parent), device="cpu", base=True)
    engine = load_engine(cfg)
    assert isinstance(engine.prompt, NativePrompt)
    trained = load_engine(cfg.replace(base=False))
    assert not torch.equal(
        engine.model.get_input_embeddings().weight[:100],
        trained.model.get_input_embeddings().weight[:100],
    )
    args = ["--run-name", "bot", "--runs-dir", str(run.parent), "--device", "cpu", "--base"]
    assert main(["reply", *args, "--greedy", "Hi"]) == 0
    capsys.readouterr()
    sys_stdin, sys.stdin = sys.stdin, io.StringIO("Hi\n")
    try:
        assert main(["chat", *args, "--max-new-tokens", "4"]) == 0
    finally:
        sys.stdin = sys_stdin
    assert capsys.readouterr().out.startswith("Chatting with the base model of run 'bot'.")


def test_reply_and_chat_print_no_library_warnings(finished_run):
    """Users see chatclone's words only: run as a user does, nothing reaches stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHONWARNINGS")}
    common = ["--run-name", finished_run.name, "--runs-dir", str(finished_run.parent)]
    for argv, stdin in (
        (["reply", *common, "Am I speaking to a bot?"], ""),
        (["chat", *common], "Hi\nWhat did you do today?\n/quit\n"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "chatclone", *argv],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr == "", f"chatclone {argv[0]} printed to stderr:\n{done.stderr}"
        assert done.stdout.strip()


def test_a_template_that_refuses_a_system_message_is_rendered_whole(chat_model):
    from chatclone.inference.formats import TemplatePrompt, prompt_format
    from chatclone.training.models import load_base

    _, tokenizer = load_base(str(chat_model))
    tokenizer.chat_template = (
        "{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('no system') }}"
        "{% endif %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}"
        "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
    )
    fmt = prompt_format(tokenizer, base=True)
    assert isinstance(fmt, TemplatePrompt)
    assert tokenizer.decode(fmt.encode([Turn(OTHER, "Hi")])) == (
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    )
