"""Atomic, verified checkpoints under `runs/<name>/checkpoints/`.

A checkpoint is written into a hidden temporary folder and renamed into place only when
complete; its last file is `manifest.json`, the sha256 of every other file, written atomically.
`latest` (a one-line file, itself replaced atomically) names the newest. A run killed during a
save keeps its previous checkpoint, and the leftover temporary folder is removed on the next
save. On resume, `resume_point` checks the checksums and falls back, with a warning, to the
newest intact checkpoint when the newest is damaged (a bad disk, a copy cut short): a damaged
`latest` pointer costs nothing, since the step folders are what counts.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from pathlib import Path

from chatclone import atomic, rundir
from chatclone.errors import ChatcloneError
from chatclone.rundir import hint

STATE_FILE = "trainer_state.json"
MANIFEST = "manifest.json"
REQUIRED = (STATE_FILE, "model.safetensors", "optimizer.bin")


def checkpoints_dir(run_dir: Path) -> Path:
    return run_dir / rundir.CHECKPOINTS


def step_name(step: int) -> str:
    return f"step-{step:06d}"


def steps_newest_first(run_dir: Path) -> list[Path]:
    """The step folders of a run, newest first (temporary and unrelated names aside)."""
    found = [p for p in checkpoints_dir(run_dir).glob("step-*") if p.name[5:].isdigit()]
    return sorted(found, key=lambda p: int(p.name[5:]), reverse=True)


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint `latest` names, or the newest step folder when `latest` is missing,
    empty or names no folder."""
    pointer = checkpoints_dir(run_dir) / "latest"
    name = pointer.read_text(errors="replace").strip() if pointer.is_file() else ""
    steps = steps_newest_first(run_dir)
    named = [p for p in steps if p.name == name]
    return (named or steps or [None])[0]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def problem(path: Path, verify: bool = True) -> str | None:
    """What is wrong with a checkpoint folder (None: intact). One without a manifest (written
    by an older chatclone) is checked for its required files only."""
    if not path.is_dir():
        return "it does not exist"
    missing = [f for f in REQUIRED if not (path / f).is_file()]
    if missing:
        return f"missing {', '.join(missing)}"
    if not (path / MANIFEST).is_file():
        return None
    try:
        files = json.loads((path / MANIFEST).read_text())["sha256"]
    except (ValueError, KeyError, TypeError):
        return f"its {MANIFEST} is unreadable"
    for name, digest in sorted(files.items()) if verify else ():
        if not (path / name).is_file():
            return f"missing {name}"
        if sha256(path / name) != digest:
            return f"{name} is damaged (its sha256 differs from {MANIFEST})"
    return None


def check_complete(path: Path) -> None:
    """Refuse a checkpoint that is not intact, with the fix."""
    wrong = problem(path)
    if wrong:
        raise ChatcloneError(
            f"checkpoint {path} is not usable: {wrong}. Delete that folder; `--resume` then "
            "goes on from the newest intact checkpoint (or from step 0 when none is left)"
        )


def resume_point(run_dir: Path, run_name: str) -> Path | None:
    """The newest intact checkpoint, warning about each damaged one passed over; None when
    the run has no checkpoint. Raises when checkpoints exist but none is intact."""
    damaged = []
    for path in steps_newest_first(run_dir):
        wrong = problem(path)
        if wrong is None:
            for old, why in damaged:
                warnings.warn(
                    f"checkpoint {old.name} of run {run_name!r} is damaged ({why}); resuming "
                    f"from {path.name} instead (delete {hint(old)} to keep this quiet)",
                    stacklevel=2,
                )
            return path
        damaged.append((path, wrong))
    if not damaged:
        return None
    why = "; ".join(f"{p.name}: {w}" for p, w in damaged)
    again = hint("chatclone", "train", "--run-name", run_name, "--runs-dir", run_dir.parent)
    raise ChatcloneError(
        f"no checkpoint of run {run_name!r} is intact ({why}). Start it again from step 0: "
        f"delete {hint(checkpoints_dir(run_dir))} and run `{again} --resume`"
    )


def read_state(path: Path) -> dict:
    check_complete(path)
    return json.loads((path / STATE_FILE).read_text())


def write_manifest(folder: Path) -> None:
    """The sha256 of every file in a finished checkpoint folder, written last."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    digests = {str(p.relative_to(folder)): sha256(p) for p in files}
    rundir.write_json(folder / MANIFEST, {"sha256": digests})


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
        write_manifest(tmp)
        atomic.replace_folder(tmp, final)
        atomic.write_text(root / "latest", name + "\n")
        for old in steps_newest_first(run_dir)[keep:] if keep > 0 else []:
            shutil.rmtree(old, ignore_errors=True)
        for stale in list(root.glob(".tmp-*")) + list(root.glob(".old-*")):
            shutil.rmtree(stale, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final
