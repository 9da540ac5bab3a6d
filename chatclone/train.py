"""Fine-tune a causal LM on dialogues, on `accelerate` (CPU, one GPU, or many processes).

The loop is written out (nanoGPT-style) so every step is visible: micro-batches of similar
length, token-weighted gradient accumulation (the loss of a step is the mean over all its
label tokens, exactly as if it were one big batch), clipping, AdamW, linear warm-up/decay,
atomic checkpoints, and a resume that restores model, optimizer, scheduler, RNG and the
position in the data.
"""

from __future__ import annotations

import json
import math
from contextlib import nullcontext
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from chatclone import checkpoint
from chatclone.config import TrainConfig
from chatclone.dataset import (
    Example, collate, length_grouped_batches, load_examples, step_groups, steps_per_epoch,
)
from chatclone.dialogue import FORMAT, Dialogue, SelectionOptions, select_dialogues
from chatclone.errors import ChatcloneError
from chatclone.importers import load_data

CONFIG_FILE = "chatclone.json"


def load_dialogues(cfg: TrainConfig) -> tuple[list[Dialogue], dict]:
    result = load_data(cfg.data, cfg.format)
    opts = SelectionOptions(
        min_messages=cfg.effective_min_messages, two_senders_only=cfg.two_senders_only,
        merge_consecutive=cfg.merge_consecutive, persona=cfg.persona,
    )
    dialogues, stats = select_dialogues(result.conversations, opts)
    skipped = sum(sum(r.skipped.values()) for r in result.reports)
    return dialogues, {"messages_read": sum(r.read for r in result.reports),
                       "messages_skipped_on_import": skipped, **stats.to_dict()}


def make_accelerator(cfg: TrainConfig):
    import torch
    from accelerate import Accelerator

    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ChatcloneError("--device cuda was asked for but no CUDA GPU is visible; use --device auto")
    precision = cfg.mixed_precision
    if precision == "auto":
        gpu = torch.cuda.is_available() and cfg.device in ("auto", "cuda")
        precision = "bf16" if gpu and torch.cuda.is_bf16_supported() else "no"
    return Accelerator(cpu=cfg.device == "cpu", mixed_precision=precision)


def param_groups(model, weight_decay: float) -> list[dict]:
    """No weight decay on biases and normalisation weights (all 1-D parameters)."""
    decay, no_decay = [], []
    for _, p in model.named_parameters():
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def label_tokens(example: Example, persona_only: bool = False) -> int:
    """Positions that carry a loss: every token after the first (or only persona tokens)."""
    return sum(example.persona[1:]) if persona_only else len(example.input_ids) - 1


def check_run_dir(cfg: TrainConfig, accelerator) -> Path | None:
    """The checkpoint to resume from, after refusing to overwrite or mismatch an existing run."""
    run_dir = cfg.run_dir
    saved = run_dir / CONFIG_FILE
    if not cfg.resume:
        if saved.exists():
            raise ChatcloneError(
                f"run {cfg.run_name!r} already exists in {cfg.runs_dir}; pass --resume to continue "
                "it, or choose another --run-name"
            )
        return None
    latest = checkpoint.latest_checkpoint(run_dir)
    if latest is None:
        raise ChatcloneError(f"run {cfg.run_name!r} has no checkpoint to resume from in "
                             f"{checkpoint.checkpoints_dir(run_dir)}; train without --resume")
    checkpoint.check_complete(latest)
    if saved.exists():
        old = TrainConfig.load(saved)
        for name in ("data", "model", "block_size", "batch_size", "grad_accum", "seed"):
            if getattr(old, name) != getattr(cfg, name):
                raise ChatcloneError(
                    f"run {cfg.run_name!r} was trained with --{name.replace('_', '-')} "
                    f"{getattr(old, name)}; resume with the same value (got {getattr(cfg, name)})"
                )
    return latest


