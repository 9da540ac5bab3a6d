"""Which conversations become training dialogues, and how their messages become turns.

The workshop's rules are the defaults: exactly two senders, more than ten messages, sorted by
time, consecutive messages of one sender merged into one turn, text cleaned by the speaker
format. A conversation is judged whole, then cut into sessions at long pauses (all kept).

This runs for every message of every export, so the per-message work is done on whole lists
(comprehensions, `groupby`, C-level helpers) rather than message by message.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import groupby
from operator import attrgetter, itemgetter
from typing import Iterable, Iterator, Sequence

from chatclone.data.records import Conversation, Message, gc_paused, in_time_order
from chatclone.data.sessions import DEFAULT_GAP_HOURS, session_cuts
from chatclone.errors import ChatcloneError
from chatclone.speaker_format import FORMAT, OTHER, PERSONA, Dialogue, Turn, clean_text


@dataclass(frozen=True)
class SelectionRules:
    """Which conversations become training dialogues (the original rules are the defaults).
    Built from the command's options by `data.prepare`; `persona` is decided before this, by
    the `outgoing` mark on each message."""

    min_messages: int = 11  # keep conversations with at least this many messages (">10")
    two_senders_only: bool = True  # keep only conversations with exactly two senders
    merge_consecutive: bool = True  # merge consecutive messages of one sender into one turn
    merge_separator: str = " | "  # shown between merged messages, so they stay distinguishable
    # A pause longer than this starts a new dialogue (0: never). The rules above judge the
    # whole conversation; its sessions are then all kept.
    session_gap_hours: float = DEFAULT_GAP_HOURS
    # Persona turns with fewer words are left out (0: none), e.g. 3 drops "Yes." and "Uh-huh.";
    # the other side's turns around one left out then merge (with merge_consecutive).
    min_words: int = 0
    # The named style (`--prompt-style named`): each of the other side's turns keeps its
    # sender's name (the stand-in when redacted), and only one sender's messages merge.
    keep_names: bool = False


@dataclass
class SelectionStats:
    conversations: int = 0
    kept: int = 0
    removed: Counter = field(default_factory=Counter)  # rule -> conversations removed
    messages: int = 0
    empty_after_cleaning: int = 0
    merged: int = 0  # messages folded into the previous turn
    turns: int = 0
    short_turns_removed: int = 0  # persona turns under `min_words` words, left out

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["removed"] = dict(self.removed)
        return d


RULES = {
    "senders": ("did not have exactly 2 senders", "--no-two-senders-only"),
    "length": ("had too few messages", "--min-messages"),
    "persona": ("had no message by the persona", "--persona NAME"),
}


_text, _sender, _outgoing = attrgetter("text"), attrgetter("sender"), attrgetter("outgoing")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
SHORT_WORDS = 2  # a persona turn of at most this many words is "very short" (inspect)


def word_count(text: str) -> int:
    """Words of a turn: whitespace-separated pieces with a letter or digit in them (so the
    ' | ' between merged messages and a lone emoji count for nothing); in Chinese and Japanese,
    written without spaces, each character counts as a word."""
    return sum(max(1, len(_CJK.findall(w))) for w in text.split() if any(map(str.isalnum, w)))


_first, _second, _third, _first_two = itemgetter(0), itemgetter(1), itemgetter(2), itemgetter(0, 1)


def _clean_all(texts: Iterable[str]) -> list[str]:
    """`clean_text` of each; the common plain message (printable, no double space, no '<' that
    could start a tag) needs only `strip`, without a call."""
    if not all(tag[:1] == "<" for tag in FORMAT.tags):
        return [clean_text(t) for t in texts]
    return [
        t.strip() if t.isprintable() and "  " not in t and "<" not in t else clean_text(t)
        for t in texts
    ]


def _session_turns(
    msgs: Sequence[Message], cuts: list[int], opts: SelectionRules, stats: SelectionStats
) -> list[tuple[int, tuple[Turn, ...]]]:
    """(session index, turns) of messages already in time order, cut into sessions at `cuts`:
    cleaned, empty ones dropped, runs merged; sessions left without turns are left out. Works
    on whole lists (comprehensions, `groupby`) rather than message by message or session by
    session: it runs for every message of every export, and sessions are short."""
    texts = _clean_all(map(_text, msgs))
    speakers = [PERSONA if o else OTHER for o in map(_outgoing, msgs)]
    bounds = zip(cuts, cuts[1:] + [len(msgs)])
    sessions = [k for k, (a, b) in enumerate(bounds) for _ in range(b - a)]
    if opts.keep_names:
        return _named_session_turns(msgs, sessions, speakers, texts, opts, stats)
    kept = [x for x in zip(sessions, speakers, texts) if x[2]]
    stats.empty_after_cleaning += len(texts) - len(kept)
    if opts.merge_consecutive:
        sep = opts.merge_separator
        turns = [
            (k, Turn(s, sep.join(map(_third, run)))) for (k, s), run in groupby(kept, _first_two)
        ]
        stats.merged += len(kept) - len(turns)
    else:
        turns = [(k, Turn(s, t)) for k, s, t in kept]
    if opts.min_words:
        turns = _drop_short(turns, opts, stats)
    return [(k, tuple(map(_second, run))) for k, run in groupby(turns, _first)]


def _named_session_turns(
    msgs: Sequence[Message],
    sessions: list[int],
    speakers: list[int],
    texts: list[str],
    opts: SelectionRules,
    stats: SelectionStats,
) -> list[tuple[int, tuple[Turn, ...]]]:
    """`_session_turns` for the named style: the other side's turns carry their sender's name,
    and consecutive messages merge only when one sender wrote them."""
    names = {s: clean_text(s) for s in dict.fromkeys(map(_sender, msgs))}
    who = ["" if p == PERSONA else names[m.sender] for p, m in zip(speakers, msgs)]
    kept = [x for x in zip(sessions, speakers, texts, who) if x[2]]
    stats.empty_after_cleaning += len(texts) - len(kept)
    if opts.merge_consecutive:
        sep = opts.merge_separator
        turns = [
            (k, Turn(s, sep.join(map(_third, run)), n))
            for (k, s, n), run in groupby(kept, itemgetter(0, 1, 3))
        ]
        stats.merged += len(kept) - len(turns)
    else:
        turns = [(k, Turn(s, t, n)) for k, s, t, n in kept]
    if opts.min_words:
        turns = _drop_short(turns, opts, stats)
    return [(k, tuple(map(_second, run))) for k, run in groupby(turns, _first)]


def _drop_short(
    turns: list[tuple[int, Turn]], opts: SelectionRules, stats: SelectionStats
) -> list[tuple[int, Turn]]:
    """Without the persona's turns of fewer than `min_words` words (counted in the stats); the
    other side's turns that then follow each other merge, as consecutive messages do."""
    kept = [
        (k, t) for k, t in turns if t.speaker != PERSONA or word_count(t.text) >= opts.min_words
    ]
    stats.short_turns_removed += len(turns) - len(kept)
    if not opts.merge_consecutive or len(kept) == len(turns):
        return kept
    sep = opts.merge_separator
    return [
        (k, Turn(s, sep.join(t.text for _, t in run), n))
        for (k, s, n), run in groupby(kept, lambda x: (x[0], x[1].speaker, x[1].name))
    ]


