"""How a run ends: the final model in the run folder (the best validation weights or the last),
and the same on Ctrl-C, so an interrupted run can be chatted with and continued.

On Ctrl-C (a KeyboardInterrupt) during training, the step in progress is dropped: its
gradients are cleared and the random states go back to where the step began, so a checkpoint
of the last finished step is exactly what an uninterrupted run had there. The optimizer update
and the step count change together (`deferred_interrupt`), so a Ctrl-C never splits them.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import threading
from contextlib import contextmanager
from typing import Iterator

from chatclone import rundir
from chatclone.config import TrainConfig
from chatclone.rundir import RunDir, folder_size, hint
from chatclone.training import checkpoint
from chatclone.training.best import restore_best
from chatclone.training.log import human_size


def save_final(accelerator, model, tokenizer, cfg: TrainConfig, state: dict) -> None:
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
            accelerator.print(
                f"The best weights (step {best_step}) were not found in "
                f"{run / rundir.BEST_DIR}; keeping the last step's."
            )
    if best_step is not None:
        run.write_json(
            rundir.BEST,
            {
                "best_step": best_step,
                "best_val_loss": state["best_loss"],
                "last_step": state["step"],
                "saved_step": final,
            },
        )
    install_model(for_saving_model(model, cfg.merge_lora), tokenizer, run)
    if final == best_step:
        shutil.rmtree(run / rundir.BEST_DIR, ignore_errors=True)  # the run folder holds it now
    chat = hint("chatclone", "chat", "--run-name", run.name, "--runs-dir", run.path.parent)
    accelerator.print(f"Saved the model of step {final} to {run.path} (chat with: {chat})")
    accelerator.print(disk_use(run))


def for_saving_model(model, merge: bool):
    from chatclone.training.lora import for_saving

    return for_saving(model, merge=merge)


def install_model(model, tokenizer, run: RunDir) -> None:
    """Save the final model into a hidden folder, then move its files into the run folder, the
    config last: a kill at any point leaves either no model (`require` says how to finish it)
    or a whole one, never a config beside missing or partial weights."""
    from chatclone.training.lora import save

    tmp = run / ".tmp-final"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save(model, tmp)
    tokenizer.save_pretrained(tmp)
    configs = (rundir.MODEL_CONFIG, rundir.ADAPTER_CONFIG)
    for name in configs:  # the old model stops counting before any of its files is replaced
        (run / name).unlink(missing_ok=True)
    for file in sorted(tmp.iterdir(), key=lambda p: p.name in configs):
        os.replace(file, run / file.name)
    shutil.rmtree(tmp, ignore_errors=True)


def disk_use(run: RunDir) -> str:
    """How much disk the run folder takes, and what of it may go."""
    total, kept = folder_size(run.path), folder_size(run / rundir.CHECKPOINTS)
    return (
        f"The run folder takes {human_size(total)}, {human_size(kept)} of it in checkpoints, "
        "which only continuing the training (--resume) needs: delete "
        f"{hint(run / rundir.CHECKPOINTS)} once you are done training."
    )


def interrupted(
    accelerator, model, optimizer, tokenizer, cfg: TrainConfig, state: dict, rng: dict | None
) -> None:
    """After Ctrl-C: a checkpoint of the last finished step, the final model as at the end
    (unless no step finished), and the commands to chat with it and to continue. `rng` holds
    the random states at the start of an unfinished step (None between steps)."""
    run = RunDir.of(cfg)
    where = hint("--run-name", run.name, "--runs-dir", run.path.parent)
    step = state["step"]
    if accelerator.num_processes > 1:  # the processes need not be at the same point now
        accelerator.print(
            f"\nInterrupted at step {step}: a run of several processes keeps its last "
            f"checkpoint. Continue it with: chatclone train {where} --resume"
        )
        return
    accelerator.print(
        f"\nInterrupted at step {step}: saving the run (press Ctrl-C again to quit at once)..."
    )
    optimizer.zero_grad(set_to_none=True)  # the unfinished step's gradients
    if rng is not None:
        restore_random_states(rng)
    latest = checkpoint.latest_checkpoint(run.path)
    if latest is None or latest.name != checkpoint.step_name(step):
        checkpoint.save(accelerator, run.path, step, state, cfg.keep_checkpoints)
    if step == 0:
        accelerator.print(
            f"No step finished, so there is no model to save. Start the run again with: "
            f"chatclone train {where} --resume"
        )
        return
    save_final(accelerator, model, tokenizer, cfg, state)
    accelerator.print(
        f"Chat with it: chatclone chat {where}\nContinue training: chatclone train {where} --resume"
    )


def random_states() -> dict:
    """The random states a checkpoint saves (Python, NumPy, torch, CUDA)."""
    import numpy as np
    import torch

    states = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_random_states(states: dict) -> None:
    import numpy as np
    import torch

    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states:
        torch.cuda.set_rng_state_all(states["cuda"])


@contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold a Ctrl-C until the block ends (only the main thread receives signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list = []
    previous = signal.signal(signal.SIGINT, lambda *args: caught.append(args))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)
    if caught:
        if callable(previous):
            previous(*caught[0])
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt
