"""Sessions: a conversation is cut where two messages are more than `gap` hours apart.

The default, 6 h: a pause longer than an evening break almost always starts a new exchange, and
a model should not learn to answer yesterday's message as if it had just arrived. One rule,
`session_cuts`, serves both the selection of training dialogues and the coverage report.
"""

from __future__ import annotations

from itertools import islice
from operator import sub
from typing import Sequence

from chatclone.data.records import Conversation, Message, in_time_order
from chatclone.inputs import DEFAULT_GAP_HOURS  # noqa: F401 (re-exported)


def session_cuts(msgs: Sequence[Message], gap_hours: float) -> list[int]:
    """Start indices of the sessions of `msgs` (always [0, ...]): a cut wherever consecutive
    timed messages are more than `gap_hours` apart (0: never)."""
    if gap_hours <= 0 or len(msgs) < 2:
        return [0]
    gap = gap_hours * 3600.0
    times = [m.timestamp for m in msgs]
    if None not in times:  # the usual case: differences in C, one comparison per message here
        return [0] + [
            i for i, d in enumerate(map(sub, islice(times, 1, None), times), 1) if d > gap
        ]
    cuts, last = [0], None
    for i, t in enumerate(times):
        if t is not None:
            if last is not None and t - last > gap:
                cuts.append(i)
            last = t
    return cuts


def count_sessions(conv: Conversation, gap_hours: float) -> int:
    """How many sessions `session_cuts` makes of the conversation, in time order."""
    return len(session_cuts(in_time_order(conv.messages), gap_hours))
