"""Fine-tune a causal LM on dialogues, on `accelerate` (CPU, one GPU, or many processes).

The loop is written out (nanoGPT-style) so every step is visible: micro-batches of similar
length, token-weighted gradient accumulation (the loss of a step is the mean over all its
label tokens, exactly as if it were one big batch), clipping, AdamW, linear warm-up/decay,
atomic checkpoints, and a resume that restores model, optimizer, scheduler, RNG and the
position in the data. Whole conversations are held out for a validation loss every
`--val-every` steps; the weights with the lowest one are kept (`best.json` says which step).
With `--train-on persona` (the default) only the persona's turns carry a loss; with `--lora`
only an adapter is trained.
"""

from __future__ import annotations

import math
import shutil
import time
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from chatclone import rundir
from chatclone.config import TrainConfig
from chatclone.errors import ChatcloneError
from chatclone.rundir import RunDir
from chatclone.speaker_format import FORMAT, Dialogue
from chatclone.training import checkpoint
from chatclone.training.best import restore_best, save_best
from chatclone.training.dataset import (
    Example, collate, length_grouped_batches, load_examples, step_groups, steps_per_epoch,
)
from chatclone.training.heldout import BestTracker, split_dialogues, validation_loss
from chatclone.training.log import RunLog


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
    cpu = cfg.device == "cpu" or (cfg.device == "auto" and not torch.cuda.is_available() and not mps)
    return Accelerator(cpu=cpu, mixed_precision=precision)


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


# Options a resumed run must keep: they decide the data, the model and the data order.
FIXED_ON_RESUME = ("data", "model", "block_size", "batch_size", "grad_accum", "seed",
                   "val_fraction", "train_on", "lora")


def check_run_dir(cfg: TrainConfig) -> Path | None:
    """The checkpoint to resume from, after refusing to overwrite or mismatch an existing run."""
    run = RunDir.of(cfg)
    if not cfg.resume:
        if run.is_run():
            raise ChatcloneError(
                f"run {cfg.run_name!r} already exists in {cfg.runs_dir}; pass --resume to continue "
                "it, or choose another --run-name"
            )
        return None
    latest = checkpoint.latest_checkpoint(run.path)
    if latest is None:
        raise ChatcloneError(f"run {cfg.run_name!r} has no checkpoint to resume from in "
                             f"{run / rundir.CHECKPOINTS}; train without --resume")
    checkpoint.check_complete(latest)
    if run.is_run():
        old = run.read_config()
        for name in FIXED_ON_RESUME:
            if getattr(old, name) != getattr(cfg, name):
                raise ChatcloneError(
                    f"run {cfg.run_name!r} was trained with --{name.replace('_', '-')} "
                    f"{getattr(old, name)}; resume with the same value (got {getattr(cfg, name)})"
                )
    return latest


def prepare_data(cfg: TrainConfig, tokenizer, loaded: tuple[list[Dialogue], dict] | None = None):
    """Training and validation examples, and what `dataset.json` records about them."""
    from chatclone.training.models import cache_dir

    dialogues, selection = loaded or load_dialogues(cfg)
    train_dialogues, val_dialogues = split_dialogues(dialogues, cfg.val_fraction, cfg.seed)
    cache = cache_dir() / "datasets" if cfg.cache else None
    examples, dstats, data_key = load_examples(train_dialogues, tokenizer, FORMAT,
                                               cfg.block_size, cache)
    val_examples, vstats, _ = load_examples(val_dialogues, tokenizer, FORMAT, cfg.block_size,
                                            cache) if val_dialogues else ([], None, "")
    info = {"selection": selection, "tokens": asdict(dstats),
            "validation_tokens": asdict(vstats) if vstats else None,
            "split": {"train": len(train_dialogues), "validation": len(val_dialogues),
                      "fraction": cfg.val_fraction, "seed": cfg.seed,
                      "validation_ids": [d.id for d in val_dialogues]}}
    return examples, val_examples, data_key, info, (train_dialogues, val_dialogues)


