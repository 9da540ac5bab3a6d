"""Fine-tune a causal LM on dialogues, on `accelerate` (CPU, one GPU, or many processes).

The loop is written out (nanoGPT-style) so every step is visible: micro-batches of similar
length, token-weighted gradient accumulation (the loss of a step is the mean over all its
label tokens, exactly as if it were one big batch), clipping, AdamW, linear warm-up/decay,
atomic checkpoints, and a resume that restores model, optimizer, scheduler, RNG and the
position in the data. Whole conversations are held out for a validation loss every
`--val-every` steps; the weights with the lowest one are kept (`best.json` says which step).
With `--train-on persona` (the default) only the persona's turns carry a loss; with `--lora`
only an adapter is trained. The plan is printed before the first step (`plan.py`); `--minutes`
ends the run when the next step would pass the budget; Ctrl-C saves the model and a checkpoint
(`finish.py`).
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Callable

from chatclone import rundir
from chatclone.config import TrainConfig
from chatclone.prompt_style import tag_format
from chatclone.rundir import RunDir
from chatclone.training import checkpoint, guard, plan
from chatclone.training.best import save_best
from chatclone.training.dataset import (
    Example,
    length_grouped_batches,
    step_groups,
    steps_per_epoch,
)
from chatclone.training.finish import deferred_interrupt, interrupted, random_states, save_final
from chatclone.training.heldout import BestTracker, validation_loss
from chatclone.training.log import Heartbeat, RunLog
from chatclone.training.optim import adamw
from chatclone.training.packing import MicroBatches, collate
from chatclone.training.private import write_run_config
from chatclone.training.setup import (
    LinearSchedule,
    check_resumable,
    check_run_dir,
    clear_old_run,
    load_dialogues,
    make_accelerator,
    param_groups,
    planned_steps,
    prepare_data,
    run_style,
)

__all__ = ["train", "load_dialogues", "label_tokens"]


def label_tokens(example: Example, persona_only: bool = False) -> int:
    """Positions that carry a loss: every token after the first (or only persona tokens)."""
    return sum(example.persona[1:]) if persona_only else len(example.input_ids) - 1


def _accumulate(
    accelerator, model, examples: list[Example], group: list[list[int]], micro: MicroBatches
):
    """Forward and backward over the micro-batches of one optimizer step (this process's share),
    packed or padded as `micro` (`packing.MicroBatches`) decided, weighted so the gradient is that of the mean loss over all the step's label tokens.
    Returns (summed loss here, tokens seen here, label tokens of the whole step)."""
    import torch

    world, rank = accelerator.num_processes, accelerator.process_index
    # A step whose batches hold no persona token has nothing to learn: max(.., 1).
    total = max(1, sum(label_tokens(examples[i], micro.persona_only) for b in group for i in b))
    local = group[rank::world]
    n_local = math.ceil(len(group) / world)
    # Processes short of a micro-batch in the last step run a zero-weight one, so
    # every process takes part in the same number of gradient synchronisations.
    local = [(b, 1.0) for b in local] + [(group[0], 0.0)] * (n_local - len(local))
    loss_sum = torch.zeros((), device=accelerator.device)
    tokens = 0
    for j, (batch_idx, weight) in enumerate(local):
        sync = j == len(local) - 1
        with accelerator.no_sync(model) if not sync else nullcontext():
            batch = collate([examples[i] for i in batch_idx], micro)
            lsum = micro.loss(model, batch, accelerator.device)
            # DDP averages gradients over processes: scale by `world` to get the sum.
            accelerator.backward(lsum * (weight * world / total))
        loss_sum += lsum.detach() * weight
        tokens += batch["tokens"] if weight else 0
    return loss_sum, tokens, total


def train(cfg: TrainConfig, on_step: Callable[[int], None] | None = None) -> Path:
    """Train and save the final model into the run folder; returns that folder. On Ctrl-C, the
    model and a checkpoint are saved first (`finish.interrupted`), then KeyboardInterrupt goes on.
    The run folder is locked meanwhile, and file system faults are one error line (`guard`)."""
    with guard.fs_errors(cfg), guard.run_lock(RunDir.of(cfg)):
        return _train(cfg, on_step)


def _train(cfg: TrainConfig, on_step: Callable[[int], None] | None = None) -> Path:
    import torch
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm

    from chatclone.quiet import quiet_libraries
    from chatclone.training.models import load_base, resolve_prompt_style

    quiet_libraries()

    accelerator = make_accelerator(cfg)
    resume_from = check_run_dir(cfg)
    run = RunDir.of(cfg)
    run_dir = run.path
    set_seed(cfg.seed)
    if cfg.prompt_style == "auto" and cfg.resume:  # the run goes on in its saved style
        cfg = cfg.replace(prompt_style=run_style(cfg) or "auto")
    loaded = load_dialogues(cfg)  # bad data fails before the model is loaded
    if cfg.prompt_style == "auto":  # the run folder saves the style it resolved to
        cfg = cfg.replace(prompt_style=resolve_prompt_style(cfg.model, "auto"))
    model, tokenizer = load_base(cfg.model, tag_format(cfg.prompt_style))
    examples, val_examples, data_key, info, split = prepare_data(cfg, tokenizer, loaded)
    if cfg.lora:
        from chatclone.training import lora

        model = lora.wrap(
            model,
            tokenizer,
            cfg.lora_r,
            cfg.lora_alpha,
            cfg.lora_dropout,
            cfg.lora_target or None,
            tag_format(cfg.prompt_style),
        )
    persona_only = cfg.train_on == "persona"
    world = accelerator.num_processes
    per_step = cfg.grad_accum * world
    epoch_steps = steps_per_epoch(len(examples), cfg.batch_size, per_step)
    total_steps, by_budget = planned_steps(cfg, epoch_steps)
    micro = MicroBatches(model, tokenizer.pad_token_id, persona_only, cfg.block_size)
    optimizer = adamw(param_groups(model, cfg.weight_decay), cfg.lr, accelerator.device)
    schedule = LinearSchedule(cfg.warmup_ratio, total_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    model, optimizer = accelerator.prepare(model, optimizer)
    accelerator.register_for_checkpointing(scheduler)

    state = {
        "step": 0,
        "epoch": 0,
        "step_in_epoch": 0,
        "tokens": 0,
        "data_key": data_key,
        "processes": world,
    }
    if resume_from is not None:
        saved = checkpoint.read_state(resume_from)
        check_resumable(cfg, saved, data_key, world, resume_from.name)
        accelerator.load_state(str(resume_from))  # the schedule's total comes back with it
        state.update(saved)
        if not cfg.max_steps and saved.get("total_steps"):
            total_steps, by_budget = saved["total_steps"], False  # decided when the run began
    schedule.total = state["total_steps"] = total_steps  # a resume's --max-steps goes on top
    best = BestTracker(state, cfg.early_stopping)
    held = len({d.conversation_id for d in split[1]}), len(val_examples)
    if accelerator.is_main_process:
        replaced = clear_old_run(cfg)
        write_run_config(run, cfg, info)
        run.write_json(rundir.DATASET, info)
        run.write_dialogues(*split)
        for line in (
            replaced,
            plan.heldout_warning(cfg, *held),
            plan.describe(cfg, info, total_steps, world, accelerator.device, model),
            plan.plan(cfg, epoch_steps, total_steps, state["step"], *held),
        ):
            if line:
                accelerator.print(line)

    lengths = [len(e.input_ids) for e in examples]
    model.train()
    bar = tqdm(
        total=total_steps,
        initial=state["step"],
        desc="train",
        unit="step",
        disable=not accelerator.is_local_main_process,
        dynamic_ncols=True,
    )
    log = RunLog(run_dir, accelerator.is_main_process, cfg.tensorboard)
    budget = plan.Budget(cfg.minutes)
    stop, last_val, rng = None, None, None  # why the run ends early; random states of a step
    beat = Heartbeat(bar)
    try:
        while state["step"] < total_steps and not stop:
            batches = length_grouped_batches(lengths, cfg.batch_size, cfg.seed + state["epoch"])
            groups = step_groups(batches, per_step)
            for group in groups[state["step_in_epoch"] :]:
                rng = random_states()  # a Ctrl-C before the step ends goes back to them
                started = time.perf_counter()
                loss_sum, tokens, total = _accumulate(accelerator, model, examples, group, micro)
                accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
                loss = accelerator.reduce(loss_sum, reduction="sum").item() / total
                tokens = int(
                    accelerator.reduce(
                        torch.tensor(tokens, device=accelerator.device), reduction="sum"
                    )
                )
                with deferred_interrupt():  # the update and the step count change together
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                    state.update(
                        step=state["step"] + 1,
                        step_in_epoch=state["step_in_epoch"] + 1,
                        tokens=state["tokens"] + tokens,
                    )
                    rng = None
                seconds = time.perf_counter() - started
                rate = tokens / seconds
                step = state["step"]
                budget.step_done()
                out_of_time = _out_of_time(accelerator, budget, cfg) and step < total_steps
                last = step >= total_steps or out_of_time
                val = None
                if val_examples and (step % cfg.val_every == 0 or last):
                    bar.set_postfix_str(f"step {step}: validating", refresh=True)
                    val = validation_loss(
                        accelerator,
                        model,
                        val_examples,
                        tokenizer.pad_token_id,
                        persona_only,
                        cfg.batch_size,
                    )
                    if best.update(step, val) and not last:
                        save_best(accelerator, model, tokenizer, run, step, val)
                    stop = "early" if best.should_stop else None
                stop = stop or ("time" if out_of_time else None)
                log.train_step(step, loss, scheduler.get_last_lr()[0], rate, val)
                last_val = val if val is not None else last_val
                bar.update(1)
                bar.set_postfix(
                    loss=f"{loss:.3f}",
                    val="?" if last_val is None else f"{last_val:.3f}",
                    tok_s=f"{rate:.0f}",
                )
                took = time.perf_counter() - started
                if by_budget and budget.steps == 2:  # warm: the first step paid one-time costs
                    took = float(
                        accelerator.reduce(torch.tensor(took, device=accelerator.device), "mean")
                    )
                    total_steps = plan.steps_in_budget(took, budget.remaining(), step)
                    schedule.total = state["total_steps"] = bar.total = total_steps
                    last = step >= total_steps
                    if accelerator.is_main_process:
                        bar.write(plan.budget_plan(took, total_steps, cfg.minutes))
                if budget.steps == 1 and accelerator.is_main_process:  # all of the first step
                    rest = None if by_budget else total_steps - step + 1
                    bar.write(plan.estimate(took, rest, cfg.minutes))
                if step % cfg.save_every == 0 or last or stop:
                    bar.set_postfix_str(f"step {step}: saving a checkpoint", refresh=True)
                    checkpoint.save(accelerator, run_dir, step, state, cfg.keep_checkpoints)
                if on_step:
                    on_step(step)
                if last or stop:
                    break
            else:
                state.update(epoch=state["epoch"] + 1, step_in_epoch=0)
    except KeyboardInterrupt:
        beat.close()
        bar.close()
        log.close()
        interrupted(accelerator, model, optimizer, tokenizer, cfg, state, rng)
        raise
    beat.close()
    bar.close()
    log.close()
    if stop == "early":
        accelerator.print(
            f"Early stopping at step {state['step']}: no better validation loss "
            f"in the last {cfg.early_stopping} validations."
        )
    elif stop == "time":
        accelerator.print(
            f"Time budget reached at step {state['step']} of {total_steps}: the next step "
            f"would pass --minutes {cfg.minutes:g}."
        )
    save_final(accelerator, model, tokenizer, cfg, state)
    return run_dir


def _out_of_time(accelerator, budget: plan.Budget, cfg: TrainConfig) -> bool:
    """Whether the next step would pass `--minutes`, decided alike by every process."""
    if cfg.minutes is None:
        return False
    import torch

    over = torch.tensor(float(not budget.next_step_fits()), device=accelerator.device)
    return bool(accelerator.reduce(over, reduction="sum").item() > 0)
