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

# What `--quick` (the evaluation `train` ends with) looks at: enough to compare with the base
# model at a glance, in well under a minute on a laptop CPU for the embedded model.
QUICK_CONTEXTS = 6
QUICK_PROBES = 2
QUICK_AUDIT = 5
QUICK_PERPLEXITY_EXAMPLES = 32


@dataclass
class EvalOptions(Group):
    section = "evaluation"
    samples: int = opt(
        200, "held-out contexts to sample a reply for (the style-fidelity score wants 200)"
    )
    probes: list[str] = opt(PROBES, "fixed messages to show replies to", metavar="TEXT")
    base: bool = opt(True, "also evaluate the untrained base model, side by side")
    audit: bool = opt(
        False,
        "memorisation audit: prompt with training turns up to a "
        "private-looking string and count verbatim completions",
    )
    audit_samples: int = opt(20, "training turns to try in the memorisation audit")
    batch_size: int = opt(8, "examples per batch when computing perplexity")
    quick: bool = opt(
        False,
        f"quick evaluation (what train runs at its end): at most {QUICK_CONTEXTS} held-out "
        f"contexts, the first {QUICK_PROBES} probes, {QUICK_AUDIT} audit cases and perplexity "
        f"on up to {QUICK_PERPLEXITY_EXAMPLES} held-out examples (--no-quick, eval's default: all)",
    )

    def check(self) -> None:
        for name in ("samples", "audit_samples", "batch_size"):
            must(getattr(self, name) >= 1, name, "at least 1", getattr(self, name))

    @property
    def context_count(self) -> int:
        """Held-out contexts to sample a reply for (`--samples`, capped by `--quick`)."""
        return min(self.samples, QUICK_CONTEXTS) if self.quick else self.samples

    @property
    def probe_messages(self) -> list[str]:
        return self.probes[:QUICK_PROBES] if self.quick else list(self.probes)

    @property
    def audit_cases(self) -> int:
        return min(self.audit_samples, QUICK_AUDIT) if self.quick else self.audit_samples

    @property
    def perplexity_examples(self) -> int | None:
        """Held-out examples the perplexity is computed on (None: all)."""
        return QUICK_PERPLEXITY_EXAMPLES if self.quick else None


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
