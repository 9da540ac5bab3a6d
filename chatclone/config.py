"""The options of the input side and of `train`: the groups the run folder saves.

No torch here: `--help` must stay fast. `TrainConfig` is saved in every run folder
(`rundir.RunDir.write_config`), so a run describes itself: `chat`, `eval`, `export` and
`train --resume` read the model, the data and the recipe back from it. The options of
replying are in `sampling`; stage-only options live with their stage (`evaluation.options`,
`serving.options`, `exporting.export`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chatclone.errors import ChatcloneError
from chatclone.inputs import InputOptions
from chatclone.options import Group, Options, must, opt

DEVICES = ["auto", "cpu", "cuda", "mps"]
EMBEDDED = "embedded"
SAMPLE_MIN_MESSAGES = 2  # the bundled sample's dialogues are 2-10 utterances long


@dataclass
class RunOptions(Group):
    section = "run"
    run_name: str = opt("run1", "name of the run folder under --runs-dir", metavar="NAME")
    runs_dir: str = opt("runs", "folder that holds the runs", metavar="DIR")

    def check(self) -> None:
        name = self.run_name
        if not name or "/" in name or "\\" in name or ".." in name or name.startswith("."):
            raise ChatcloneError(
                f"invalid run name {name!r}: a run name is one folder name, without '/', '\\' or "
                "'..' (e.g. --run-name run1)"
            )
        if Path(self.runs_dir).exists() and not Path(self.runs_dir).is_dir():
            raise ChatcloneError(
                f"--runs-dir {self.runs_dir} is a file; give a folder for the runs"
            )

    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / self.run_name


@dataclass
class DataOptions(Group):
    section = "data"
    data: str = opt(
        "", "chat export file or folder, or 'sample' for the bundled demo dialogues", metavar="PATH"
    )
    min_messages: int | None = opt(
        None,
        "keep conversations with at least this many messages "
        f"(default 11, {SAMPLE_MIN_MESSAGES} for the bundled sample)",
    )
    two_senders_only: bool = opt(True, "keep only conversations between exactly two senders")
    merge_consecutive: bool = opt(True, "merge consecutive messages of one sender into one turn")
    val_fraction: float = opt(
        0.1,
        "share of conversations held out for validation and `eval` "
        "(whole conversations, chosen by --seed; 0: none)",
    )
    cache: bool = opt(True, "reuse tokenised data cached by content hash and options")

    def check(self) -> None:
        if not self.data:
            raise ChatcloneError("no training data: pass --data EXPORT (or --data sample)")
        must(
            0 <= self.val_fraction < 1, "val_fraction", "at least 0 and below 1", self.val_fraction
        )
        must(
            self.min_messages is None or self.min_messages >= 1,
            "min_messages",
            "at least 1",
            self.min_messages,
        )
        local = Path(self.data).expanduser()  # stored absolute: the run works from anywhere
        if local.exists():
            self.data = str(local.resolve())

    @property
    def effective_min_messages(self) -> int:
        if self.min_messages is not None:
            return self.min_messages
        sample = self.data == "sample" or self.data.startswith("chatterbot:")
        return SAMPLE_MIN_MESSAGES if sample else 11


@dataclass
class ModelOptions(Group):
    section = "model"
    model: str = opt(
        EMBEDDED,
        "base model: 'embedded' (SmolLM2-135M-Instruct, offline), a "
        "Hugging Face hub id such as gpt2, or a local save_pretrained folder",
        metavar="NAME_OR_PATH",
    )
    lora: bool = opt(False, "train a LoRA adapter (peft) instead of all weights")
    lora_r: int = opt(8, "LoRA rank")
    lora_alpha: int = opt(16, "LoRA scaling numerator (scale = alpha / r)")
    lora_dropout: float = opt(0.05, "dropout on the LoRA branch")
    lora_target: list[str] = opt(
        [], "module names to adapt (default: chosen per architecture)", metavar="NAME"
    )
    merge_lora: bool = opt(False, "save the final model with the adapter merged into full weights")
    prompt_style: str = opt(
        "auto",
        "how dialogues are written for the model: 'native' (the instruct model's own chat "
        "template: the other side as user, the persona as assistant; it measured the higher "
        "style fidelity), 'tags' (<speaker2>/<speaker1> lines, the workshop format, any model), "
        "'named' (tags for group chats: each line of the other side names its sender, "
        "'<speaker2> Name: text'; group chats are kept) "
        "or 'auto' (native when the model has a chat template, else tags); chat, reply, serve, "
        "eval and export follow the run's style",
        choices=("auto", "native", "tags", "named"),
    )
    system_prompt: str = opt(
        "Reply as yourself, in your own words.",
        "system message of --prompt-style native, the same in training and chat",
        metavar="TEXT",
    )

    def check(self) -> None:
        must(self.lora_r >= 1, "lora_r", "at least 1", self.lora_r)
        must(
            0 <= self.lora_dropout < 1, "lora_dropout", "at least 0 and below 1", self.lora_dropout
        )
        local = Path(self.model).expanduser()
        if self.model and local.exists():
            self.model = str(local.resolve())


@dataclass
class TrainingOptions(Group):
    section = "training"
    block_size: int = opt(
        256,
        "longest training example in tokens; longer conversations are windowed at turn boundaries",
    )
    batch_size: int = opt(8, "examples per micro-batch (per process)")
    grad_accum: int = opt(
        1,
        "micro-batches per optimizer step (gradient accumulation)",
        aliases=["--gradient-accumulation-steps"],
    )
    lr: float = opt(1e-4, "peak learning rate (AdamW)", aliases=["--learning-rate"])
    weight_decay: float = opt(0.01, "AdamW weight decay (not applied to biases and norms)")
    warmup_ratio: float = opt(0.1, "share of the optimizer steps spent warming up linearly")
    max_grad_norm: float = opt(1.0, "gradient clipping norm")
    epochs: float | None = opt(
        None, "passes over the data (default 1; with --minutes and no --max-steps: as many as fit)"
    )
    max_steps: int | None = opt(None, "stop after this many optimizer steps")
    minutes: float | None = opt(
        None,
        "time budget: stop and save when the next step would pass N minutes of training (the "
        "earlier of --max-steps and --minutes wins; not carried over by --resume)",
    )
    seed: int = opt(42, "random seed (data order, held-out split, new embeddings, dropout)")
    train_on: str = opt(
        "persona",
        "whose turns carry the loss: only the persona's replies, or "
        "every turn (the original behaviour)",
        choices=["persona", "all"],
    )
    val_every: int = opt(50, "compute the validation loss every N optimizer steps (and at the end)")
    early_stopping: int = opt(0, "stop after this many validations without a new best (0: off)")
    final_model: str = opt(
        "best",
        "which weights the run folder keeps: the lowest validation loss or the last step",
        choices=["best", "last"],
    )

    def check(self) -> None:
        for name in ("block_size", "batch_size", "grad_accum", "val_every"):
            must(getattr(self, name) >= 1, name, "at least 1", getattr(self, name))
        must(
            self.max_steps is None or self.max_steps >= 1, "max_steps", "at least 1", self.max_steps
        )
        must(self.epochs is None or self.epochs > 0, "epochs", "above 0", self.epochs)
        must(self.minutes is None or self.minutes > 0, "minutes", "above 0", self.minutes)
        must(self.lr > 0, "lr", "above 0", self.lr)
        must(self.weight_decay >= 0, "weight_decay", "at least 0", self.weight_decay)
        must(0 <= self.warmup_ratio <= 1, "warmup_ratio", "between 0 and 1", self.warmup_ratio)
        must(self.max_grad_norm > 0, "max_grad_norm", "above 0", self.max_grad_norm)
        must(self.early_stopping >= 0, "early_stopping", "at least 0", self.early_stopping)


@dataclass
class HardwareOptions(Group):
    section = "hardware"
    device: str = opt("auto", "auto picks CUDA, then MPS, then CPU", choices=DEVICES)
    mixed_precision: str = opt(
        "auto",
        "auto: bf16 autocast on CUDA, none elsewhere",
        choices=["auto", "no", "bf16", "fp16"],
    )


@dataclass
class OutputOptions(Group):
    section = "output"
    resume: bool = opt(
        False,
        "continue the run from its latest checkpoint, with the options "
        "and data saved in the run folder (no need to repeat them)",
    )
    overwrite: bool = opt(False, "replace an existing run of this name (only a run folder)")
    save_every: int = opt(50, "write a checkpoint every N optimizer steps")
    keep_checkpoints: int = opt(1, "checkpoints kept (each ~3x the model; for --resume only)")
    tensorboard: bool = opt(True, "write TensorBoard event files into <run>/tensorboard")
    report: bool = opt(
        True,
        "at the end, evaluate against the base model and write report.html "
        "(chatclone eval does it later)",
    )

    def check(self) -> None:
        must(self.save_every >= 1, "save_every", "at least 1", self.save_every)
        must(self.keep_checkpoints >= 1, "keep_checkpoints", "at least 1", self.keep_checkpoints)
        if self.resume and self.overwrite:
            raise ChatcloneError("--resume continues a run, --overwrite replaces it: pass one")


class TrainConfig(Options):
    """`chatclone train`: what the run folder saves as `chatclone.json`."""

    groups = {
        "run": RunOptions,
        "source": DataOptions,
        "input": InputOptions,
        "base": ModelOptions,
        "training": TrainingOptions,
        "hardware": HardwareOptions,
        "output": OutputOptions,
    }
