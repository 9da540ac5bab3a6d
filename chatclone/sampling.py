"""Options of replying: loading a finished run, sampling, and the `chat` and `reply` commands.

`SamplingOptions` is the one set of sampling options: chat, reply, serve and eval all take it,
so the same values are accepted and refused everywhere, and the reply engine reads only it.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatclone.config import DEVICES, RunOptions
from chatclone.options import Group, Options, must, opt

# The range of the reply budget a run gives when --max-new-tokens is not set (inference.length).
MIN_BUDGET, MAX_BUDGET = 16, 256


@dataclass
class LoadOptions(Group):
    section = "model"
    weights: str = opt(
        "float32",
        "precision of the weights when replying: bfloat16 (torch) halves the memory read per "
        "token; int8 and int4 (onnx backend) read a quarter and an eighth, for faster replies "
        "that differ slightly (see docs/benchmarks.md)",
        choices=["float32", "bfloat16", "int8", "int4"],
    )
    backend: str = opt(
        "auto",
        "what computes the model: onnx (ONNX Runtime, about 2x faster on CPU, same replies at "
        "float32; converted once into the run folder) or torch; auto takes onnx where it is "
        "installed and can run the model, else torch (CHATCLONE_BACKEND sets what auto means)",
        choices=["auto", "torch", "onnx"],
    )
    device: str = opt("auto", "auto picks CUDA, then MPS, then CPU", choices=DEVICES)


@dataclass
class SamplingOptions(Group):
    """How the reply engine samples: the same options for chat, reply, serve and eval."""

    section = "sampling"
    temperature: float = opt(0.8, "sampling temperature; 0 means greedy")
    top_k: int = opt(50, "sample among the k most likely tokens (0: no limit)")
    top_p: float = opt(0.9, "nucleus sampling: smallest token set with this probability")
    greedy: bool = opt(False, "always take the most likely token (deterministic)")
    max_new_tokens: int | None = opt(
        None,
        "longest reply in tokens; a reply cut short ends at its last full sentence "
        f"(default: from the run, a long turn of the persona's, within {MIN_BUDGET}-{MAX_BUDGET})",
    )
    min_new_tokens: int = opt(
        1, "shortest reply in tokens (the turn cannot end before; 1: never empty)"
    )
    repetition_penalty: float = opt(1.0, "penalise tokens already in the context (1: off)")
    no_repeat_ngram_size: int = opt(0, "never repeat a sequence of this many tokens (0: off)")
    loop_guard: int = opt(
        4,
        "never write a sequence of this many tokens that the reply or the persona's recent "
        "turns already wrote: no loops, no copied answers (0: off)",
    )
    seed: int | None = opt(
        None, "seed for reproducible sampling (one per conversation: the whole chat repeats)"
    )
    history_turns: int = opt(6, "turns of past conversation given to the model as context")
    history_tokens: int | None = opt(
        None,
        "most tokens of past conversation given as context; "
        "the oldest turns are dropped first (default: what fits "
        "the model)",
    )
    stop: list[str] = opt([], "extra texts that end the reply", metavar="TEXT")
    memory: int = opt(
        3,
        "before the conversation, show the model the persona's own replies to the K messages "
        "of the training split most like the newest one: it raised style fidelity (0: off)",
        metavar="K",
    )

    def check(self) -> None:
        must(self.temperature >= 0, "temperature", "at least 0", self.temperature)
        must(self.memory >= 0, "memory", "at least 0", self.memory)
        must(self.top_k >= 0, "top_k", "at least 0", self.top_k)
        must(0 < self.top_p <= 1, "top_p", "above 0 and at most 1", self.top_p)
        most = self.max_new_tokens
        must(most is None or most >= 1, "max_new_tokens", "at least 1", most)
        must(
            0 <= self.min_new_tokens <= (self.min_new_tokens if most is None else most),
            "min_new_tokens",
            "between 0 and --max-new-tokens",
            self.min_new_tokens,
        )
        must(self.repetition_penalty > 0, "repetition_penalty", "above 0", self.repetition_penalty)
        must(
            self.no_repeat_ngram_size >= 0,
            "no_repeat_ngram_size",
            "at least 0",
            self.no_repeat_ngram_size,
        )
        guard = self.loop_guard
        must(guard == 0 or guard >= 2, "loop_guard", "0 (off) or at least 2", guard)
        must(self.history_turns >= 0, "history_turns", "at least 0", self.history_turns)
        must(
            self.history_tokens is None or self.history_tokens >= 1,
            "history_tokens",
            "at least 1",
            self.history_tokens,
        )

    @property
    def is_greedy(self) -> bool:
        return self.greedy or self.temperature <= 0


@dataclass
class TargetOptions(Group):
    section = "model"
    base: bool = opt(
        False,
        "talk to the run's untrained base model instead, in its own chat format (to compare)",
    )


@dataclass
class OpeningOptions(Group):
    section = "conversation"
    opening: list[str] = opt(
        ["Hi!", "Hey!"],
        "the short history the chat starts from: turns "
        "alternating between the other side and the persona",
        metavar="TEXT",
    )
    user_name: str = opt(
        "You",
        "who you are in a --prompt-style named run (the name your lines carry)",
        metavar="NAME",
    )


@dataclass
class TerminalOptions(Group):
    section = "terminal"
    quiet: bool = opt(False, "print only the replies (no banner, no prompts)")


class ReplyConfig(Options):
    """`chatclone reply`: one reply to one message."""

    groups = {
        "run": RunOptions,
        "load": LoadOptions,
        "target": TargetOptions,
        "sampling": SamplingOptions,
        "conversation": OpeningOptions,
    }


class ChatConfig(Options):
    """`chatclone chat`: a conversation in the terminal."""

    groups = {**ReplyConfig.groups, "terminal": TerminalOptions}
