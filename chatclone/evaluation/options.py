"""Options of `chatclone eval` and `chatclone report`."""

from __future__ import annotations

from dataclasses import dataclass

from chatclone.config import RunOptions
from chatclone.options import Group, Options, must, opt
from chatclone.sampling import LoadOptions, SamplingOptions

PROBES = [
    "Am I speaking to a bot?",
    "What did you do today?",
    "How are you?",
    "What's your favourite food?",
]


@dataclass
class EvalOptions(Group):
    section = "evaluation"
    samples: int = opt(16, "held-out contexts to sample a reply for")
    probes: list[str] = opt(PROBES, "fixed messages to show replies to", metavar="TEXT")
    base: bool = opt(True, "also evaluate the untrained base model, side by side")
    audit: bool = opt(
        False,
        "memorisation audit: prompt with training turns up to a "
        "private-looking string and count verbatim completions",
    )
    audit_samples: int = opt(20, "training turns to try in the memorisation audit")
    batch_size: int = opt(8, "examples per batch when computing perplexity")

    def check(self) -> None:
        for name in ("samples", "audit_samples", "batch_size"):
            must(getattr(self, name) >= 1, name, "at least 1", getattr(self, name))


class EvalConfig(Options):
    """`chatclone eval`: replies are sampled through the same engine (and options) as chat."""

    groups = {
        "run": RunOptions,
        "load": LoadOptions,
        "sampling": SamplingOptions,
        "evaluation": EvalOptions,
    }
    # Short replies and a fixed seed: the same run scores the same, quickly.
    defaults = {"max_new_tokens": 40, "seed": 0}


class ReportConfig(Options):
    """`chatclone report`."""

    groups = {"run": RunOptions}
