"""What a run is about to do, said before its first step, and its time budget (`--minutes`).

The plan names the data, the steps (per epoch, in all, and what decides their number), the
recipe (whose turns carry the loss, the learning-rate schedule, validation, which weights the
run folder keeps, checkpoints) and a warning when the held-out set is too small to choose
weights by. The time estimate is extrapolated from the whole first step (its warm-up, and a
validation or a checkpoint when that step has one) and printed right after it.
"""

from __future__ import annotations

import time
from typing import Callable

from chatclone.config import TrainConfig

# Below either, the lowest validation loss says little about which weights are best.
MIN_HELD_CONVERSATIONS = 3
MIN_HELD_EXAMPLES = 50


def describe(cfg: TrainConfig, info: dict, total_steps: int, world: int, device, model) -> str:
    tokens, split = info["tokens"], info["split"]
    lines = [
        f"Data: {split['train']} dialogues -> {tokens['examples']} examples, {tokens['tokens']} "
        f"tokens ({split['validation']} more held out for validation); {total_steps} steps of "
        f"{cfg.batch_size} x {cfg.grad_accum} accumulation x {world} process(es) = "
        f"{cfg.batch_size * cfg.grad_accum * world} examples per step on {device}"
    ]
    lines.append(privacy_line(info["selection"]))
    if cfg.lora:
        from chatclone.training.lora import trainable_parameters

        trainable, total = trainable_parameters(model)
        lines.append(
            f"LoRA: {trainable:,} of {total:,} parameters trainable "
            f"({100 * trainable / total:.2f}%)"
        )
    return "\n".join(lines)


KINDS = {
    "name": "names",
    "phone": "phone numbers",
    "email": "e-mail addresses",
    "url": "web addresses",
    "iban": "IBANs",
    "card": "card numbers",
}


def privacy_line(selection: dict) -> str:
    """What redaction did to the training text, how to keep or replace the persona's name."""
    about = selection.get("redaction") or {}
    if not about.get("on", True):
        return (
            "Privacy: redaction is off (--no-redact): the training text holds the export's "
            "names and contact details as they are."
        )
    counts = selection.get("redacted") or {}
    done = ", ".join(f"{n:,} {KINDS.get(k, k)}" for k, n in counts.items() if n)
    line = (
        f"Privacy: replaced {done} in the training text"
        if done
        else "Privacy: no names or contact details to replace were found in the training text"
    )
    if about.get("stand_ins"):
        line += (
            " (senders get stand-in names such as "
            + ", ".join(repr(s) for s in about["stand_ins"])
            + ")"
        )
    if about.get("persona_name_kept"):
        return line + "; the persona's own name is kept (--no-keep-persona-name replaces it too)."
    return line + "; the persona's own name is replaced too (--keep-persona-name keeps it)."


def plan(
    cfg: TrainConfig,
    epoch_steps: int,
    total_steps: int,
    start_step: int,
    held_conversations: int,
    held_examples: int,
) -> str:
    """The steps and the recipe, one line each, printed before the first step."""
    limit = f"--max-steps {cfg.max_steps}" if cfg.max_steps else f"--epochs {cfg.epochs or 1:g}"
    steps = f"Plan: {epoch_steps} steps per epoch; {total_steps} steps in all ({limit})"
    if cfg.minutes and not cfg.max_steps and cfg.epochs is None:
        steps = (
            f"Plan: {epoch_steps} steps per epoch; as many steps as fit in --minutes "
            f"{cfg.minutes:g}, set from the time of the second step"
        )
    elif cfg.minutes:
        steps += (
            f", or fewer: --minutes {cfg.minutes:g} stops the run when the next step would "
            "pass the budget"
        )
    if start_step:
        steps += f"; resuming after step {start_step}"
    warmup = round(cfg.warmup_ratio * total_steps)
    who = "the persona's turns only" if cfg.train_on == "persona" else "every turn"
    style = {
        "native": "the model's chat template (--prompt-style native)",
        "tags": "speaker tags (--prompt-style tags)",
        "named": "speaker tags with each sender's name (--prompt-style named)",
    }.get(cfg.prompt_style, cfg.prompt_style)
    recipe = (
        f"Recipe: dialogues written in {style}; loss on {who}; learning rate {cfg.lr:g}, "
        f"warmed up over {n_steps(warmup)}, then decaying linearly"
    )
    if held_examples:
        keeps = (
            "the weights of the lowest validation loss (--final-model best)"
            if cfg.final_model == "best"
            else "the last step's weights (--final-model last)"
        )
        validation = (
            f"Validation: every {cfg.val_every} steps and at the end, on {held_conversations} "
            f"held-out conversation(s) ({held_examples} examples); the run folder keeps {keeps}"
        )
        if cfg.early_stopping:
            validation += (
                f"; early stopping after {cfg.early_stopping} validations without a new best"
            )
    else:
        validation = (
            "Validation: none (no held-out conversation: --val-fraction 0, or a single "
            "conversation); the run folder keeps the last step's weights"
        )
    where = f"--run-name {cfg.run_name} --runs-dir {cfg.runs_dir}"
    checkpoints = (
        f"Checkpoints: every {cfg.save_every} steps and at the end, the last "
        f"{cfg.keep_checkpoints} kept. Ctrl-C saves the model and a checkpoint; "
        f"chatclone train {where} --resume continues"
    )
    timing = "Time: measured on the first step and printed after it"
    return "\n".join([steps, recipe, validation, checkpoints, timing])


