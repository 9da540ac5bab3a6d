"""Shared test assets: a tiny tokenizer, tiny random-init models and finished tiny runs trained
once per session, all built here, never downloaded."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from chatclone.config import TrainConfig

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

CORPUS = [
    "Hi",
    "Hey - how are you?",
    "I am fine, thanks. And you?",
    "Good morning!",
    "What did you do today?",
    "I went to the park and read a book.",
    "Am I speaking to a bot?",
    "No, I am a person.",
    "See you tomorrow",
    "Bye!",
    "Do you like pizza?",
    "Yes, a lot.",
]


@pytest.fixture(autouse=True, scope="session")
def _torch_one_thread():
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)
    torch.manual_seed(0)


@pytest.fixture(autouse=True, scope="session")
def _session_cache(tmp_path_factory):
    # Autouse session fixtures come first: the session's trained-run fixtures cache (and keep
    # private records) under the test session's folder too, never in the user's cache.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHATCLONE_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        # Runs load on torch unless a test asks for another backend (tests/test_backend_onnx.py):
        # fixtures' run folders stay as they were trained, and replies compare with torch's.
        mp.setenv("CHATCLONE_BACKEND", "torch")
        yield


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    # Real user caches stay untouched; the embedded model conversion is shared per session.
    monkeypatch.setenv("CHATCLONE_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def make_tokenizer(path: Path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(CORPUS * 5, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>")
    fast.save_pretrained(path)
    return fast


def make_model_dir(path: Path, arch: str = "llama", dropout: float = 0.0) -> Path:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    tokenizer = make_tokenizer(path)
    torch.manual_seed(0)
    if arch == "llama":
        cfg = LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=2,
            max_position_embeddings=512,
            attention_dropout=dropout,
            eos_token_id=tokenizer.eos_token_id,
            bos_token_id=None,
        )
        model = LlamaForCausalLM(cfg)
    else:
        cfg = GPT2Config(
            vocab_size=len(tokenizer),
            n_embd=32,
            n_layer=2,
            n_head=2,
            n_positions=512,
            resid_pdrop=dropout,
            embd_pdrop=dropout,
            attn_pdrop=dropout,
            eos_token_id=tokenizer.eos_token_id,
            bos_token_id=tokenizer.eos_token_id,
        )
        model = GPT2LMHeadModel(cfg)
    model.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return make_model_dir(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory) -> Path:
    return make_model_dir(tmp_path_factory.mktemp("tiny-gpt2"), arch="gpt2", dropout=0.1)


def chatistics_records(n_convs: int = 3, n_msgs: int = 12, start: float = 1.6e9) -> list[dict]:
    records = []
    for c in range(n_convs):
        for m in range(n_msgs):
            outgoing = m % 2 == 1
            records.append(
                {
                    "timestamp": start + c * 1e5 + m * 60,
                    "conversationId": f"conv{c}",
                    "conversationWithName": f"Friend {c}",
                    "senderName": "Me" if outgoing else f"Friend {c}",
                    "outgoing": outgoing,
                    "text": f"{CORPUS[(m + c) % len(CORPUS)]} ({c}.{m})",
                    "language": "en",
                    "platform": "telegram",
                }
            )
    return records


@pytest.fixture
def chatistics_file(tmp_path) -> Path:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(chatistics_records()))
    return path


def copy_run(run: Path, runs_dir: Path, name: str | None = None) -> Path:
    """A private copy of the run folder `run` as `runs_dir/name` (its own name by default)."""
    return Path(shutil.copytree(run, runs_dir / (name or run.name)))


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory, tiny_model) -> Path:
    """A finished full-weights tiny-llama run, trained once per session by `chatclone train` with
    the default --report: 4 conversations (3 trained on, 1 held out), each with a phone number in
    a persona turn, left unredacted; 20 steps at a high learning rate, so it beats its base model.
    It holds eval.json, report.html, best.json, checkpoints and TensorBoard files. Read it only:
    tests that write into a run take `run_copy` (or `copy_run`)."""
    from chatclone import cli

    root = tmp_path_factory.mktemp("finished-run")
    data = root / "export.json"
    records = chatistics_records(n_convs=4)
    for c in range(4):  # a private-looking string in a persona turn of each conversation
        records[c * 12 + 3]["text"] = f"call me on +1 415 555 26{c}1"
    data.write_text(json.dumps(records))
    assert (
        cli.main(
            [
                "train",
                "--data",
                str(data),
                "--model",
                str(tiny_model),
                "--runs-dir",
                str(root / "runs"),
                "--run-name",
                "r",
                "--batch-size",
                "4",
                "--block-size",
                "64",
                "--max-steps",
                "20",
                "--val-every",
                "10",
                "--lr",
                "3e-2",
                "--min-messages",
                "2",
                "--no-redact",
                "--device",
                "cpu",
                "--no-cache",
            ]
        )
        == 0
    )
    return root / "runs" / "r"


@pytest.fixture
def run_copy(finished_run, tmp_path) -> Path:
    """A private copy of `finished_run` under tmp_path/runs, free to change."""
    return copy_run(finished_run, tmp_path / "runs")


@pytest.fixture(scope="session")
def short_run(tmp_path_factory, tiny_model) -> Path:
    """A finished full-weights tiny-llama run named run1 that stays close to its base model: 2
    steps at the default learning rate on `chatistics_records()` (3 conversations), no report or
    TensorBoard files. Read it only; copy it (`copy_run`) to change it or to rename it."""
    from chatclone.config import TrainConfig
    from chatclone.training.loop import train

    root = tmp_path_factory.mktemp("short-run")
    data = root / "export.json"
    data.write_text(json.dumps(chatistics_records()))
    return train(
        TrainConfig(
            data=str(data),
            model=str(tiny_model),
            runs_dir=str(root / "runs"),
            max_steps=2,
            block_size=64,
            device="cpu",
            cache=False,
            report=False,
            tensorboard=False,
        )
    )


# A tiny CPU run: short examples, no tokenised-data cache, no report, no TensorBoard files.
TINY = dict(
    block_size=64,
    lr=1e-3,
    min_messages=2,
    device="cpu",
    cache=False,
    report=False,
    tensorboard=False,
)
# The recipe of `uninterrupted_gpt2_run`, which the resume tests interrupt and compare with.
RESUME_RECIPE = dict(batch_size=1, grad_accum=2, max_steps=6, save_every=2)


def tiny_options(runs_dir, data, model, run_name: str = "r", **kw) -> TrainConfig:
    """The options of a tiny training run in `runs_dir` (`TINY`, with `kw` on top)."""
    from chatclone.config import TrainConfig

    return TrainConfig(
        **{
            "data": str(data),
            "model": str(model),
            "runs_dir": str(runs_dir),
            "run_name": run_name,
            **TINY,
            **kw,
        }
    )


@pytest.fixture(scope="session")
def uninterrupted_gpt2_run(tmp_path_factory, tiny_gpt2) -> Path:
    """The reference of the resume tests: the tiny GPT-2 model (dropout on) trained 6 steps of
    1 example x 2 accumulated, a checkpoint every 2, on `chatistics_records()`, never interrupted.
    Read it only; `same_training` tells whether a test's options match it."""
    from chatclone.training.loop import train

    root = tmp_path_factory.mktemp("uninterrupted-gpt2-run")
    data = root / "export.json"
    data.write_text(json.dumps(chatistics_records()))
    return train(tiny_options(root / "runs", data, tiny_gpt2, "full", **RESUME_RECIPE))


