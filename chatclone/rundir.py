"""The run folder, chatclone's central contract: every file name in it, and how each is read and
written. Nothing else in the package spells these names. `runs/<name>/` holds `chatclone.json`
(the options of the run; `--resume` reads it), `dataset.json` (what was selected, tokenised and
held out), `dialogues.jsonl` (the redacted dialogues: `eval` needs nothing else), `metrics.jsonl`
and `tensorboard/`, `checkpoints/` (step-NNNNNN/ folders and `latest`, training/checkpoint.py),
`best/` and `best.json` (the weights of the lowest validation loss), the final model
(`config.json`, `model.safetensors` and the tokenizer; `adapter_*` for LoRA), `eval.json` and
`report.html`, and `onnx/` (conversions for the onnx reply backend). A run is *complete* when it holds a whole final model; `RunDir.require` is the
one check, each wording naming the command that fixes it. With redaction on, `chatclone.json`
holds the `PRIVATE` options as a hash and stand-ins; their real values stay outside `runs/`, in
a private record (`private_path`) that `read_config` puts back.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import struct
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
MODEL_CONFIG, ADAPTER_CONFIG = "config.json", "adapter_config.json"
ONNX = "onnx"  # the onnx reply backend's conversions: onnx/<weights>-<key>/ (inference/backends)

# Train options that apply to one invocation: `train --resume` does not read them back.
PER_INVOCATION = ("minutes", "overwrite")
# Options that may hold personal content (the export's file name, people's names).
PRIVATE = ("data", "me", "persona", "conversation", "participant")
NAME_BYTES = 200  # longest run name: file systems allow 255 bytes, and `.tmp-`/`.lock` are added


def check_run_name(name: str) -> str:
    """Refuse a run name that is not one plain folder name, with the fix."""
    bad = not name.strip() or "/" in name or "\\" in name or not name.isprintable()
    if bad or name.startswith(".") or len(name.encode()) > NAME_BYTES:
        raise ChatcloneError(
            f"invalid run name {name!r}: a run name is one folder name of at most {NAME_BYTES} "
            "bytes, without '/', '\\', '..', a newline or only spaces (e.g. --run-name run1)"
        )
    return name


def hint(*words: str | Path) -> str:  # a command to paste: each word shell-quoted
    return " ".join(map(shlex.quote, map(str, words)))


@dataclass(frozen=True)
class RunDir:
    path: Path

    @classmethod
    def of(cls, options: RunOptions | Options) -> RunDir:
        """The run folder named by options with `run_name` and `runs_dir` (`RunOptions`, or a
        command's options that hold them)."""
        return cls(Path(options.runs_dir) / check_run_name(options.run_name))

    @property
    def name(self) -> str:
        return self.path.name

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    # -- is it a run, and is it complete? ---------------------------------------------------
    def is_run(self) -> bool:
        return (self.path / CONFIG).is_file()

    def has_model(self) -> bool:
        """A whole final model: full weights (`config.json`) or a LoRA adapter."""
        return is_model_dir(self.path) and weights_problem(self.path) is None

    def require(self, model: bool = True) -> RunDir:
        """Raise the one error for a missing run, a folder that is not a run, or (with `model`)
        a run whose training did not finish."""
        root, name = self.path.parent, self.name
        if not self.path.is_dir():
            runs = sorted(p.parent.name for p in root.glob(f"*/{CONFIG}") if p.is_file())
            listing = (
                f"runs there: {', '.join(runs)}" if runs else f"there are no runs in {root} yet"
            )
            raise ChatcloneError(
                f"no run named {name!r} in {root} ({listing}). Train one with: "
                f"chatclone train --data EXPORT --run-name {hint(name)}"
            )
        if not self.is_run():
            raise ChatcloneError(
                f"{self.path} is not a chatclone run folder (it has no {CONFIG}). "
                f"Train one with: chatclone train --data EXPORT --run-name {hint(name)}"
            )
        if model and not self.has_model():
            fix = hint("chatclone", "train", "--run-name", name, "--resume")
            if is_model_dir(self.path):  # a save cut short by an older chatclone, or a bad disk
                fix += "" if root == Path("runs") else " --runs-dir " + hint(root)
                raise ChatcloneError(
                    f"run {name!r} is incomplete: its final model is damaged "
                    f"({weights_problem(self.path)}). Run `{fix}` to finish it"
                )
            raise ChatcloneError(
                f"run {name!r} has no final model yet (training did not finish). "
                f"Finish it with: {fix}"
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

    def status(self) -> str:
        return NOT_A_RUN if not self.is_run() else COMPLETE if self.has_model() else UNFINISHED

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
        times = [p.stat().st_mtime for p in self.path.iterdir() if p.is_file()]
        try:
            config = self.read_json(CONFIG) or {}
        except ValueError:
            config = {"model": "?"}
        run = self.is_run()
        return RunSummary(
            *(self.name, self.status(), str(config.get("model", "?")) if run else None),
            *(self.steps() if run else None, config.get("max_steps") if run else None),
            *(folder_size(self.path), max(times or [self.path.stat().st_mtime])),
        )

    # -- the options it was trained with ----------------------------------------------------
    def read_config(self, real: bool = True) -> TrainConfig:
        """The options saved in the run, with this machine's private values put back (`real`;
        False: as `chatclone.json` holds them, for what is shown or shared, e.g. a report)."""
        self.require(model=False)
        data = json.loads((self.path / CONFIG).read_text())
        # This machine's private record has the real values (another has only the stand-ins).
        key = str(data.get("private_id", "")) if real else ""
        for private in dict.fromkeys((private_path(key), private_path(key, True))):
            saved = json.loads(private.read_text()) if key and private.is_file() else {}
            if saved.get("stored") == {k: data.get(k) for k in PRIVATE}:
                data.update(saved["real"])
                break
        return TrainConfig(**{k: v for k, v in data.items() if k in TrainConfig.fields})

    def write_config(self, cfg: TrainConfig, stored: dict | None = None) -> None:
        """`stored`: values of `PRIVATE` written instead of the real ones (redaction; the real
        ones are in the private record then)."""
        write_json(self.path / CONFIG, {**cfg.to_dict(), **(stored or {})})

    def resume_config(self, given: dict[str, Any]) -> TrainConfig:
        """The saved options with those given on the command line on top (`train --resume`);
        the options of one invocation (`PER_INVOCATION`) are not taken from the saved ones."""
        saved = self.read_config().to_dict()
        for name in PER_INVOCATION:
            saved.pop(name, None)
        return TrainConfig(**{**saved, **given, "resume": True})

    def write_dialogues(self, train: Iterable[Dialogue], heldout: Iterable[Dialogue]) -> None:
        records = (
            {"split": split, "id": d.id, "conversation": d.conversation, "turns": turns(d)}
            for split, part in (("train", train), ("heldout", heldout))
            for d in part
        )
        lines = [json.dumps(r, ensure_ascii=False) for r in records]
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
        for d in map(json.loads, path.read_text(encoding="utf-8").splitlines()):
            turns = tuple(Turn(*t) for t in d["turns"])  # [speaker, text(, name)]
            parts[d["split"]].append(Dialogue(d["id"], turns, d["conversation"]))
        return parts["train"], parts["heldout"]

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


def list_runs(runs_dir: Path) -> list[RunSummary]:
    """Every folder in `runs_dir` (hidden ones aside), by name: runs and folders that are not."""
    folders = sorted(runs_dir.iterdir()) if runs_dir.is_dir() else []
    return [RunDir(p).summary() for p in folders if p.is_dir() and not p.name.startswith(".")]


def folder_size(path: Path) -> int:
    """Bytes of the files under `path` (links not followed)."""
    return sum(_size(p) for p in path.rglob("*"))


def _size(p: Path) -> int:
    try:
        return p.stat().st_size if p.is_file() and not p.is_symlink() else 0
    except OSError:  # removed while we looked
        return 0


def write_json(path: Path, data: Any) -> Path:
    return atomic.write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def private_path(key: str, default: bool = False) -> Path:
    """The private record of a run: in chatclone's cache (`default`: the one CHATCLONE_CACHE
    does not move), named by the random `private_id` of its `chatclone.json` (copies share it)."""
    home = Path.home() / ".cache" / "chatclone"
    root = home if default else Path(os.environ.get("CHATCLONE_CACHE") or home)
    return root / "private" / f"run-{key}.json"


def weights_problem(path: Path) -> str | None:
    """A weights file of the model in `path` missing or cut short (None: all whole)."""
    index = path / "model.safetensors.index.json"
    shards = json.loads(index.read_text())["weight_map"] if index.is_file() else {}
    names = sorted(set(shards.values())) or ["model.safetensors"]
    for name in ["adapter_model.safetensors"] if (path / ADAPTER_CONFIG).is_file() else names:
        try:
            with open(path / name, "rb") as f:
                (n,) = struct.unpack("<Q", f.read(8))
                header = json.loads(f.read(n))
                size = f.seek(0, os.SEEK_END)
            ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"]
        except FileNotFoundError:
            return f"{name} is missing"
        except (OSError, ValueError, KeyError, TypeError, struct.error):
            return f"{name} is unreadable"
        if size != 8 + n + max(ends, default=0):
            return f"{name} is cut short"
    return None


def is_model_dir(path: Path) -> bool:
    """A folder with full weights (`config.json`) or a LoRA adapter (`adapter_config.json`)."""
    return (path / MODEL_CONFIG).is_file() or (path / ADAPTER_CONFIG).is_file()


def turns(d: Dialogue) -> list[list[str]]:
    return [[t.speaker, t.text, t.name] if t.name else [t.speaker, t.text] for t in d.turns]