def train(cfg: TrainConfig, on_step: Callable[[int], None] | None = None) -> Path:
    """Train and save the final model into the run folder; returns that folder."""
    import torch
    import torch.nn.functional as F
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    from chatclone.training.models import load_base
    from chatclone.quiet import quiet_libraries

    quiet_libraries()

    accelerator = make_accelerator(cfg)
    resume_from = check_run_dir(cfg)
    run = RunDir.of(cfg)
    run_dir = run.path
    set_seed(cfg.seed)
    loaded = load_dialogues(cfg)  # bad data fails before the model is loaded
    model, tokenizer = load_base(cfg.model, FORMAT)
    examples, val_examples, data_key, info, split = prepare_data(cfg, tokenizer, loaded)
    if cfg.lora:
        from chatclone.training import lora

        model = lora.wrap(model, tokenizer, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout,
                          cfg.lora_target or None)
    persona_only = cfg.train_on == "persona"
    world, rank = accelerator.num_processes, accelerator.process_index
    per_step = cfg.grad_accum * world
    epoch_steps = steps_per_epoch(len(examples), cfg.batch_size, per_step)
    total_steps = cfg.max_steps or max(1, math.ceil(cfg.epochs * epoch_steps))

    optimizer = torch.optim.AdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, round(cfg.warmup_ratio * total_steps), total_steps)
    model, optimizer = accelerator.prepare(model, optimizer)
    accelerator.register_for_checkpointing(scheduler)

    state = {"step": 0, "epoch": 0, "step_in_epoch": 0, "tokens": 0, "data_key": data_key,
             "processes": world}
    if resume_from is not None:
        saved = checkpoint.read_state(resume_from)
        if saved["data_key"] != data_key:
            raise ChatcloneError(
                f"the data of run {cfg.run_name!r} changed since {resume_from.name}: {cfg.data} "
                "no longer gives the dialogues the run was trained on (their content hash "
                "differs). Restore that export, or train a new run on the new data with "
                "--run-name NEW")
        if saved.get("processes", 1) != world:
            # The data position counts steps of batch x accumulation x processes.
            raise ChatcloneError(f"run {cfg.run_name!r} was trained with {saved.get('processes', 1)} "
                                 f"process(es); resume it with the same number (got {world})")
        accelerator.load_state(str(resume_from))
        state.update(saved)
    best = BestTracker(state, cfg.early_stopping)
    if accelerator.is_main_process:
        run.write_config(cfg)
        run.write_json(rundir.DATASET, info)
        run.write_dialogues(*split)
        accelerator.print(describe(cfg, info, total_steps, world, accelerator.device, model))

    lengths = [len(e.input_ids) for e in examples]
    model.train()
    bar = tqdm(total=total_steps, initial=state["step"], desc="train", unit="step",
               disable=not accelerator.is_local_main_process, dynamic_ncols=True)
    log = RunLog(run_dir, accelerator.is_main_process, cfg.tensorboard)
    stop, last_val = False, None
    while state["step"] < total_steps and not stop:
        batches = length_grouped_batches(lengths, cfg.batch_size, cfg.seed + state["epoch"])
        groups = step_groups(batches, per_step)
        for group in groups[state["step_in_epoch"]:]:
            started = time.perf_counter()
            # A step whose batches hold no persona token has nothing to learn: max(.., 1).
            total = max(1, sum(label_tokens(examples[i], persona_only) for b in group for i in b))
            local = group[rank::world]
            n_local = math.ceil(len(group) / world)
            # Processes short of a micro-batch in the last step run a zero-weight one, so
            # every process takes part in the same number of gradient synchronisations.
            local = [(b, 1.0) for b in local] + [(group[0], 0.0)] * (n_local - len(local))
            loss_sum = torch.zeros((), device=accelerator.device)
            tokens = 0
            for j, (batch_idx, weight) in enumerate(local):
                batch = collate([examples[i] for i in batch_idx], tokenizer.pad_token_id,
                                mask_other=persona_only)
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
            step = state["step"]
            val = None
            if val_examples and (step % cfg.val_every == 0 or step == total_steps):
                val = validation_loss(accelerator, model, val_examples, tokenizer.pad_token_id,
                                      persona_only, cfg.batch_size)
                if best.update(step, val) and step < total_steps:
                    save_best(accelerator, model, tokenizer, run, step, val)
                stop = best.should_stop
            log.train_step(step, loss, scheduler.get_last_lr()[0], rate, val)
            last_val = val if val is not None else last_val
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", val="?" if last_val is None else f"{last_val:.3f}",
                            tok_s=f"{rate:.0f}")
            if step % cfg.save_every == 0 or step == total_steps or stop:
                checkpoint.save(accelerator, run_dir, step, state, cfg.keep_checkpoints)
            if on_step:
                on_step(step)
            if step >= total_steps or stop:
                break
        else:
            state["epoch"] += 1
            state["step_in_epoch"] = 0
    bar.close()
    log.close()
    if stop:
        accelerator.print(f"Early stopping at step {state['step']}: no better validation loss "
                          f"in the last {cfg.early_stopping} validations.")
    _save_final(accelerator, model, tokenizer, cfg, state)
    return run_dir


def describe(cfg: TrainConfig, info: dict, total_steps: int, world: int, device, model) -> str:
    tokens, split = info["tokens"], info["split"]
    lines = [
        f"{split['train']} dialogues -> {tokens['examples']} examples, {tokens['tokens']} tokens "
        f"({split['validation']} more held out for validation); {total_steps} steps of "
        f"{cfg.batch_size} x {cfg.grad_accum} accumulation x {world} process(es) = "
        f"{cfg.batch_size * cfg.grad_accum * world} examples per step on {device}; "
        f"loss on {'the persona turns only' if cfg.train_on == 'persona' else 'every turn'}"
    ]
    if cfg.lora:
        from chatclone.training.lora import trainable_parameters

        trainable, total = trainable_parameters(model)
        lines.append(f"LoRA: {trainable:,} of {total:,} parameters trainable "
                     f"({100 * trainable / total:.2f}%)")
    return "\n".join(lines)


def _save_final(accelerator, model, tokenizer, cfg: TrainConfig, state: dict) -> None:
    """The run folder's model: the best validation weights (`--final-model best`) or the last."""
    accelerator.wait_for_everyone()
    if not accelerator.is_main_process:
        return
    run = RunDir.of(cfg)
    model = accelerator.unwrap_model(model)
    best_step, final = state.get("best_step"), state["step"]
    if cfg.final_model == "best" and best_step not in (None, final):
        if restore_best(model, run, best_step):
            final = best_step
        else:
            accelerator.print(f"The best weights (step {best_step}) were not found in "
                              f"{run / rundir.BEST_DIR}; keeping the last step's.")
    if best_step is not None:
        run.write_json(rundir.BEST, {"best_step": best_step, "best_val_loss": state["best_loss"],
                                     "last_step": state["step"], "saved_step": final})
    from chatclone.training.lora import for_saving, save

    save(for_saving(model, merge=cfg.merge_lora), run.path)
    tokenizer.save_pretrained(run.path)
    if final == best_step:
        shutil.rmtree(run / rundir.BEST_DIR, ignore_errors=True)  # the run folder holds it now
    accelerator.print(f"Saved the model of step {final} to {run.path} (chat with: chatclone chat "
                      f"--run-name {run.name} --runs-dir {run.path.parent})")
