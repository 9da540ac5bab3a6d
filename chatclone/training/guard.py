"""One training process per run folder, and file system faults as one `Error:` line.

`run_lock` creates `runs/.<name>.lock` with O_EXCL (so of two processes exactly one gets it),
holding the PID and host of its owner; a lock whose process is gone (same host, PID not
running) is stale and taken over. It is removed when training ends, also on Ctrl-C or an
error. The lock file sits beside the run folder, not in it, so `--overwrite` (which deletes the
folder) cannot remove it. `fs_errors` turns a full disk, a read-only folder, a name too long for
the file system or a path through a file into a `ChatcloneError` that names the fix; the run
folder is left as the last completed save wrote it, so the fix is always `--resume`.
"""

from __future__ import annotations

import errno
import json
import os
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from chatclone.config import TrainConfig
from chatclone.errors import ChatcloneError
from chatclone.rundir import RunDir, hint


def lock_path(run: RunDir) -> Path:
    return run.path.parent / f".{run.name}.lock"


def holder(run: RunDir) -> dict | None:
    """Who holds the lock of a run ({'pid', 'host'}), or None when it is free or stale."""
    try:
        owner = json.loads(lock_path(run).read_text())
        pid, host = int(owner["pid"]), str(owner["host"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):  # being written, or torn: held
        return {"pid": "?", "host": "?"}
    if host == socket.gethostname() and not alive(pid):
        return None
    return {"pid": pid, "host": host}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def held_error(run: RunDir, owner: dict, doing: str) -> ChatcloneError:
    return ChatcloneError(
        f"run {run.name!r} is {doing} by process {owner['pid']} on {owner['host']} (lock file "
        f"{lock_path(run)}). Wait for it to finish or stop it (kill {owner['pid']}); if that "
        f"process is gone, delete {hint(lock_path(run))}"
    )


@contextmanager
def run_lock(run: RunDir) -> Iterator[None]:
    """Hold the run's lock for the block (only the main process of a launch takes it)."""
    if int(os.environ.get("RANK", "0")) != 0:
        yield
        return
    path = lock_path(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = json.dumps({"pid": os.getpid(), "host": socket.gethostname()})
    for _ in range(2):  # a stale lock is removed once, then taken like a free one
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            owner = holder(run)
            if owner is not None:
                raise held_error(run, owner, "being trained") from None
            path.unlink(missing_ok=True)
    else:
        raise held_error(run, holder(run) or {"pid": "?", "host": "?"}, "being trained")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(record)
        yield
    finally:
        path.unlink(missing_ok=True)


@contextmanager
def fs_errors(cfg: TrainConfig) -> Iterator[None]:
    """File system faults while training, each as one error line with the fix."""
    runs = Path(cfg.runs_dir)
    resume = hint("chatclone", "train", "--run-name", cfg.run_name, "--runs-dir", runs, "--resume")
    try:
        yield
    except OSError as e:
        where = f" ({e.filename})" if e.filename else ""
        if e.errno == errno.ENOSPC or e.errno == errno.EDQUOT:
            raise ChatcloneError(
                f"the disk is full{where}; the run keeps its last completed save. Free some "
                f"space (old checkpoints or runs: chatclone runs --runs-dir {hint(runs)}), "
                f"then continue with: {resume}"
            ) from None
        # Other files (the export, the model) keep their own error: the fix is not --runs-dir.
        inside = bool(e.filename) and os.path.abspath(e.filename).startswith(os.path.abspath(runs))
        if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM) and inside:
            raise ChatcloneError(
                f"cannot write to the runs folder {runs}{where}: it is read-only or not yours. "
                "Pass --runs-dir with a folder you can write to"
            ) from None
        if e.errno == errno.ENAMETOOLONG and inside:
            raise ChatcloneError(
                f"a path in the run folder is too long for the file system{where}. Pass a "
                "shorter --run-name or a --runs-dir nearer the root"
            ) from None
        if e.errno in (errno.ENOTDIR, errno.EEXIST) and not runs.is_dir():
            raise ChatcloneError(
                f"--runs-dir {runs} goes through a file ({first_file(runs)}). Pass a folder "
                "for the runs, e.g. --runs-dir runs"
            ) from None
        raise


def first_file(path: Path) -> Path:
    """The first part of `path` that exists and is not a folder (`path` when none is)."""
    for part in reversed([path, *path.parents]):
        if part.exists() and not part.is_dir():
            return part
    return path
