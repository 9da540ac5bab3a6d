"""The run folder, chatclone's central contract: every file name in it, and how each is read and
written. Nothing else in the package spells these names.

```
runs/<name>/
  chatclone.json      the options the run was trained with (`TrainConfig`; `--resume` reads it)
  dataset.json        what was selected, tokenised and held out, with counts
  dialogues.jsonl     the (redacted) training and held-out dialogues: `eval` needs nothing else
  metrics.jsonl       one line per optimizer step; TensorBoard files under tensorboard/
  checkpoints/        step-NNNNNN/ folders and `latest` (training/checkpoint.py)
  best/               weights of the lowest validation loss while training runs
  best.json           which step the final weights come from
  config.json, model.safetensors, tokenizer files   the final model (adapter_config.json and
                      adapter_model.safetensors for a LoRA run)
  eval.json, report.html                            evaluation results and the report page
```

A run is *complete* when it holds a final model; `RunDir.require` is the one check, with one
wording per missing part, each naming the command that fixes it. `list_runs` describes every
folder of a runs folder (`chatclone runs`); `RunDir.delete` removes only a run (`--overwrite`).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from chatclone import atomic
from chatclone.config import RunOptions, TrainConfig
from chatclone.errors import ChatcloneError
from chatclone.options import Options
from chatclone.speaker_format import Dialogue, Turn

CONFIG = "chatclone.json"
DATASET = "dataset.json"
DIALOGUES = "dialogues.jsonl"
METRICS = "metrics.jsonl"
TENSORBOARD = "tensorboard"
CHECKPOINTS = "checkpoints"
BEST_DIR = "best"
BEST = "best.json"
EVAL = "eval.json"
REPORT = "report.html"
MODEL_CONFIG = "config.json"
ADAPTER_CONFIG = "adapter_config.json"

# Train options that apply to one invocation: `train --resume` does not read them back.
PER_INVOCATION = ("minutes", "overwrite")


@dataclass(frozen=True)
class RunDir:
    path: Path

    @classmethod
    def of(cls, options: RunOptions | Options) -> RunDir:
        """The run folder named by options with `run_name` and `runs_dir` (`RunOptions`, or a
        command's options that hold them)."""
        return cls(Path(options.runs_dir) / options.run_name)

    @property
    def name(self) -> str:
        return self.path.name

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    # -- is it a run, and is it complete? ---------------------------------------------------
    def is_run(self) -> bool:
        return (self.path / CONFIG).is_file()

    def has_model(self) -> bool:
        """A final model: full weights (`config.json`) or a LoRA adapter."""
        return is_model_dir(self.path)

    def require(self, model: bool = True) -> RunDir:
        """Raise the one error for a missing run, a folder that is not a run, or (with `model`)
        a run whose training did not finish."""
        root, name = self.path.parent, self.name
        if not self.path.is_dir():
            runs = (
                sorted(p.name for p in root.iterdir() if (p / CONFIG).is_file())
                if root.is_dir()
                else []
            )
            listing = (
                f"runs there: {', '.join(runs)}" if runs else f"there are no runs in {root} yet"
            )
            raise ChatcloneError(
                f"no run named {name!r} in {root} ({listing}). Train one with: "
                f"chatclone train --data EXPORT --run-name {name}"
            )
        if not self.is_run():
            raise ChatcloneError(
                f"{self.path} is not a chatclone run folder (it has no {CONFIG}). "
                f"Train one with: chatclone train --data EXPORT --run-name {name}"
            )
        if model and not self.has_model():
            raise ChatcloneError(
                f"run {name!r} has no final model yet (training did not finish). "
                f"Finish it with: chatclone train --run-name {name} --resume"
            )
        return self

    def delete(self, check_only: bool = False) -> bool:
        """Remove the folder for `train --overwrite`: only a run folder (or an empty one);
        anything else is refused. True when there was a folder to remove."""
        path = self.path
        if path.is_symlink() or (
            path.exists() and not self.is_run() and (path.is_file() or any(path.iterdir()))
        ):
            raise ChatcloneError(
                f"{path} is not a chatclone run folder (it has no {CONFIG}), so --overwrite "
                "leaves it alone. Choose another --run-name, or move that folder away yourself"
            )
        if check_only or not path.exists():
            return path.exists()
        shutil.rmtree(path)
        return True

    # -- what it holds, for `chatclone runs` ------------------------------------------------
    def status(self) -> str:
        if not self.is_run():
            return NOT_A_RUN
        return COMPLETE if self.has_model() else UNFINISHED

    def steps(self) -> int | None:
        """The last optimizer step trained (from `metrics.jsonl`), if any."""
        path = self.path / METRICS
        lines = path.read_text().splitlines() if path.is_file() else []
        last = next((line for line in reversed(lines) if line.strip()), None)
        try:
            return int(json.loads(last)["step"]) if last else None
        except (ValueError, KeyError, TypeError):  # a line cut short by a kill
            return None

    def summary(self) -> RunSummary:
        """What `chatclone runs` says of this folder."""
        files = [p for p in self.path.iterdir() if p.is_file()]
        try:
            config = self.read_json(CONFIG) or {}
        except ValueError:
            config = {"model": "?"}
        run = self.is_run()
        return RunSummary(
            name=self.name,
            status=self.status(),
            model=str(config.get("model", "?")) if run else None,
            steps=self.steps() if run else None,
            planned=config.get("max_steps") if run else None,
            size=folder_size(self.path),
            modified=max([p.stat().st_mtime for p in files] or [self.path.stat().st_mtime]),
        )

    # -- the options it was trained with ----------------------------------------------------
    def read_config(self) -> TrainConfig:
        self.require(model=False)
        data = json.loads((self.path / CONFIG).read_text())
        return TrainConfig(**{k: v for k, v in data.items() if k in TrainConfig.fields})

    def write_config(self, cfg: TrainConfig) -> None:
        write_json(self.path / CONFIG, cfg.to_dict())

    def resume_config(self, given: dict[str, Any]) -> TrainConfig:
        """The saved options with those given on the command line on top (`train --resume`);
        the options of one invocation (`PER_INVOCATION`) are not taken from the saved ones."""
        saved = self.read_config().to_dict()
        for name in PER_INVOCATION:
            saved.pop(name, None)
        return TrainConfig(**{**saved, **given, "resume": True})

    # -- the data it was trained and is evaluated on ----------------------------------------
    def write_dialogues(self, train: Iterable[Dialogue], heldout: Iterable[Dialogue]) -> None:
        lines = [
            json.dumps(
                {
                    "split": split,
                    "id": d.id,
                    "conversation": d.conversation,
                    "turns": [[t.speaker, t.text] for t in d.turns],
                },
                ensure_ascii=False,
            )
            for split, part in (("train", train), ("heldout", heldout))
            for d in part
        ]
        atomic.write_text(self.path / DIALOGUES, "".join(line + "\n" for line in lines))

    def read_dialogues(self) -> tuple[list[Dialogue], list[Dialogue]]:
        """(training, held-out) dialogues exactly as the run was trained on them."""
        path = self.path / DIALOGUES
        if not path.is_file():
            raise ChatcloneError(
                f"run {self.name!r} has no {DIALOGUES} (it was trained by an "
                f"older chatclone); train it again to evaluate it"
            )
        parts: dict[str, list[Dialogue]] = {"train": [], "heldout": []}
        for line in path.read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            parts[d["split"]].append(
                Dialogue(d["id"], tuple(Turn(s, t) for s, t in d["turns"]), d["conversation"])
            )
        return parts["train"], parts["heldout"]

    # -- the other records ------------------------------------------------------------------
    def read_json(self, name: str) -> dict | None:
        path = self.path / name
        return json.loads(path.read_text()) if path.is_file() else None

    def write_json(self, name: str, data: Any) -> Path:
        return write_json(self.path / name, data)


COMPLETE = "complete"
UNFINISHED = "training did not finish"
NOT_A_RUN = "not a run"


@dataclass(frozen=True)
class RunSummary:
    """One line of `chatclone runs`."""

    name: str
    status: str
    model: str | None  # the base model, for a run
    steps: int | None  # optimizer steps trained
    planned: int | None  # --max-steps, when it was given
    size: int  # bytes on disk
    modified: float  # the newest file directly in the folder (epoch seconds)

    def line(self, widths: tuple[int, int, int] = (0, 0, 0)) -> str:
        steps = "-" if self.steps is None else f"{self.steps}"
        if self.planned and self.status == UNFINISHED:
            steps += f"/{self.planned}"
        name, status, model = (
            f"{text:<{width}}"
            for text, width in zip((self.name, self.status, self.model or "-"), widths)
        )
        date = dt.datetime.fromtimestamp(self.modified).strftime("%Y-%m-%d %H:%M")
        return (
            f"{name}  {status}  {model}  {steps + ' steps':>11}  {human_size(self.size):>9}  {date}"
        )


def list_runs(runs_dir: Path) -> list[RunSummary]:
    """Every folder in `runs_dir` (hidden ones aside), by name: runs and folders that are not."""
    if not runs_dir.is_dir():
        return []
    return [
        RunDir(p).summary()
        for p in sorted(runs_dir.iterdir())
        if p.is_dir() and not p.name.startswith(".")
    ]


def format_runs(runs: list[RunSummary]) -> str:
    """`chatclone runs`: one aligned line per run."""
    columns = [(r.name, r.status, r.model or "-") for r in runs]
    widths = tuple(max((len(row[i]) for row in columns), default=0) for i in range(3))
    return "\n".join(r.line(widths) for r in runs)


def folder_size(path: Path) -> int:
    """Bytes of the files under `path` (links not followed)."""
    total = 0
    for p in path.rglob("*"):
        try:
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
        except OSError:  # removed while we looked
            pass
    return total


def human_size(n: float) -> str:
    """1234567 -> '1.2 MB' (powers of 1000, as disk sizes are sold)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def write_json(path: Path, data: Any) -> Path:
    return atomic.write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def is_model_dir(path: Path) -> bool:
    """A folder with full weights (`config.json`) or a LoRA adapter (`adapter_config.json`)."""
    return (path / MODEL_CONFIG).is_file() or (path / ADAPTER_CONFIG).is_file()
