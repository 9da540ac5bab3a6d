"""Atomic checkpoints under `runs/<name>/checkpoints/`.

A checkpoint is written into a hidden temporary folder and renamed into place only when
complete; `latest` (a one-line file, itself replaced atomically) names the newest. A run killed
during a save therefore keeps its previous checkpoint intact, and the leftover temporary
folder is ignored and removed on the next save.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from chatclone import atomic, rundir
from chatclone.errors import ChatcloneError

STATE_FILE = "trainer_state.json"
REQUIRED = (STATE_FILE, "model.safetensors", "optimizer.bin")


def checkpoints_dir(run_dir: Path) -> Path:
    return run_dir / rundir.CHECKPOINTS


def step_name(step: int) -> str:
    return f"step-{step:06d}"


def latest_checkpoint(run_dir: Path) -> Path | None:
    pointer = checkpoints_dir(run_dir) / "latest"
    if not pointer.is_file():
        return None
    return checkpoints_dir(run_dir) / pointer.read_text().strip()


def check_complete(path: Path) -> None:
    if not path.is_dir():
        raise ChatcloneError(
            f"checkpoint {path} does not exist; delete {path.parent / 'latest'} "
            "to start over, or restore the folder"
        )
    missing = [f for f in REQUIRED if not (path / f).is_file()]
    if missing:
        others = sorted(p.name for p in path.parent.glob("step-*") if p != path)
        raise ChatcloneError(
            f"checkpoint {path} is incomplete: missing {', '.join(missing)}. Delete it"
            + (
                f" and point {path.parent / 'latest'} at an earlier one ({', '.join(others)})"
                if others
                else " and train again without --resume"
            )
        )


def read_state(path: Path) -> dict:
    check_complete(path)
    return json.loads((path / STATE_FILE).read_text())


def save(accelerator, run_dir: Path, step: int, state: dict, keep: int) -> Path:
    """Save model, optimizer, scheduler and RNG states plus `state` atomically (all processes
    call this; only the main process renames and prunes)."""
    root = checkpoints_dir(run_dir)
    name = step_name(step)
    tmp = root / f".tmp-{name}"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        root.mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp), safe_serialization=True)
    accelerator.wait_for_everyone()
    final = root / name
    if accelerator.is_main_process:
        rundir.write_json(tmp / STATE_FILE, state)
        atomic.replace_folder(tmp, final)
        atomic.write_text(root / "latest", name + "\n")
        for old in sorted(root.glob("step-*"))[:-keep] if keep > 0 else []:
            shutil.rmtree(old, ignore_errors=True)
        for stale in root.glob(".tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final
