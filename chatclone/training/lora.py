"""LoRA adapters through `peft`: which modules to adapt, wrapping, saving and loading.

Only the low-rank matrices and the rows of the speaker-tag tokens are trained (the tags are
new tokens, so their embeddings must learn something; the rest of the embedding matrix stays
frozen, via peft's `trainable_token_indices`). A run saved as an adapter holds
`adapter_config.json` + `adapter_model.safetensors` and the tokenizer; `--merge-lora` saves
full weights instead.
"""

from __future__ import annotations

import json
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from chatclone.errors import ChatcloneError
from chatclone.speaker_format import FORMAT, SpeakerFormat

ADAPTER_CONFIG = "adapter_config.json"

# Attention and MLP projections per architecture (peft's own defaults adapt only q/v).
ARCH_TARGETS: dict[str, list[str]] = {
    "gpt2": ["c_attn", "c_proj", "c_fc"],
    "gpt_neox": ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"],
    "phi3": ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"],
    **{
        arch: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
        for arch in (
            "llama",
            "mistral",
            "qwen2",
            "qwen3",
            "gemma",
            "gemma2",
            "gemma3_text",
            "olmo",
            "olmo2",
            "granite",
            "smollm3",
        )
    },
}


def target_modules(model, override: list[str] | None = None) -> list[str]:
    """The module names to adapt: `override`, else the table above, else peft's mapping."""
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    arch = model.config.model_type
    if override:
        missing = [m for m in override if m not in names]
        if missing:
            raise ChatcloneError(
                f"--lora-target {' '.join(missing)}: no such module in this {arch} model; "
                f"linear layers here include: {', '.join(sorted(linear_names(model)))}; "
                "pass some of those to --lora-target, or leave it out for the default"
            )
        return list(override)
    if arch in ARCH_TARGETS:
        return [m for m in ARCH_TARGETS[arch] if m in names]
    from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as PEFT_TARGETS

    if arch in PEFT_TARGETS:
        return list(PEFT_TARGETS[arch])
    raise ChatcloneError(
        f"no default LoRA target modules for architecture {arch!r}; name them with --lora-target "
        f"(linear layers here: {', '.join(sorted(linear_names(model)))})"
    )


def linear_names(model) -> set[str]:
    import torch
    from transformers.pytorch_utils import Conv1D

    return {
        name.rsplit(".", 1)[-1]
        for name, m in model.named_modules()
        if isinstance(m, (torch.nn.Linear, Conv1D)) and "lm_head" not in name
    }


def new_token_ids(tokenizer, fmt: SpeakerFormat | None = FORMAT) -> list[int]:
    """The tokens `load_base` may have added: the speaker tags (none with a chat template,
    `fmt` None), and EOS (padding is EOS)."""
    tags = fmt.tags if fmt is not None else ()
    return sorted({tokenizer.convert_tokens_to_ids(t) for t in tags} | {tokenizer.eos_token_id})


def token_layers(model) -> list[str]:
    """Names of the layers holding per-token rows: the input embedding and, unless tied to
    it, the output projection (otherwise the new tokens could never be predicted)."""
    names = {id(m): n.rsplit(".", 1)[-1] for n, m in model.named_modules()}
    emb, out = model.get_input_embeddings(), model.get_output_embeddings()
    layers = [names[id(emb)]]
    if out is not None and out.weight is not emb.weight:
        layers.append(names[id(out)])
    return layers


def wrap(
    model,
    tokenizer,
    r: int,
    alpha: int,
    dropout: float,
    targets: list[str] | None = None,
    fmt: SpeakerFormat | None = FORMAT,
):
    """The model with LoRA layers; only they and the speaker-tag embeddings are trainable."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        task_type="CAUSAL_LM",
        target_modules=target_modules(model, targets),
        fan_in_fan_out=model.config.model_type == "gpt2",  # GPT-2 stores weights transposed
        trainable_token_indices={
            name: new_token_ids(tokenizer, fmt) for name in token_layers(model)
        },
    )
    with quiet_peft():
        return get_peft_model(model, config)


def trainable_parameters(model) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())


def save(model, folder: Path) -> None:
    """save_pretrained; an adapter is saved without the embedding matrices, whose new rows
    are already stored as trainable tokens (peft would otherwise copy them whole)."""
    extra = {"save_embedding_layers": False} if is_peft(model) else {}
    model.save_pretrained(folder, safe_serialization=True, **extra)


def for_saving(model, merge: bool):
    """What `save_pretrained` should write: the adapter, or full weights with it merged."""
    if merge and is_peft(model):
        return model.merge_and_unload()
    return model


def is_peft(model) -> bool:
    return hasattr(model, "peft_config")


def is_adapter_dir(path: Path) -> bool:
    return (path / ADAPTER_CONFIG).is_file()


def load_adapter(base_model, adapter_dir: Path, merge: bool = True):
    """`base_model` (with the speaker tokens already added) plus the adapter in `adapter_dir`;
    merged by default, which makes generation as fast as with a plain model."""
    from peft import PeftModel

    with quiet_peft():
        model = PeftModel.from_pretrained(base_model, str(adapter_dir))
    return model.merge_and_unload() if merge else model


def restore_adapter_weights(model, adapter_dir: Path) -> None:
    """Load saved adapter weights into an adapter model being trained (best checkpoint)."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    set_peft_model_state_dict(model, load_file(str(adapter_dir / "adapter_model.safetensors")))


def adapter_base(adapter_dir: Path) -> str:
    """The base model an adapter was trained on: the run's `--model`, else peft's record."""
    run_config = adapter_dir / "chatclone.json"
    if run_config.is_file():
        return json.loads(run_config.read_text())["model"]
    return json.loads((adapter_dir / ADAPTER_CONFIG).read_text())["base_model_name_or_path"]


@contextmanager
def quiet_peft() -> Iterator[None]:
    """peft calls a transformers API that warns of its own deprecation; not the user's concern."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        yield
