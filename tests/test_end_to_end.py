"""The one test on the real embedded model: load, train a few steps, save, reload, reply."""

import io

import pytest

from chatclone.config import TrainConfig
from chatclone.inference.repl import load_engine, run_chat
from chatclone.sampling import ChatConfig
from chatclone.speaker_format import FORMAT, OTHER, Turn
from chatclone.training.loop import train


@pytest.mark.slow
def test_embedded_model_trains_saves_and_replies(tmp_path):
    from transformers import AutoModelForCausalLM

    cfg = TrainConfig(
        data="sample",
        run_name="e2e",
        runs_dir=str(tmp_path),
        prompt_style="tags",  # the workshop's format: ten steps teach it the turn's end
        max_steps=10,
        batch_size=8,
        block_size=64,
        lr=2e-4,
        save_every=100,
        device="cpu",
        report=False,
    )
    run_dir = train(cfg)
    model = AutoModelForCausalLM.from_pretrained(run_dir)  # a standard model folder
    assert model.config.model_type == "llama"

    chat_cfg = ChatConfig(
        run_name="e2e", runs_dir=str(tmp_path), greedy=True, max_new_tokens=40, device="cpu"
    )
    engine = load_engine(chat_cfg)
    reply = engine.generate([Turn(OTHER, "Am I speaking to a bot?")], chat_cfg)
    assert reply.ended, f"the reply ran to max_new_tokens: {reply.text!r}"
    assert reply.tokens < 40 and reply.text and "\n" not in reply.text
    assert not any(tag in reply.text for tag in FORMAT.tags)

    out = io.StringIO()
    run_chat(chat_cfg, io.StringIO("What did you do today?\n"), out, engine=engine)
    assert out.getvalue().splitlines()[-1].startswith("bot> ")
