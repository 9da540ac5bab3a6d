"""Atomic writes: a file or folder is written beside its target under a temporary name and
renamed into place only when complete, so a crash or a kill never leaves half of one behind
(and a reader never sees one). Leftover temporaries are hidden (`.tmp-*`) and replaced next time.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def temp_sibling(target: Path) -> Path:
    """The temporary name of `target`: hidden, in the same folder (so the rename is atomic),
    and per process (two processes never write into the same temporary)."""
    return target.with_name(f".tmp-{target.name}.{os.getpid()}")


def write_text(path: Path, text: str, make_parents: bool = True) -> Path:
    """Write `text` (UTF-8) to `path` atomically; the parent folder is created if needed
    (unless `make_parents` is False: then a missing folder is an OSError, as for `open`)."""
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(path)
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def replace_folder(tmp: Path, target: Path) -> None:
    """Move the finished folder `tmp` to `target`, replacing what was there."""
    if target.exists():
        old = target.with_name(f".old-{target.name}.{os.getpid()}")
        os.replace(target, old)  # the target is never missing for longer than two renames
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)


@contextmanager
def folder(target: Path) -> Iterator[Path]:
    """Yield a temporary folder to fill; it becomes `target` when the block ends without error
    and is removed when it raises."""
    tmp = temp_sibling(target)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        replace_folder(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
