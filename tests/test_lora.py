"""LoRA: few trainable parameters, base weights untouched, merged == unmerged, runs load as usual."""

import pytest
import torch

from chatclone.config import TrainConfig
from chatclone.errors import ChatcloneError
from chatclone.training import lora
from chatclone.training.loop import train
from chatclone.training.models import load_base, load_trained

IDS = torch.tensor([[5, 17, 42, 9, 300, 3, 301, 8]])  # 300, 301: the speaker tags


def logits(model, ids=IDS):
    model.eval()
    with torch.no_grad():
        return model(input_ids=ids).logits


def trained_adapter(model_dir):
    """A LoRA model after a few real optimizer steps (so B != 0 and the tag rows moved)."""
    torch.manual_seed(0)
    model, tok = load_base(str(model_dir))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model = lora.wrap(model, tok, r=4, alpha=8, dropout=0.0)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    for _ in range(5):
        loss = model(input_ids=IDS, labels=IDS).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    return model, tok, before


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_adapter_trains_few_parameters_and_leaves_the_base_unchanged(arch, tiny_model, tiny_gpt2):
    model_dir = tiny_model if arch == "llama" else tiny_gpt2
    model, tok, before = trained_adapter(model_dir)
    trainable, total = lora.trainable_parameters(model)
    assert 0 < trainable < total / 4
    assert logits(model).shape[-1] == len(tok)
    base = model.unload()  # the model without the adapter
    after = base.state_dict()
    assert after.keys() == before.keys()
    for name in before:
        assert torch.equal(after[name], before[name]), name


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_merged_and_unmerged_give_the_same_logits(arch, tiny_model, tiny_gpt2):
    model, _, _ = trained_adapter(tiny_model if arch == "llama" else tiny_gpt2)
    unmerged = logits(model)
    merged = logits(model.merge_and_unload())
    assert torch.allclose(unmerged, merged, atol=1e-5)


def test_default_targets_per_architecture_and_a_helpful_error(tiny_model, tiny_gpt2):
    llama, _ = load_base(str(tiny_model))
    gpt2, _ = load_base(str(tiny_gpt2))
    assert lora.target_modules(llama) == [
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    ]
    assert lora.target_modules(gpt2) == ["c_attn", "c_proj", "c_fc"]
    assert lora.target_modules(llama, ["q_proj"]) == ["q_proj"]
    with pytest.raises(ChatcloneError) as e:
        lora.target_modules(gpt2, ["q_proj"])
    assert str(e.value) == (
        "--lora-target q_proj: no such module in this gpt2 model; linear "
        "layers here include: c_attn, c_fc, c_proj; pass some of those to --lora-target, or "
        "leave it out for the default"
    )


def lora_config(tmp_path, data, model, **kw):
    base = dict(
        data=str(data),
        model=str(model),
        runs_dir=str(tmp_path / "runs"),
        run_name="a",
        batch_size=4,
        block_size=64,
        max_steps=8,
        lr=1e-2,
        min_messages=2,
        device="cpu",
        cache=False,
        report=False,
        tensorboard=False,
        lora=True,
        lora_dropout=0.0,
    )
    base.update(kw)
    return TrainConfig(**base)


def test_lora_run_saves_an_adapter_that_chat_loads_like_a_merged_run(
    tmp_path, chatistics_file, tiny_model
):
    from chatclone import cli

    adapter_run = train(lora_config(tmp_path, chatistics_file, tiny_model))
    assert (adapter_run / "adapter_config.json").is_file()
    assert not (adapter_run / "model.safetensors").exists()
    full_size = (tiny_model / "model.safetensors").stat().st_size
    assert (adapter_run / "adapter_model.safetensors").stat().st_size < full_size / 2
    merged_run = train(
        lora_config(tmp_path, chatistics_file, tiny_model, run_name="m", merge_lora=True)
    )
    assert (merged_run / "config.json").is_file() and not (
        merged_run / "adapter_config.json"
    ).exists()
    from_adapter, tok = load_trained(adapter_run)
    from_merged, _ = load_trained(merged_run)
    assert not hasattr(from_adapter, "peft_config")  # callers get a plain model
    assert torch.allclose(logits(from_adapter), logits(from_merged), atol=1e-5)
    # The adapter's tag rows were trained and survive the save: the base model differs there.
    base, _ = load_base(str(tiny_model))
    assert not torch.allclose(logits(base), logits(from_adapter), atol=1e-3)
    assert (
        cli.main(
            [
                "reply",
                "--runs-dir",
                str(tmp_path / "runs"),
                "--run-name",
                "a",
                "--seed",
                "1",
                "--max-new-tokens",
                "5",
                "Hi",
            ]
        )
        == 0
    )
