"""Filters on the input side: conversations by title or participant, messages by date."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from chatclone.data.people import norm_name
from chatclone.data.records import Conversation
from chatclone.inputs import parse_day  # noqa: F401 (re-exported)


@dataclass(frozen=True)
class Filters:
    conversations: tuple[str, ...] = ()  # kept if the title or id contains one (any case)
    participants: tuple[str, ...] = ()  # kept if one of them takes part
    since: float | None = None
    until: float | None = None  # exclusive


def apply_filters(
    conversations: list[Conversation], f: Filters, removed: Counter
) -> list[Conversation]:
    """Conversations and messages that pass; what did not is counted in `removed`."""
    keep_titles = [t.casefold() for t in f.conversations]
    keep_people = {norm_name(p) for p in f.participants}
    out = []
    for conv in conversations:
        label = f"{conv.title} {conv.id}".casefold()
        if keep_titles and not any(t in label for t in keep_titles):
            removed["conversation filter"] += 1
            continue
        if keep_people and not keep_people & {norm_name(p) for p in conv.participants}:
            removed["participant filter"] += 1
            continue
        if f.since is not None or f.until is not None:
            msgs = tuple(m for m in conv.messages if _in_range(m.timestamp, f))
            removed["messages outside the date range"] += len(conv.messages) - len(msgs)
            if not msgs:
                removed["date filter"] += 1
                continue
            conv = replace(conv, messages=msgs, participants=conv.participants)
        out.append(conv)
    return out


def _in_range(ts: float | None, f: Filters) -> bool:
    if ts is None:
        return False
    return (f.since is None or ts >= f.since) and (f.until is None or ts < f.until)
