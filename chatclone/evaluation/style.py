"""The habits people notice first: length, punctuation, emoji and casing of a set of replies.

`profile` describes a set of replies with a few shares and means; `eval` shows the clone's and
the base model's next to the persona's real replies, so "writes in lower case, never ends
with a full stop, two emoji a message" is visible at a glance.
"""

from __future__ import annotations

import re
import unicodedata
from statistics import mean

_WORD = re.compile(r"\S+")


def _is_emoji(ch: str) -> bool:
    return unicodedata.category(ch) == "So" or 0x1F000 <= ord(ch) <= 0x1FAFF


def _share(replies: list[str], test) -> float:
    return sum(1 for r in replies if test(r)) / len(replies) if replies else 0.0


def _letters(text: str) -> str:
    return "".join(ch for ch in text if ch.isalpha())


PROFILE = {
    "words": ("words per reply", None),
    "chars": ("characters per reply", None),
    "ends_with_stop": ("share ending with . ! or ?", lambda r: r.rstrip()[-1:] in (".", "!", "?")),
    "question": ("share with a question mark", lambda r: "?" in r),
    "exclamation": ("share with an exclamation mark", lambda r: "!" in r),
    "ellipsis": ("share with '...'", lambda r: "..." in r or "…" in r),
    "emoji": ("share with an emoji", lambda r: any(_is_emoji(ch) for ch in r)),
    "starts_lower": (
        "share starting in lower case",
        lambda r: bool(_letters(r)) and _letters(r)[0].islower(),
    ),
    "all_lower": (
        "share written all in lower case",
        lambda r: bool(_letters(r)) and _letters(r) == _letters(r).lower(),
    ),
}


def profile(replies: list[str]) -> dict[str, float]:
    """Each habit of PROFILE for these replies (empty replies left out)."""
    replies = [r for r in replies if r.strip()]
    out = {
        "words": mean(len(_WORD.findall(r)) for r in replies) if replies else 0.0,
        "chars": mean(len(r) for r in replies) if replies else 0.0,
    }
    for key, (_, test) in PROFILE.items():
        if test is not None:
            out[key] = _share(replies, test)
    return out


def label(key: str) -> str:
    return PROFILE[key][0]