def train(cfg: TrainConfig, on_step: Callable[[int], None] | None = None) -> Path:
    """Train and save the final model into the run folder; returns that folder."""
    import torch
    import torch.nn.functional as F
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    from chatclone.models import cache_dir, load_base
    from chatclone.quiet import quiet_libraries

    quiet_libraries()

    accelerator = make_accelerator(cfg)
    resume_from = check_run_dir(cfg, accelerator)
    run_dir = cfg.run_dir
    set_seed(cfg.seed)
    dialogues, selection = load_dialogues(cfg)
    model, tokenizer = load_base(cfg.model, FORMAT)
    examples, dstats, data_key = load_examples(
        dialogues, tokenizer, FORMAT, cfg.block_size,
        cache_dir() / "datasets" if cfg.cache else None,
    )
    world, rank = accelerator.num_processes, accelerator.process_index
    per_step = cfg.grad_accum * world
    epoch_steps = steps_per_epoch(len(examples), cfg.batch_size, per_step)
    total_steps = cfg.max_steps or max(1, math.ceil(cfg.epochs * epoch_steps))

    optimizer = torch.optim.AdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, round(cfg.warmup_ratio * total_steps), total_steps)
    model, optimizer = accelerator.prepare(model, optimizer)
    accelerator.register_for_checkpointing(scheduler)

    state = {"step": 0, "epoch": 0, "step_in_epoch": 0, "tokens": 0, "data_key": data_key}
    if resume_from is not None:
        saved = checkpoint.read_state(resume_from)
        if saved["data_key"] != data_key:
            raise ChatcloneError(f"the data of run {cfg.run_name!r} changed since {resume_from.name}; "
                                 "resume with the same data, or train a new run")
        accelerator.load_state(str(resume_from))
        state.update(saved)
    if accelerator.is_main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
        cfg.save(run_dir / CONFIG_FILE)
        (run_dir / "dataset.json").write_text(json.dumps(
            {"selection": selection, "tokens": asdict(dstats)}, indent=2) + "\n")
        accelerator.print(
            f"{len(dialogues)} dialogues -> {dstats.examples} examples, {dstats.tokens} tokens; "
            f"{total_steps} steps of {cfg.batch_size} x {cfg.grad_accum} accumulation x {world} "
            f"process(es) = {cfg.batch_size * per_step} examples per step on {accelerator.device}"
        )

    lengths = [len(e.input_ids) for e in examples]
    model.train()
    bar = tqdm(total=total_steps, initial=state["step"], desc="train", unit="step",
               disable=not accelerator.is_local_main_process, dynamic_ncols=True)
    log = open(run_dir / "metrics.jsonl", "a") if accelerator.is_main_process else None
    while state["step"] < total_steps:
        batches = length_grouped_batches(lengths, cfg.batch_size, cfg.seed + state["epoch"])
        groups = step_groups(batches, per_step)
        for group in groups[state["step_in_epoch"]:]:
            started = time.perf_counter()
            total = sum(label_tokens(examples[i]) for b in group for i in b)
            local = group[rank::world]
            n_local = math.ceil(len(group) / world)
            # Processes short of a micro-batch in the last step run a zero-weight one, so
            # every process takes part in the same number of gradient synchronisations.
            local = [(b, 1.0) for b in local] + [(group[0], 0.0)] * (n_local - len(local))
            loss_sum = torch.zeros((), device=accelerator.device)
            tokens = 0
            for j, (batch_idx, weight) in enumerate(local):
                batch = collate([examples[i] for i in batch_idx], tokenizer.pad_token_id)
                batch = {k: v.to(accelerator.device) for k, v in batch.items()}
                sync = j == len(local) - 1
                with (accelerator.no_sync(model) if not sync else nullcontext()):
                    logits = model(input_ids=batch["input_ids"],
                                   attention_mask=batch["attention_mask"]).logits
                    lsum = F.cross_entropy(logits[:, :-1].flatten(0, 1).float(),
                                           batch["labels"][:, 1:].flatten(), reduction="sum")
                    # DDP averages gradients over processes: scale by `world` to get the sum.
                    accelerator.backward(lsum * (weight * world / total))
                loss_sum += lsum.detach() * weight
                tokens += int(batch["attention_mask"].sum()) if weight else 0
            accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            state["step"] += 1
            state["step_in_epoch"] += 1
            loss = accelerator.reduce(loss_sum, reduction="sum").item() / total
            tokens = int(accelerator.reduce(torch.tensor(tokens, device=accelerator.device),
                                            reduction="sum"))
            state["tokens"] += tokens
            rate = tokens / (time.perf_counter() - started)
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{rate:.0f}")
            if log:
                log.write(json.dumps({"step": state["step"], "loss": loss, "tokens_per_s": rate,
                                      "lr": scheduler.get_last_lr()[0]}) + "\n")
                log.flush()
            if state["step"] % cfg.save_every == 0 or state["step"] == total_steps:
                checkpoint.save(accelerator, run_dir, state["step"], state, cfg.keep_checkpoints)
            if on_step:
                on_step(state["step"])
            if state["step"] >= total_steps:
                break
        else:
            state["epoch"] += 1
            state["step_in_epoch"] = 0
    bar.close()
    if log:
        log.close()
    _save_final(accelerator, model, tokenizer, run_dir)
    return run_dir


def _save_final(accelerator, model, tokenizer, run_dir: Path) -> None:
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        accelerator.unwrap_model(model).save_pretrained(run_dir, safe_serialization=True)
        tokenizer.save_pretrained(run_dir)
        accelerator.print(f"Saved the model to {run_dir} (chat with: chatclone chat "
                          f"--run-name {run_dir.name} --runs-dir {run_dir.parent})")
