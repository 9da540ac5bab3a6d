"""Who is who, sessions and filters: the steps between imported conversations and dialogues.

* Owner: whose export it is. `--me NAME` (one per platform) names them; otherwise the export's
  own marks are used (Telegram account export, Hangouts, Google Chat, Chatistics), and where the
  export has none, the owner is the one participant present in every conversation.
* Sessions: a conversation is cut where two messages are more than `gap` apart (default 6 h:
  a pause longer than an evening break almost always starts a new exchange, and a model should
  not learn to answer yesterday's message as if it had just arrived).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field, replace
from itertools import islice
from operator import sub
from typing import Sequence

from chatclone.errors import ChatcloneError
from chatclone.records import Conversation, Message

DEFAULT_GAP_HOURS = 6.0


def norm_name(name: str) -> str:
    return " ".join(name.casefold().split())


@dataclass
class Owners:
    """The owner's sender names per conversation id, and how they were decided."""

    names: dict[str, frozenset[str]] = field(default_factory=dict)
    how: str = ""
    candidates: list[str] = field(default_factory=list)  # when undecided: who it could be

    def is_owner(self, conv: Conversation, sender: str) -> bool:
        return sender in self.names.get(conv.id, ())


def resolve_owners(conversations: Sequence[Conversation], me: Sequence[str] = (),
                   strict: bool = True) -> Owners:
    """Decide the owner of every conversation; with `strict`, an undecidable owner is an error."""
    wanted = {norm_name(n) for n in me if n.strip()}
    owners = Owners()
    unmarked = []
    for conv in conversations:
        senders = conv.participants or tuple({m.sender for m in conv.messages})
        named = frozenset(s for s in senders if norm_name(s) in wanted)
        marked = frozenset(conv.owner_names)
        if named:
            owners.names[conv.id] = named
        elif marked:
            owners.names[conv.id] = marked
        else:
            unmarked.append(conv)
    if wanted and not any(norm_name(s) in wanted for c in conversations for s in c.participants):
        everyone = Counter(s for c in conversations for s in c.participants)
        raise ChatcloneError(
            f"--me {', '.join(me)}: no such participant. Most frequent participants: "
            + ", ".join(f"{n} ({k} conversation(s))" for n, k in everyone.most_common(8))
        )
    hows = []
    if any(c.id in owners.names for c in conversations):
        hows.append("given with --me" if wanted else "marked by the export")
    owners.how = "; ".join(hows)
    if unmarked:
        _infer(unmarked, owners, strict, bool(wanted))
    return owners


def _infer(unmarked: list[Conversation], owners: Owners, strict: bool, named: bool) -> None:
    presence = Counter(norm_name(s) for c in unmarked for s in set(c.participants))
    spelled: dict[str, str] = {}
    for c in unmarked:
        for s in c.participants:
            spelled.setdefault(norm_name(s), s)
    everywhere = sorted(spelled[n] for n, k in presence.items() if k == len(unmarked))
    why = f"takes part in all {len(unmarked)} conversation(s)"
    # A 1:1 chat is titled with the *other* person's name (WhatsApp, Messenger, Telegram, ...).
    titled = {norm_name(c.title) for c in unmarked if len(c.participants) == 2}
    if len(everywhere) > 1 and len([n for n in everywhere if norm_name(n) not in titled]) == 1:
        everywhere = [n for n in everywhere if norm_name(n) not in titled]
        why += " and is not the one the chat is named after"
    if len(everywhere) == 1:
        owner = norm_name(everywhere[0])
        for c in unmarked:
            owners.names[c.id] = frozenset(s for s in c.participants if norm_name(s) == owner)
        hows = [owners.how] if owners.how else []
        owners.how = "; ".join(hows + [f"inferred: {everywhere[0]} {why}"])
        return
    ranked = sorted(presence, key=lambda n: (-presence[n], spelled[n]))
    owners.candidates = everywhere or [spelled[n] for n in ranked[:5]]
    if not strict:
        return
    titles = ", ".join(c.title or c.id for c in unmarked[:5])
    if everywhere:
        why = f"{', '.join(everywhere)} all take part in every conversation ({titles})"
    else:
        why = "nobody takes part in every conversation; most frequent: " + ", ".join(owners.candidates)
    hint = " (one --me per platform: add the name used there)" if named else ""
    raise ChatcloneError(
        f"cannot tell whose voice to learn: {why}. Pass --me NAME{hint}, e.g. --me \"{owners.candidates[0]}\"."
    )


def session_cuts(msgs: Sequence[Message], gap_hours: float) -> list[int]:
    """Start indices of the sessions of `msgs` (always [0, ...]): a cut wherever consecutive
    timed messages are more than `gap_hours` apart (0: never)."""
    if gap_hours <= 0 or len(msgs) < 2:
        return [0]
    gap = gap_hours * 3600.0
    times = [m.timestamp for m in msgs]
    if None not in times:  # the usual case: differences in C, one comparison per message here
        return [0] + [i for i, d in enumerate(map(sub, islice(times, 1, None), times), 1) if d > gap]
    cuts, last = [0], None
    for i, t in enumerate(times):
        if t is not None:
            if last is not None and t - last > gap:
                cuts.append(i)
            last = t
    return cuts


def split_sessions(conv: Conversation, gap_hours: float) -> list[Conversation]:
    """Cut where consecutive timed messages are more than `gap_hours` apart (0: never)."""
    msgs = conv.messages
    cuts = session_cuts(msgs, gap_hours)
    if len(cuts) == 1:
        return [conv]
    cuts.append(len(msgs))
    return [replace(conv, id=f"{conv.id}#{k + 1}", messages=msgs[a:b], participants=conv.participants)
            for k, (a, b) in enumerate(zip(cuts, cuts[1:]))]


def count_sessions(conv: Conversation, gap_hours: float) -> int:
    if gap_hours <= 0:
        return 1
    times = [m.timestamp for m in conv.messages if m.timestamp is not None]
    return 1 + sum(1 for a, b in zip(times, times[1:]) if b - a > gap_hours * 3600.0)


def parse_day(text: str | None, option: str, end: bool = False) -> float | None:
    """YYYY-MM-DD as epoch seconds (start of the day, or the start of the next one for `end`)."""
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ChatcloneError(f"{option} {text!r}: write the date as YYYY-MM-DD, e.g. {option} 2023-01-31") from None
    day += dt.timedelta(days=1) if end else dt.timedelta(0)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()


@dataclass(frozen=True)
class Filters:
    conversations: tuple[str, ...] = ()  # kept if the title or id contains one (any case)
    participants: tuple[str, ...] = ()  # kept if one of them takes part
    since: float | None = None
    until: float | None = None  # exclusive


def apply_filters(conversations: list[Conversation], f: Filters, removed: Counter) -> list[Conversation]:
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
