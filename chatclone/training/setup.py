"""Everything a training run needs before its first step: the accelerator, the checks on the
run folder (a new run, a replaced one, or a resume that keeps what it must), the data as token
examples and the optimizer's parameter groups. The plan printed at the start is in `plan.py`."""

from __future__ import annotations

import math
import operator
import sys
from dataclasses import asdict
from pathlib import Path

from chatclone import rundir
from chatclone.config import TrainConfig
from chatclone.errors import ChatcloneError
from chatclone.prompt_style import run_format
from chatclone.rundir import RunDir, hint
from chatclone.speaker_format import Dialogue
from chatclone.training import checkpoint
from chatclone.training.dataset import load_examples
from chatclone.training.heldout import split_dialogues
from chatclone.training.private import forget_private_record, same_data


def load_dialogues(cfg: TrainConfig) -> tuple[list[Dialogue], dict]:
    """Import, filter, decide who is who, redact, split into sessions, select (data.prepare)."""
    from chatclone.data.prepare import prepare_dialogues

    return prepare_dialogues(cfg)


def make_accelerator(cfg: TrainConfig):
    import torch
    from accelerate import Accelerator

    if cfg.device in ("cuda", "mps"):
        from chatclone.training.models import pick_device

        pick_device(cfg.device)  # fails clearly when that device is not there
    precision = cfg.mixed_precision
    if precision == "auto":
        gpu = torch.cuda.is_available() and cfg.device in ("auto", "cuda")
        precision = "bf16" if gpu and torch.cuda.is_bf16_supported() else "no"
    # accelerate treats torchrun/`accelerate launch` processes as a CPU (gloo) group only when
    # told `cpu=True`; without it, a machine with no GPU runs N independent single-process jobs.
    mps = getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    cpu = cfg.device == "cpu" or (
        cfg.device == "auto" and not torch.cuda.is_available() and not mps
    )
    return Accelerator(cpu=cpu, mixed_precision=precision)


def param_groups(model, weight_decay: float) -> list[dict]:
    """No weight decay on biases and normalisation weights (all 1-D parameters)."""
    decay, no_decay = [], []
    for _, p in model.named_parameters():
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


# Options a resumed run must keep: they decide the data, the model and the data order.
FIXED_ON_RESUME = (
    "data",
    "model",
    "block_size",
    "batch_size",
    "grad_accum",
    "seed",
    "val_fraction",
    "train_on",
    "lora",
    "prompt_style",
    "system_prompt",
)


def run_style(cfg: TrainConfig) -> str | None:
    """The prompt style a run to resume was trained in (None: no run yet). A run from before
    prompt styles trained with speaker tags."""
    run = RunDir.of(cfg)
    if not run.is_run():
        return None
    style = run.read_config(real=False).prompt_style
    return "tags" if style == "auto" else style


def check_run_dir(cfg: TrainConfig) -> Path | None:
    """The checkpoint to resume from, after refusing to overwrite or mismatch an existing run.
    With `--overwrite`, an existing run is deleted later, once the data and the model loaded
    (`clear_old_run`), and a folder that is not a run is refused here. A run stopped before its
    first checkpoint has nothing to keep: `--resume` starts it again from step 0."""
    run = RunDir.of(cfg)
    where = ("--run-name", cfg.run_name, "--runs-dir", cfg.runs_dir)
    if not cfg.resume:
        if cfg.overwrite:
            run.delete(check_only=True)  # refuses a folder that is not a run, by name
        elif run.is_run() and not run.has_model() and not checkpoint.steps_newest_first(run.path):
            raise ChatcloneError(
                f"run {cfg.run_name!r} in {cfg.runs_dir} was stopped before its first checkpoint. "
                f"Start it again from step 0 with: {hint('chatclone', 'train', *where, '--resume')}"
                " (or pass --overwrite to replace it, or choose another --run-name)"
            )
        elif run.is_run():
            raise ChatcloneError(
                f"run {cfg.run_name!r} already exists in {cfg.runs_dir}; pass --resume to continue "
                "it, --overwrite to replace it, or choose another --run-name"
            )
        return None
    latest = checkpoint.resume_point(run.path, cfg.run_name)
    if latest is None and not run.is_run():
        raise ChatcloneError(
            f"run {cfg.run_name!r} has no checkpoint to resume from in "
            f"{run / rundir.CHECKPOINTS}; train without --resume"
        )
    if latest is None and run.has_model():
        raise ChatcloneError(
            f"run {cfg.run_name!r} is finished and its checkpoints were deleted, so it cannot be "
            "continued. Train a new run with --run-name NEW (or replace it with --overwrite)"
        )
    if run.is_run():
        old = run.read_config()
        for name in FIXED_ON_RESUME:
            same = same_data if name == "data" else operator.eq
            if name == "prompt_style" and cfg.prompt_style == "auto":
                continue  # not chosen: the run goes on in its own style
            if not same(getattr(old, name), getattr(cfg, name)):
                raise ChatcloneError(
                    f"run {cfg.run_name!r} was trained with --{name.replace('_', '-')} "
                    f"{getattr(old, name)}; resume with the same value (got {getattr(cfg, name)})"
                )
    if latest is None:
        print(
            f"Run {cfg.run_name!r} has no checkpoint yet (it was stopped before its first one): "
            "starting it again from step 0.",
            file=sys.stderr,
            flush=True,
        )
    return latest


