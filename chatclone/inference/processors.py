"""The logits processors of one reply: those of the sampling options (transformers' own, so
greedy decoding matches `model.generate` with the same options), and the loop guard."""

from __future__ import annotations

from chatclone.inference.guard import LoopGuard
from chatclone.sampling import SamplingOptions


def processors(cfg: SamplingOptions, guard: LoopGuard | None = None):
    """Penalties and bans first (the loop guard among them), then the sampling warpers."""
    from transformers import (
        LogitsProcessorList,
        NoRepeatNGramLogitsProcessor,
        RepetitionPenaltyLogitsProcessor,
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )

    procs = LogitsProcessorList()
    if cfg.repetition_penalty != 1.0:
        procs.append(RepetitionPenaltyLogitsProcessor(cfg.repetition_penalty))
    if cfg.no_repeat_ngram_size > 0:
        procs.append(NoRepeatNGramLogitsProcessor(cfg.no_repeat_ngram_size))
    if guard is not None:
        procs.append(guard)
    if not cfg.is_greedy:
        procs.append(TemperatureLogitsWarper(cfg.temperature))
        if cfg.top_k > 0:
            procs.append(TopKLogitsWarper(cfg.top_k))
        if 0 < cfg.top_p < 1:
            procs.append(TopPLogitsWarper(cfg.top_p))
    return procs