def persona_turn_words(conv: Conversation, gap_hours: float) -> list[int]:
    """`word_count` of each persona turn of a conversation, the turns made as for training
    with the default rules (time order, sessions, consecutive messages merged)."""
    msgs = in_time_order(conv.messages)
    if not msgs:
        return []
    cuts = session_cuts(msgs, gap_hours)
    sessions = _batched_session_turns(msgs, cuts, SelectionRules(), SelectionStats())
    return [word_count(t.text) for _, ts in sessions for t in ts if t.speaker == PERSONA]


BATCH = 8192  # messages per `_session_turns` call: bounds its working lists, not the output


def _batched_session_turns(
    msgs: Sequence[Message], cuts: list[int], opts: SelectionRules, stats: SelectionStats
) -> Iterator[tuple[int, tuple[Turn, ...]]]:
    """`_session_turns` over whole sessions, about BATCH messages at a time."""
    ends = cuts[1:] + [len(msgs)]
    i = 0
    while i < len(cuts):
        j = i + 1
        while j < len(cuts) and ends[j] - cuts[i] <= BATCH:
            j += 1
        base = cuts[i]
        part = msgs[base : ends[j - 1]] if len(cuts) > 1 else msgs
        for k, turns in _session_turns(part, [c - base for c in cuts[i:j]], opts, stats):
            yield i + k, turns
        i = j


def select_dialogues(
    conversations: list[Conversation], opts: SelectionRules = SelectionRules()
) -> tuple[list[Dialogue], SelectionStats]:
    with gc_paused():
        return _select(conversations, opts)


def _select(
    conversations: list[Conversation], opts: SelectionRules
) -> tuple[list[Dialogue], SelectionStats]:
    stats = SelectionStats(conversations=len(conversations))
    dialogues = []
    for conv in conversations:
        msgs = conv.messages
        stats.messages += len(msgs)
        senders = set(map(_sender, msgs))
        if opts.two_senders_only and len(senders) != 2:
            stats.removed["senders"] += 1
        elif len(msgs) < opts.min_messages:
            stats.removed["length"] += 1
        elif not any(map(_outgoing, msgs)):
            stats.removed["persona"] += 1
        else:
            msgs = in_time_order(msgs)
            cuts = session_cuts(msgs, opts.session_gap_hours)
            split = len(cuts) > 1
            for k, turns in _batched_session_turns(msgs, cuts, opts, stats):
                dialogues.append(
                    Dialogue(f"{conv.id}#{k + 1}" if split else conv.id, turns, conv.id)
                )
                stats.turns += len(turns)
    stats.kept = len(dialogues)
    if not dialogues:
        raise ChatcloneError(no_dialogue_message(stats, opts))
    return dialogues, stats


def no_dialogue_message(stats: SelectionStats, opts: SelectionRules) -> str:
    parts = [
        f"{n} {RULES[rule][0]} (relax with {RULES[rule][1]})"
        for rule, n in stats.removed.items()
        if n
    ]
    detail = "; ".join(parts) or "every conversation was empty after cleaning"
    return (
        f"no conversation passed the filters: of {stats.conversations} conversation(s), {detail}. "
        f"Current settings: min_messages={opts.min_messages}, two_senders_only={opts.two_senders_only}."
    )