def heldout_warning(cfg: TrainConfig, conversations: int, examples: int) -> str | None:
    """One line when the kept weights would be chosen on too few held-out examples."""
    if cfg.final_model != "best" or not examples:
        return None
    if conversations >= MIN_HELD_CONVERSATIONS and examples >= MIN_HELD_EXAMPLES:
        return None
    return (
        f"Warning: only {conversations} held-out conversation(s) ({examples} examples) to "
        "choose the kept weights by: on so little data the lowest validation loss is mostly "
        f"chance. Hold out more with --val-fraction (now {cfg.val_fraction:g}), or keep the "
        "last step's weights with --final-model last."
    )


def n_steps(n: int) -> str:
    return f"{n} step" if n == 1 else f"{n} steps"


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def estimate(seconds: float, steps: int | None, minutes: float | None) -> str:
    """The time of this run's `steps`, extrapolated from its first step (`seconds`); with
    `steps` None (`--minutes` alone), only what the first step took."""
    if steps is None:
        return (
            f"Estimate: the first step took {seconds:.2f} s with its warm-up; the number of "
            f"steps that fit in --minutes {minutes:g} is set from the second step"
        )
    text = (
        f"Estimate: the first step took {seconds:.2f} s, so the {steps} steps of this run take "
        f"about {duration(seconds * steps)} (extrapolated from that first step; its warm-up "
        "can make this high, validations and checkpoints to come can make it low)"
    )
    if minutes and seconds * steps > minutes * 60:
        text += f"; --minutes {minutes:g} ends it after about {int(minutes * 60 / seconds)} steps"
    return text


def budget_plan(seconds: float, total: int, minutes: float) -> str:
    return (
        f"Plan: {total} steps in all fit in --minutes {minutes:g} at {seconds:.2f} s a step "
        "(the second step); the learning rate decays to 0 over them"
    )


def steps_in_budget(step_seconds: float, remaining_seconds: float, done: int) -> int:
    """`--minutes` alone: the steps done and those that fit in the rest of the budget."""
    return done + max(0, int(remaining_seconds / max(step_seconds, 1e-9)))


class Budget:
    """`--minutes`: whether one more step fits, at the mean time per step so far (validation
    and checkpoints included; at least one step always runs)."""

    def __init__(self, minutes: float | None, clock: Callable[[], float] = time.monotonic):
        self.seconds = None if minutes is None else minutes * 60
        self.clock = clock
        self.start = clock()
        self.steps = 0

    def step_done(self) -> None:
        self.steps += 1

    def remaining(self) -> float:
        """Seconds of the budget left (infinite without one)."""
        if self.seconds is None:
            return float("inf")
        return self.seconds - (self.clock() - self.start)

    def next_step_fits(self) -> bool:
        if self.seconds is None or not self.steps:
            return True
        elapsed = self.clock() - self.start
        return elapsed + elapsed / self.steps <= self.seconds
