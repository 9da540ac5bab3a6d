"""Where training numbers go: `metrics.jsonl` (plain, one JSON object a line) and, when
installed, TensorBoard event files under `<run>/tensorboard`. Only the main process logs.

`metrics.jsonl` has one line per optimizer step (`loss`, `lr`, `tokens_per_s`), with
`val_loss` and `val_ppl` added on the steps that were validated. A resumed run appends;
readers keep the last line written for a step (`read_metrics`).
"""

from __future__ import annotations

import json
import math
import threading
import warnings
from pathlib import Path

from chatclone import rundir


def human_size(n: float) -> str:
    """1234567 -> '1.2 MB' (powers of 1000, as disk sizes are sold)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def perplexity(loss: float) -> float:
    """exp(mean loss per token), capped so an untrained model's loss cannot overflow."""
    return math.exp(min(loss, 50.0))


class RunLog:
    def __init__(self, run_dir: Path, enabled: bool, tensorboard: bool):
        self.file = open(run_dir / rundir.METRICS, "a") if enabled else None
        self.board = None
        if enabled and tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.board = SummaryWriter(str(run_dir / rundir.TENSORBOARD))

    def _write(self, record: dict) -> None:
        if self.file:
            self.file.write(json.dumps(record) + "\n")
            self.file.flush()

    def train_step(
        self, step: int, loss: float, lr: float, tokens_per_s: float, val_loss: float | None = None
    ) -> None:
        record = {"step": step, "loss": loss, "tokens_per_s": tokens_per_s, "lr": lr}
        if val_loss is not None:
            record.update(val_loss=val_loss, val_ppl=perplexity(val_loss))
        self._write(record)
        if self.board:
            self.board.add_scalar("train/loss", loss, step)
            self.board.add_scalar("train/lr", lr, step)
            self.board.add_scalar("train/tokens_per_s", tokens_per_s, step)
            if val_loss is not None:
                self.board.add_scalar("val/loss", val_loss, step)
                self.board.add_scalar("val/perplexity", perplexity(val_loss), step)
                self.board.flush()

    def close(self) -> None:
        if self.file:
            self.file.close()
        if self.board:
            self.board.close()


def read_metrics(run_dir: Path) -> list[dict]:
    """One record per step, sorted, the last written winning (a resumed run repeats steps)."""
    path = run_dir / rundir.METRICS
    steps: dict[int, dict] = {}
    if path.is_file():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                steps[int(record["step"])] = record
            except (ValueError, KeyError, TypeError):  # a line torn by a kill mid-write
                warnings.warn(
                    f"{path}, line {number}: not a complete record; skipped", stacklevel=2
                )
    return [steps[k] for k in sorted(steps)]


class Heartbeat:
    """Redraws a progress bar every few seconds from a background thread, so that a long step,
    a validation or a save never leaves the terminal silent (the bar's clock keeps moving)."""

    def __init__(self, bar, every: float = 5.0) -> None:
        self.bar, self.done = bar, threading.Event()
        self.thread = threading.Thread(target=self._beat, args=(every,), daemon=True)
        self.thread.start()

    def _beat(self, every: float) -> None:
        while not self.done.wait(every):
            self.bar.refresh()

    def close(self) -> None:
        self.done.set()
        self.thread.join()
