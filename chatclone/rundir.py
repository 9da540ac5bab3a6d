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
wording per missing part, each naming the command that fixes it.
"""

from __future__ import annotations

import json
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

    # -- the options it was trained with ----------------------------------------------------
    def read_config(self) -> TrainConfig:
        self.require(model=False)
        data = json.loads((self.path / CONFIG).read_text())
        return TrainConfig(**{k: v for k, v in data.items() if k in TrainConfig.fields})

    def write_config(self, cfg: TrainConfig) -> None:
        write_json(self.path / CONFIG, cfg.to_dict())

    def resume_config(self, given: dict[str, Any]) -> TrainConfig:
        """The saved options with those given on the command line on top (`train --resume`)."""
        saved = self.read_config().to_dict()
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


def write_json(path: Path, data: Any) -> Path:
    return atomic.write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def is_model_dir(path: Path) -> bool:
    """A folder with full weights (`config.json`) or a LoRA adapter (`adapter_config.json`)."""
    return (path / MODEL_CONFIG).is_file() or (path / ADAPTER_CONFIG).is_file()
