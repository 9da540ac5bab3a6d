"""Where the reply engine's logits come from: torch (the default) or ONNX Runtime.

A backend starts one generation from its prompt (`begin`), gives the logits of the last
position, and takes each sampled token (`push`); everything else stays in the engine, so
both backends share one decoder's semantics. `auto` takes ONNX Runtime where it is installed
and can run the model (float32 or int8/int4 weights, on the CPU), torch everywhere else.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from chatclone.errors import ChatcloneError
from chatclone.rundir import ONNX

BACKENDS = ("auto", "torch", "onnx")


class TorchRun:
    """One generation on a torch model with its key/value cache."""

    def __init__(self, model, prompt: list[int], cache: str, forward_kw: dict):
        self.model, self.cache, self.forward_kw, self.past = model, cache, forward_kw, None
        self.push_ids(prompt)

    def push_ids(self, ids: list[int]) -> None:
        import torch

        step = torch.tensor([ids], device=self.model.device)
        out = self.model(
            input_ids=step, use_cache=True, **{self.cache: self.past}, **self.forward_kw
        )
        self.past, self._logits = getattr(out, self.cache), out.logits[:, -1, :]

    def push(self, token: int) -> None:
        self.push_ids([token])

    def logits(self):
        return self._logits


def choose(backend: str, model, weights: str, device: str) -> str:
    """The backend a load runs on: int8/int4 weights (which only ONNX Runtime has) need onnx;
    otherwise `auto` takes onnx where it can run the model (CHATCLONE_BACKEND can set auto to
    torch or onnx), and an explicit `onnx` is checked."""
    from chatclone.inference import onnx_backend

    why = onnx_backend.usable(model, weights, device)
    if weights in ("int8", "int4"):
        if backend == "torch":
            raise ChatcloneError(f"--weights {weights} needs the onnx backend: use --backend onnx")
        backend = "onnx"
    elif backend == "auto":
        backend = os.environ.get("CHATCLONE_BACKEND") or "auto"
        if backend not in BACKENDS:
            raise ChatcloneError(
                f"CHATCLONE_BACKEND={backend} is not a backend; set one of {', '.join(BACKENDS)}"
            )
    if backend == "onnx" and why:
        raise ChatcloneError(f"--backend onnx cannot be used: {why}; use --backend torch")
    return "onnx" if backend == "onnx" or (backend == "auto" and why is None) else "torch"


def run_onnx_folder(run, weights: str) -> Path:
    """Where a run's conversion lives: `onnx/<weights>-<key>` in the run folder, the key
    changing with the weights files (a resumed or retrained run converts again; older
    conversions are removed)."""
    import hashlib
    import shutil

    files = sorted(p for p in run.path.glob("*.safetensors"))
    stamp = ",".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
    folder = run / ONNX / f"{weights}-{hashlib.sha256(stamp.encode()).hexdigest()[:12]}"
    for old in folder.parent.glob(f"{weights}-*") if folder.parent.is_dir() else ():
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)
    return folder


def base_onnx_folder(model: str, vocab: int, weights: str) -> Path:
    """Where a base model's conversion is cached (it holds nothing personal); `vocab` tells
    the model with speaker tokens added from the one without."""
    import hashlib

    from chatclone.training.models import cache_dir

    key = hashlib.sha256(f"{model}\n{vocab}".encode()).hexdigest()[:16]
    return cache_dir() / "onnx" / key / weights


def decoder_for(run, base: str | None, model, tokenizer, load):
    """The ONNX Runtime decoder of a loaded model when `load` picks that backend (converted on
    first use), else None (torch). `base`: the base model's name, for an untrained model."""
    import torch

    from chatclone.inference.onnx_backend import OnnxDecoder, build

    if choose(load.backend, model, load.weights, model.device.type) != "onnx":
        return None
    try:
        folder = (
            base_onnx_folder(base, len(tokenizer), load.weights)
            if base
            else run_onnx_folder(run, load.weights)
        )
        return OnnxDecoder(build(model, tokenizer, folder, load.weights), torch.get_num_threads())
    except (RuntimeError, OSError) as e:  # the builder failed, or the folder is not writable
        why = e if isinstance(e, RuntimeError) else f"its conversion could not be written ({e})"
        if load.backend == "onnx" or load.weights in ("int8", "int4"):
            raise ChatcloneError(f"the onnx backend failed: {why}; use --backend torch") from e
        print(f"Note: replying with torch: the onnx backend failed: {why}", file=sys.stderr)
        return None