def same_training(run_dir: Path, cfg: TrainConfig) -> bool:
    """Whether the run in `run_dir` was trained with the options `cfg` gives, on an export of the
    same content; the run's name, its folder and the export's path aside."""
    from chatclone.rundir import RunDir

    saved = RunDir(run_dir).read_config()
    aside = {"run_name", "runs_dir", "data", "resume"}
    if cfg.prompt_style == "auto":  # a run saves the style `auto` resolved to
        aside.add("prompt_style")
    return {k: v for k, v in saved.to_dict().items() if k not in aside} == {
        k: v for k, v in cfg.to_dict().items() if k not in aside
    } and Path(saved.data).read_bytes() == Path(cfg.data).read_bytes()


@pytest.fixture(scope="session")
def finished_gpt2_run(tmp_path_factory, tiny_gpt2) -> Path:
    """A finished one-step run named run1 of the tiny GPT-2 model, whose tokenizer has no pad
    token and whose architecture is not Llama. Read it only; copy it (`copy_run`) to change it."""
    from chatclone.config import TrainConfig
    from chatclone.training.loop import train

    root = tmp_path_factory.mktemp("finished-gpt2-run")
    data = root / "export.json"
    data.write_text(json.dumps(chatistics_records()))
    return train(
        TrainConfig(
            data=str(data),
            model=str(tiny_gpt2),
            runs_dir=str(root / "runs"),
            max_steps=1,
            device="cpu",
            cache=False,
            report=False,
            tensorboard=False,
        )
    )


class Killed(Exception):
    """What a test's `on_step` raises to stop a training run as a kill would."""


def kill_at(step_to_kill: int):
    """An `on_step` callback that stops training once `step_to_kill` is done."""

    def on_step(step: int) -> None:
        if step == step_to_kill:
            raise Killed

    return on_step


def weights(run_dir):
    """The state dict of the model saved in `run_dir`."""
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(run_dir).state_dict()