def clear_old_run(cfg: TrainConfig) -> str | None:
    """`--overwrite`: remove the run of this name before the new one writes its first file;
    what to tell the user."""
    run = RunDir.of(cfg)
    if cfg.overwrite and not cfg.resume and run.is_run():
        forget_private_record(run)  # the new run gets its own
    if cfg.overwrite and not cfg.resume and run.delete():
        return f"Replaced run {run.name!r} (--overwrite): its old folder {run.path} was deleted."
    return None


def prepare_data(cfg: TrainConfig, tokenizer, loaded: tuple[list[Dialogue], dict] | None = None):
    """Training and validation examples, and what `dataset.json` records about them."""
    from chatclone.training.models import cache_dir

    dialogues, selection = loaded or load_dialogues(cfg)
    train_dialogues, val_dialogues = split_dialogues(dialogues, cfg.val_fraction, cfg.seed)
    cache = cache_dir() / "datasets" if cfg.cache else None
    fmt = run_format(tokenizer, cfg.prompt_style, cfg.system_prompt)
    examples, dstats, data_key = load_examples(
        train_dialogues, tokenizer, fmt, cfg.block_size, cache
    )
    val_examples, vstats, val_key = (
        load_examples(val_dialogues, tokenizer, fmt, cfg.block_size, cache)
        if val_dialogues
        else ([], None, "")
    )
    info = {
        "cache_keys": [data_key, val_key] if val_key else [data_key],  # `chatclone delete`
        "selection": selection,
        "tokens": asdict(dstats),
        "validation_tokens": asdict(vstats) if vstats else None,
        "split": {
            "train": len(train_dialogues),
            "validation": len(val_dialogues),
            "fraction": cfg.val_fraction,
            "seed": cfg.seed,
            "validation_ids": [d.id for d in val_dialogues],
        },
    }
    return examples, val_examples, data_key, info, (train_dialogues, val_dialogues)


class LinearSchedule:
    """Linear warm-up over `warmup_ratio` of the steps, then linear decay to 0 at `total`
    (transformers' `get_linear_schedule_with_warmup`, step for step). `total` may be set once
    the first step has been timed (`--minutes` alone); it is saved with the scheduler's state,
    so a resumed run keeps it."""

    def __init__(self, warmup_ratio: float, total: int) -> None:
        self.warmup_ratio, self.total = warmup_ratio, total

    def __call__(self, step: int) -> float:
        warmup = round(self.warmup_ratio * self.total)
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (self.total - step) / max(1, self.total - warmup))


def planned_steps(cfg: TrainConfig, epoch_steps: int) -> tuple[int, bool]:
    """(total optimizer steps, whether the time budget decides it after the first step)."""
    if cfg.max_steps:
        return cfg.max_steps, False
    by_budget = cfg.minutes is not None and cfg.epochs is None
    epochs = cfg.epochs if cfg.epochs is not None else 1.0
    return max(1, math.ceil(epochs * epoch_steps)), by_budget


def check_resumable(cfg: TrainConfig, saved: dict, data_key: str, world: int, step_name: str):
    """Refuse to resume on other data or another number of processes, with the fix."""
    if saved["data_key"] != data_key:
        raise ChatcloneError(
            f"the data of run {cfg.run_name!r} changed since {step_name}: {cfg.data} "
            "no longer gives the dialogues the run was trained on (their content hash "
            "differs). Restore that export, or train a new run on the new data with "
            "--run-name NEW"
        )
    if saved.get("processes", 1) != world:
        # The data position counts steps of batch x accumulation x processes.
        raise ChatcloneError(
            f"run {cfg.run_name!r} was trained with {saved.get('processes', 1)} "
            f"process(es); resume it with the same number (got {world})"
        )
