"""Argument dataclasses of each stage. No torch here: `--help` must stay fast.

`TrainConfig` is saved as `chatclone.json` in every run folder, so a run describes itself and
`chat`/`reply` know the model, tokenizer and format they are talking to.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from chatclone.args import opt
from chatclone.errors import ChatcloneError
from chatclone.input_options import InputOptions

EMBEDDED = "embedded"
SAMPLE_MIN_MESSAGES = 2  # the bundled sample's dialogues are 2-10 utterances long


@dataclass
class RunConfig:
    run_name: str = opt("run1", "name of the run folder under --runs-dir", metavar="NAME")
    runs_dir: str = opt("runs", "folder that holds the runs", metavar="DIR")

    def __post_init__(self) -> None:
        check_run_name(self.run_name)
        if Path(self.runs_dir).exists() and not Path(self.runs_dir).is_dir():
            raise ChatcloneError(f"--runs-dir {self.runs_dir} is a file; give a folder for the runs")

    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / self.run_name


def check_run_name(name: str) -> None:
    if not name or "/" in name or "\\" in name or ".." in name or name.startswith("."):
        raise ChatcloneError(
            f"invalid run name {name!r}: a run name is one folder name, without '/', '\\' or "
            "'..' (e.g. --run-name run1)"
        )


@dataclass
class TrainConfig(RunConfig, InputOptions):
    data: str = opt("", "chat export file or folder, or 'sample' for the bundled demo dialogues",
                    metavar="PATH")
    format: str | None = opt(None, "force an input format instead of detecting it", metavar="NAME")
    model: str = opt(EMBEDDED, "base model: 'embedded' (SmolLM2-135M-Instruct, offline), a "
                     "Hugging Face hub id such as gpt2, or a local save_pretrained folder",
                     metavar="NAME_OR_PATH")
    min_messages: int | None = opt(None, "keep conversations with at least this many messages "
                                   f"(default 11, {SAMPLE_MIN_MESSAGES} for the bundled sample)")
    two_senders_only: bool = opt(True, "keep only conversations between exactly two senders")
    merge_consecutive: bool = opt(True, "merge consecutive messages of one sender into one turn")
    persona: str | None = opt(None, "sender whose voice is learned (default: the export's owner, "
                              "i.e. outgoing messages)", metavar="NAME")
    block_size: int = opt(256, "longest training example in tokens; longer conversations are "
                          "windowed at turn boundaries")
    batch_size: int = opt(8, "examples per micro-batch (per process)")
    grad_accum: int = opt(1, "micro-batches per optimizer step (gradient accumulation)",
                          aliases=["--gradient-accumulation-steps"])
    lr: float = opt(1e-4, "peak learning rate (AdamW)", aliases=["--learning-rate"])
    weight_decay: float = opt(0.01, "AdamW weight decay (not applied to biases and norms)")
    warmup_ratio: float = opt(0.1, "share of the optimizer steps spent warming up linearly")
    max_grad_norm: float = opt(1.0, "gradient clipping norm")
    epochs: float = opt(1.0, "passes over the data (ignored when --max-steps is set)")
    max_steps: int | None = opt(None, "stop after this many optimizer steps")
    save_every: int = opt(50, "write a checkpoint every N optimizer steps")
    keep_checkpoints: int = opt(2, "how many recent checkpoints to keep")
    seed: int = opt(42, "random seed (data order, initialisation of new embeddings, dropout)")
    resume: bool = opt(False, "continue from the run's latest checkpoint")
    device: str = opt("auto", "auto picks CUDA, then MPS, then CPU",
                      choices=["auto", "cpu", "cuda", "mps"])
    mixed_precision: str = opt("auto", "auto: bf16 autocast on CUDA, none elsewhere",
                               choices=["auto", "no", "bf16", "fp16"])
    cache: bool = opt(True, "reuse tokenised data cached by content hash and options")
    # Validation, objective, LoRA and logging (see docs/evaluation.md).
    val_fraction: float = opt(0.1, "share of conversations held out for validation (whole "
                              "conversations, chosen by --seed; 0: none)")
    val_every: int = opt(50, "compute the validation loss every N optimizer steps (and at the end)")
    early_stopping: int = opt(0, "stop after this many validations without a new best (0: off)")
    final_model: str = opt("best", "which weights the run folder keeps: the lowest validation loss "
                           "or the last step", choices=["best", "last"])
    train_on: str = opt("persona", "whose turns carry the loss: only the persona's replies, or "
                        "every turn (the original behaviour)", choices=["persona", "all"])
    lora: bool = opt(False, "train a LoRA adapter (peft) instead of all weights")
    lora_r: int = opt(8, "LoRA rank")
    lora_alpha: int = opt(16, "LoRA scaling numerator (scale = alpha / r)")
    lora_dropout: float = opt(0.05, "dropout on the LoRA branch")
    lora_target: list[str] = opt([], "module names to adapt (default: chosen per architecture)",
                                 metavar="NAME")
    merge_lora: bool = opt(False, "save the final model with the adapter merged into full weights")
    tensorboard: bool = opt(True, "write TensorBoard event files into <run>/tensorboard")
    report: bool = opt(True, "at the end, evaluate against the base model and write report.html")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.data:
            raise ChatcloneError("no training data: pass --data EXPORT (or --data sample)")
        for name in ("block_size", "batch_size", "grad_accum", "save_every"):
            if getattr(self, name) < 1:
                raise ChatcloneError(f"--{name.replace('_', '-')} must be at least 1")
        if not 0 <= self.val_fraction < 1:
            raise ChatcloneError(f"--val-fraction must be at least 0 and below 1 (got {self.val_fraction})")
        for name in ("val_every", "lora_r"):
            if getattr(self, name) < 1:
                raise ChatcloneError(f"--{name.replace('_', '-')} must be at least 1")
        if self.max_steps is not None and self.max_steps < 1:
            raise ChatcloneError(f"--max-steps must be at least 1 (got {self.max_steps})")
        if self.epochs <= 0 or self.lr <= 0:
            raise ChatcloneError("--epochs and --lr must be above 0")
        if not 0 <= self.warmup_ratio <= 1:
            raise ChatcloneError(f"--warmup-ratio must be between 0 and 1 (got {self.warmup_ratio})")
        # Local paths are stored absolute, so the run folder works from any directory.
        for name in ("model", "data"):
            local = Path(getattr(self, name)).expanduser()
            if getattr(self, name) and local.exists():
                setattr(self, name, str(local.resolve()))

    @property
    def effective_min_messages(self) -> int:
        if self.min_messages is not None:
            return self.min_messages
        return SAMPLE_MIN_MESSAGES if self.data == "sample" or self.data.startswith("chatterbot:") else 11

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(dataclasses.asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> "TrainConfig":
        data = json.loads(path.read_text())
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class GenerateConfig:
    weights: str = opt("float32", "precision of the weights when replying: bfloat16 halves the "
                       "memory read per token (about 1.5x faster on CPU, see docs/benchmarks.md)",
                       choices=["float32", "bfloat16"])
    temperature: float = opt(0.8, "sampling temperature; 0 means greedy")
    top_k: int = opt(50, "sample among the k most likely tokens (0: no limit)")
    top_p: float = opt(0.9, "nucleus sampling: smallest token set with this probability")
    greedy: bool = opt(False, "always take the most likely token (deterministic)")
    max_new_tokens: int = opt(80, "longest reply in tokens")
    repetition_penalty: float = opt(1.0, "penalise tokens already in the context (1: off)")
    seed: int | None = opt(None, "seed for reproducible sampling")
    history_turns: int = opt(6, "turns of past conversation given to the model as context")
    device: str = opt("auto", "auto picks CUDA, then MPS, then CPU",
                      choices=["auto", "cpu", "cuda", "mps"])
    min_new_tokens: int = opt(0, "shortest reply in tokens (the turn cannot end before)")
    no_repeat_ngram_size: int = opt(0, "never repeat a sequence of this many tokens (0: off)")
    history_tokens: int | None = opt(None, "most tokens of past conversation given as context; "
                                     "the oldest turns are dropped first (default: what fits "
                                     "the model)")
    stop: list[str] = opt([], "extra texts that end the reply", metavar="TEXT")

    def __post_init__(self) -> None:
        check_generate(self)


def check_generate(cfg: "GenerateConfig") -> None:
    """Raise a ChatcloneError naming the option if a sampling setting is out of range."""
    rules = [
        ("temperature", cfg.temperature >= 0, "at least 0"),
        ("top_k", cfg.top_k >= 0, "at least 0"),
        ("top_p", 0 < cfg.top_p <= 1, "above 0 and at most 1"),
        ("max_new_tokens", cfg.max_new_tokens >= 1, "at least 1"),
        ("min_new_tokens", 0 <= cfg.min_new_tokens <= cfg.max_new_tokens,
         "between 0 and --max-new-tokens"),
        ("repetition_penalty", cfg.repetition_penalty > 0, "above 0"),
        ("no_repeat_ngram_size", cfg.no_repeat_ngram_size >= 0, "at least 0"),
        ("history_turns", cfg.history_turns >= 0, "at least 0"),
        ("history_tokens", cfg.history_tokens is None or cfg.history_tokens >= 1, "at least 1"),
    ]
    for name, ok, want in rules:
        if not ok:
            raise ChatcloneError(f"--{name.replace('_', '-')} must be {want} "
                                 f"(got {getattr(cfg, name)})")


@dataclass
class ChatConfig(RunConfig, GenerateConfig):
    quiet: bool = opt(False, "print only the replies (no banner, no prompts)")
    opening: list[str] = opt(["Hi!", "Hey!"], "the short history the chat starts from: turns "
                             "alternating between the other side and the persona", metavar="TEXT")

    def __post_init__(self) -> None:
        RunConfig.__post_init__(self)  # RunConfig does not chain to GenerateConfig
        check_generate(self)
