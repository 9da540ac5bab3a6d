"""How long a reply may be: the default budget from the persona's real turns, and where the last
sentence ends (a reply that runs out of budget ends there rather than mid-sentence)."""

from __future__ import annotations

import math
import re

from chatclone.sampling import MAX_BUDGET, MIN_BUDGET
from chatclone.speaker_format import PERSONA, Dialogue

DEFAULT_BUDGET = 80  # without a run (an engine made in code) or without persona turns
PERCENTILE = 0.95
SAMPLE = 5000  # persona turns measured at most: enough for a percentile, quick at load

# A sentence ends at . ! ? or … (closing quotes and brackets kept), followed by a space or, in a
# finished reply, its end.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s|$)")


def reply_budget(dialogues: list[Dialogue], turn_ids) -> int:
    """Tokens a reply may take when the user did not say: the persona's long turns (the 95th
    percentile of its turn lengths, measured with `turn_ids`) with a margin, within
    MIN_BUDGET..MAX_BUDGET."""
    texts = [t.text for d in dialogues for t in d.turns if t.speaker == PERSONA]
    if not texts:
        return DEFAULT_BUDGET
    texts = texts[:: max(1, math.ceil(len(texts) / SAMPLE))]
    lengths = sorted(len(turn_ids(t)) for t in texts)
    long_turn = lengths[max(0, math.ceil(PERCENTILE * len(lengths)) - 1)]  # nearest rank
    return max(MIN_BUDGET, min(MAX_BUDGET, math.ceil(long_turn * 1.25) + 4))


def sentence_end(text: str, final: bool) -> int:
    """Where the last complete sentence of `text` ends (0: none). Unless `final`, a sentence
    mark at the very end does not count yet: the next token may go on ("3." -> "3.5")."""
    end = 0
    for m in _SENTENCE_END.finditer(text):
        if final or m.end() < len(text):
            end = m.end()
    return end
