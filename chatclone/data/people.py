"""Who is who: whose export it is (the owner), decided once for every conversation.

`--me NAME` (one per platform) names the owner; otherwise the export's own marks are used
(Telegram account export, Hangouts, Google Chat, Chatistics), and where the export has none,
the owner is the one participant present in every conversation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from chatclone.data.records import Conversation
from chatclone.errors import ChatcloneError


def norm_name(name: str) -> str:
    return " ".join(name.casefold().split())


@dataclass
class Owners:
    """The owner's sender names per conversation id, and how they were decided."""

    names: dict[str, frozenset[str]] = field(default_factory=dict)
    how: str = ""
    candidates: list[str] = field(default_factory=list)  # when undecided: who it could be
    people: list = field(default_factory=list)  # a pool dataset's most active `Person`s


# Datasets of many people's chats with each other (no export owner): whose voice to learn is
# `--me`, else the most active sender, and only their conversations are kept.
POOL_PLATFORMS = ("chitchat",)


@dataclass
class Person:
    name: str
    messages: int
    conversations: int


def most_active(conversations: Sequence[Conversation], n: int = 10) -> list[Person]:
    """The `n` senders who wrote most, with their message and conversation counts."""
    messages: Counter = Counter()
    convs: Counter = Counter()
    for c in conversations:
        messages.update(m.sender for m in c.messages)
        convs.update(set(c.participants))
    ranked = sorted(messages, key=lambda s: (-messages[s], s))[:n]
    return [Person(s, messages[s], convs[s]) for s in ranked]


def pool_persona(
    conversations: list[Conversation], me: Sequence[str]
) -> tuple[list[Conversation], list[str], str, list[Person]]:
    """For a pool dataset: (the conversations of the chosen person, [their name], how they
    were chosen, the ten most active people). Conversations pass unchanged, and `me` too,
    when none is from a pool."""
    pool = [c for c in conversations if c.platform in POOL_PLATFORMS]
    if not pool:
        return conversations, list(me), "", []
    from chatclone.data.importers.chitchat import as_pseudonym

    wanted = [as_pseudonym(n) for n in me if n.strip()]
    how = ""
    top = most_active(pool, 10)
    if not wanted:
        wanted = [top[0].name]
        how = f"{wanted[0]}, the most active person of the dataset (--me NAME picks another)"
    keep = {norm_name(n) for n in wanted}
    mine = [c for c in pool if keep & {norm_name(s) for s in c.participants}]
    if not mine:
        names = ", ".join(f"{p.name} ({p.messages} messages)" for p in top[:5])
        raise ChatcloneError(
            f"--me {', '.join(me)}: nobody of that name in the dataset. "
            f"Name one of its people, e.g. the most active: {names}"
        )
    rest = [c for c in conversations if c.platform not in POOL_PLATFORMS]
    return rest + mine, [*me, *wanted] if me else wanted, how, top


def resolve_owners(
    conversations: Sequence[Conversation], me: Sequence[str] = (), strict: bool = True
) -> Owners:
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
            + "; pass the name as one of them is written"
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
        why = "nobody takes part in every conversation; most frequent: " + ", ".join(
            owners.candidates
        )
    hint = " (one --me per platform: add the name used there)" if named else ""
    first = owners.candidates[0]
    # Nobody in every chat: often chats the owner only reads (a group, a channel).
    keep = (
        "" if everywhere else f', or keep only the chats they take part in: --participant "{first}"'
    )
    raise ChatcloneError(
        f'cannot tell whose voice to learn: {why}. Pass --me NAME{hint}, e.g. --me "{first}"{keep}.'
    )
