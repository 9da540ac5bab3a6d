"""The ONNX Runtime backend: the same reply engine, with the model's forward pass in ONNX Runtime.

Only the forward pass moves: the engine still encodes the prompt, samples (every processor,
seed and the loop guard), stops at the end of the persona's turn and streams, so a reply is
the same reply whichever backend computes the logits (greedy tokens match at float32). ONNX
Runtime's fused CPU kernels and preallocated key/value buffer make each token about twice as
fast as torch at float32; `int8`/`int4` weights (per-block quantised matmuls) read a quarter
or an eighth of the bytes per token, for more speed at a small cost in fidelity
(docs/benchmarks.md). The model is converted once, by onnxruntime-genai's model builder, into
`onnx/<weights>/` of the run folder (a base model's into the cache), and loaded from there
afterwards.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

# Architectures onnxruntime-genai's builder converts (a subset of what it lists: the ones a
# causal chat model of ours is likely to be).
SUPPORTED = {"llama", "mistral", "qwen2", "qwen3", "phi3", "gemma", "gemma2", "granite", "olmo"}
PRECISION = {"float32": "fp32", "int8": "int8", "int4": "int4"}
INSTALL = "pip install 'chatclone[fast]'"


def installed() -> bool:
    return all(importlib.util.find_spec(m) for m in ("onnxruntime_genai", "onnx", "onnx_ir"))


def usable(model, weights: str, device: str) -> str | None:
    """Why this model cannot run on the ONNX backend (None when it can)."""
    if not installed():
        return f"onnxruntime-genai is not installed ({INSTALL})"
    if weights not in PRECISION:
        return f"--weights {weights} is a torch precision (the onnx backend takes {', '.join(PRECISION)})"
    if device != "cpu":
        return f"the onnx backend runs on the CPU, not {device}"
    kind = getattr(model.config, "model_type", "")
    if kind not in SUPPORTED:
        return f"the onnx backend does not convert {kind or 'this'} models"
    return None


def build(model, tokenizer, out: Path, weights: str) -> Path:
    """Convert `model` (already merged, on the CPU) into an ONNX folder at `out`, once. Written
    aside and moved into place, so a folder at `out` is always a whole conversion."""
    if (out / "genai_config.json").exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"Converting the model for the onnx backend, once ({weights})...", file=sys.stderr)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".onnx-") as tmp:
        source, target = Path(tmp) / "hf", Path(tmp) / "onnx"
        model.save_pretrained(source)
        tokenizer.save_pretrained(source)
        # The builder's command line is its stable interface (its Python API changes between
        # releases); a child process also returns the memory the conversion takes.
        command = [
            sys.executable, "-m", "onnxruntime_genai.models.builder", "-m", "chatclone",
            "-i", str(source), "-o", str(target), "-p", PRECISION[weights], "-e", "cpu",
            "-c", str(Path(tmp) / "cache"),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, errors="replace")
        if done.returncode != 0 or not (target / "genai_config.json").exists():
            tail = " ".join((done.stdout + done.stderr).split()[-40:])
            raise RuntimeError(f"the model builder failed: {tail}")
        if (out / "genai_config.json").exists():
            return out  # another process converted it meanwhile: theirs is as good
        shutil.rmtree(out, ignore_errors=True)  # not a whole conversion (none is ever left)
        try:
            os.replace(target, out)
        except OSError:
            if not (out / "genai_config.json").exists():
                raise
    return out


class OnnxDecoder:
    """Logits from an ONNX Runtime model, one generation at a time per `begin` (thread-safe:
    generations share the model, each holds its own key/value buffer)."""

    def __init__(self, folder: Path, threads: int):
        import onnxruntime_genai as og

        config = og.Config(str(folder))
        config.overlay(
            '{"model": {"decoder": {"session_options": {"intra_op_num_threads": %d}}}}' % threads
        )
        self.og, self.model = og, og.Model(config)

    def begin(self, prompt: list[int], length: int) -> OnnxRun:
        return OnnxRun(self, prompt, length)


class OnnxRun:
    """One generation: its own key/value buffer, sized for the prompt and the reply budget."""

    def __init__(self, decoder: OnnxDecoder, prompt: list[int], length: int):
        params = decoder.og.GeneratorParams(decoder.model)
        params.set_search_options(max_length=length)
        self.generator = decoder.og.Generator(decoder.model, params)
        self.push_ids(prompt)

    def push_ids(self, ids: list[int]) -> None:
        """Run the model over `ids` (the prompt, then one sampled token at a time)."""
        self.generator.append_tokens(np.array([ids], dtype=np.int32))

    def push(self, token: int) -> None:
        self.push_ids([token])

    def logits(self):
        """The last position's logits, a (1, vocabulary) torch tensor (no copy)."""
        import torch

        return torch.from_numpy(self.generator.get_logits()[:, -1, :])
