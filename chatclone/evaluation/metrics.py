"""Reply-quality numbers as pure functions of text (no model, no torch), so each has a
hand-computed unit test. Words are lower-cased whitespace-separated tokens."""

from __future__ import annotations

import re
from collections import Counter
from statistics import mean

from chatclone.training.log import perplexity  # noqa: F401 (one definition, re-exported)

_WORD = re.compile(r"\S+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(replies: list[str], n: int) -> float:
    """Distinct n-grams / all n-grams over all replies (Li et al., 2016); 0 with no n-grams."""
    grams = [g for r in replies for g in ngrams(words(r), n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def repetition(reply: str, n: int = 2) -> float:
    """Share of a reply's n-grams that already occurred earlier in the same reply."""
    grams = ngrams(words(reply), n)
    if not grams:
        return 0.0
    counts = Counter(grams)
    return sum(c - 1 for c in counts.values()) / len(grams)


def repetition_rate(replies: list[str], n: int = 2) -> float:
    """Mean of `repetition` over the replies."""
    return mean(repetition(r, n) for r in replies) if replies else 0.0


def self_talk(raw: str, tags: tuple[str, ...]) -> bool:
    """True when a generated turn goes on into another turn: the text the model wrote after
    its own speaker tag (special tokens kept) contains a speaker tag of either side."""
    return any(tag in raw for tag in tags)


def self_talk_rate(raws: list[str], tags: tuple[str, ...]) -> float:
    return sum(self_talk(r, tags) for r in raws) / len(raws) if raws else 0.0


def empty_rate(replies: list[str]) -> float:
    return sum(not r.strip() for r in replies) / len(replies) if replies else 0.0


def mean_words(replies: list[str]) -> float:
    return mean(len(words(r)) for r in replies) if replies else 0.0


def length_ratio(replies: list[str], references: list[str]) -> float:
    """Mean words per generated reply / mean words per real reply (1.0: same length)."""
    ref = mean_words(references)
    return mean_words(replies) / ref if ref else 0.0


def verbatim(completion: str, expected: str) -> bool:
    """Whether a completion starts with the expected text (ignoring leading spaces)."""
    return completion.lstrip().startswith(expected.strip())


def reply_metrics(
    replies: list[str], raws: list[str], references: list[str], tags: tuple[str, ...]
) -> dict[str, float]:
    """Every reply number at once, as reported by `eval`."""
    return {
        "distinct_1": distinct_n(replies, 1),
        "distinct_2": distinct_n(replies, 2),
        "repetition": repetition_rate(replies),
        "self_talk": self_talk_rate(raws, tags),
        "empty": empty_rate(replies),
        "mean_words": mean_words(replies),
        "length_ratio": length_ratio(replies, references),
    }
