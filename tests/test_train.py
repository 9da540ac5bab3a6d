import json
from pathlib import Path

import pytest
import torch
from conftest import chatistics_records, copy_run, same_training, tiny_options, weights

from chatclone.config import TrainConfig
from chatclone.errors import ChatcloneError
from chatclone.training import checkpoint
from chatclone.training.loop import train


def config(tmp_path, data, model, **kw):
    recipe = dict(batch_size=2, grad_accum=2, max_steps=4, save_every=2)
    return tiny_options(tmp_path / "runs", data, model, **{**recipe, **kw})


@pytest.fixture(scope="module")
def four_step_run(tmp_path_factory, tiny_model) -> TrainConfig:
    """The options of a finished run with this module's defaults (4 steps, a checkpoint every 2),
    trained once for the module. Read it only; `copy_of` gives a private copy."""
    root = tmp_path_factory.mktemp("four-steps")
    data = root / "export.json"
    data.write_text(json.dumps(chatistics_records()))
    cfg = config(root, data, tiny_model, keep_checkpoints=2)  # step-000002 stays beside
    train(cfg)
    return cfg


def copy_of(run: TrainConfig, tmp_path) -> Path:
    """A private copy of the run as tmp_path/runs/r, the folder `config(tmp_path, run.data, ...)`
    names."""
    return copy_run(run.run_dir, tmp_path / "runs")


def test_run_folder_is_a_standard_model_and_describes_itself(four_step_run, tiny_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run_dir = four_step_run.run_dir
    model = AutoModelForCausalLM.from_pretrained(run_dir)
    tok = AutoTokenizer.from_pretrained(run_dir)
    assert tok.convert_tokens_to_ids("<speaker1>") != tok.unk_token_id
    assert model.get_input_embeddings().num_embeddings >= len(tok)
    saved = json.loads((run_dir / "chatclone.json").read_text())
    assert saved["model"] == str(tiny_model) and saved["max_steps"] == 4
    stats = json.loads((run_dir / "dataset.json").read_text())
    assert stats["selection"]["kept"] == 3 and stats["tokens"]["examples"] >= 3
    losses = [
        json.loads(line)["loss"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()
    ]
    assert len(losses) == 4 and all(loss > 0 for loss in losses)
    assert checkpoint.latest_checkpoint(run_dir).name == "step-000004"


def test_loss_goes_down_when_training_longer(tmp_path, chatistics_file, tiny_model):
    run_dir = train(
        config(tmp_path, chatistics_file, tiny_model, max_steps=30, lr=3e-3, save_every=100)
    )
    losses = [
        json.loads(line)["loss"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()
    ]
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.5


@pytest.mark.parametrize("stop_at", [3, 5])
def test_resume_matches_an_uninterrupted_run(
    tmp_path, chatistics_file, tiny_gpt2, uninterrupted_gpt2_run, stop_at
):
    # tiny_gpt2 has dropout, so the RNG state must be restored too; 3 examples / (2x2) per step
    # means every step is a new epoch here, so the data position across epochs is exercised.
    kw = dict(max_steps=6, batch_size=1, grad_accum=2)
    full = uninterrupted_gpt2_run

    class Killed(Exception):
        pass

    def kill(step):
        if step == stop_at:
            raise Killed

    cut = config(tmp_path, chatistics_file, tiny_gpt2, run_name="cut", **kw)
    assert same_training(full, cut)
    with pytest.raises(Killed):
        train(cut, on_step=kill)
    assert checkpoint.latest_checkpoint(cut.run_dir).name == f"step-{stop_at - stop_at % 2:06d}"
    resumed = train(config(tmp_path, chatistics_file, tiny_gpt2, run_name="cut", resume=True, **kw))
    a, b = weights(full), weights(resumed)
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_kill_during_save_keeps_previous_checkpoint(
    tmp_path, chatistics_file, tiny_model, monkeypatch
):
    cfg = config(tmp_path, chatistics_file, tiny_model)
    real_save_state = None

    def crash(self, path, **kw):
        real_save_state(self, path, **kw)  # files half written into the temporary folder
        if path.endswith("step-000004"):
            raise KeyboardInterrupt

    from accelerate import Accelerator

    real_save_state = Accelerator.save_state
    monkeypatch.setattr(Accelerator, "save_state", crash)
    with pytest.raises(KeyboardInterrupt):
        train(cfg)
    latest = checkpoint.latest_checkpoint(cfg.run_dir)
    assert latest.name == "step-000002"
    checkpoint.check_complete(latest)
    monkeypatch.setattr(Accelerator, "save_state", real_save_state)
    train(config(tmp_path, chatistics_file, tiny_model, resume=True))
    assert checkpoint.latest_checkpoint(cfg.run_dir).name == "step-000004"
    assert not list(checkpoint.checkpoints_dir(cfg.run_dir).glob(".tmp-*"))


def test_incomplete_checkpoint_falls_back_to_the_previous_one(tmp_path, four_step_run, tiny_model):
    run_dir = copy_of(four_step_run, tmp_path)
    latest = checkpoint.latest_checkpoint(run_dir)
    (latest / "optimizer.bin").unlink()
    with pytest.warns(UserWarning, match="missing optimizer.bin"):
        train(config(tmp_path, four_step_run.data, tiny_model, resume=True, max_steps=6))
    assert checkpoint.latest_checkpoint(run_dir).name == "step-000006"


def test_existing_run_is_not_overwritten(tmp_path, four_step_run, tiny_model):
    copy_of(four_step_run, tmp_path)
    with pytest.raises(ChatcloneError, match="run 'r' already exists in .*; pass --resume"):
        train(config(tmp_path, four_step_run.data, tiny_model))


def test_resume_with_other_options_is_refused(tmp_path, four_step_run, tiny_model):
    copy_of(four_step_run, tmp_path)
    with pytest.raises(
        ChatcloneError, match="was trained with --block-size 64; resume with the same"
    ):
        train(config(tmp_path, four_step_run.data, tiny_model, resume=True, block_size=32))


@pytest.mark.parametrize("name", ["a/b", "a\\b", "..", "../x"])
def test_bad_run_names(name):
    with pytest.raises(ChatcloneError, match="invalid run name"):
        TrainConfig(data="sample", run_name=name)


def test_gpt2_style_tokenizer_without_pad_token(finished_gpt2_run):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(finished_gpt2_run)
    assert tok.pad_token is not None
