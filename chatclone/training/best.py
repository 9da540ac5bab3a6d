"""The weights of the lowest validation loss: kept in `<run>/best` while training runs, and
restored into the model at the end when the last step was not the best (`--final-model best`).
"""

from __future__ import annotations

from chatclone import atomic, rundir
from chatclone.rundir import RunDir


def _write_model(model, tokenizer, run: RunDir, info: dict) -> None:
    """save_pretrained into `<run>/best`, atomically (a failed save keeps the previous best)."""
    from chatclone.training.lora import save

    with atomic.folder(run / rundir.BEST_DIR) as tmp:
        save(model, tmp)
        tokenizer.save_pretrained(tmp)
        rundir.write_json(tmp / rundir.BEST, info)


def save_best(accelerator, model, tokenizer, run: RunDir, step: int, loss: float) -> None:
    """Keep the weights of a new lowest validation loss in `<run>/best` (adapter or full)."""
    if accelerator.is_main_process:
        _write_model(
            accelerator.unwrap_model(model), tokenizer, run, {"step": step, "val_loss": loss}
        )
    accelerator.wait_for_everyone()


def _holds(info: dict | None, key: str, step: int) -> bool:
    return info is not None and info.get(key) == step


def restore_best(model, run: RunDir, step: int) -> bool:
    """Load `<run>/best` back into `model` if it holds the weights of `step`."""
    from safetensors.torch import load_file

    from chatclone.training import lora

    folder = run / rundir.BEST_DIR
    if not _holds(RunDir(folder).read_json(rundir.BEST), "step", step):
        # A finished run keeps its best weights in the run folder itself (`best/` is removed
        # then); a resumed run whose later steps did worse goes back to them.
        folder = run.path
        if not _holds(run.read_json(rundir.BEST), "saved_step", step) or (
            lora.is_peft(model) and not lora.is_adapter_dir(folder)
        ):
            return False
    if lora.is_peft(model):
        lora.restore_adapter_weights(model, folder)
    else:  # tied weights are saved once: strict=False lets their other name stay tied
        model.load_state_dict(load_file(str(folder / "model.safetensors")), strict=False)
    return True
