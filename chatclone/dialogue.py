"""From conversations to dialogues, and THE speaker format used by training and chat alike.

A dialogue is a list of turns, each spoken by the persona (the voice the model learns,
`<speaker1>`) or by the other side (`<speaker2>`). `SpeakerFormat` is the only place that knows
how turns become text and tokens; `train`, `generate` and `chat` all go through it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from itertools import groupby, islice
from operator import attrgetter, itemgetter, le
from typing import Iterable, Iterator, Sequence

from chatclone.errors import ChatcloneError
from chatclone.records import Conversation, Message, gc_paused
from chatclone.sessions import session_cuts

PERSONA, OTHER = 1, 2


@dataclass(frozen=True)
class Turn:
    speaker: int  # PERSONA or OTHER
    text: str

    def __init__(self, speaker: int, text: str) -> None:  # cheaper than the generated one
        if speaker != PERSONA and speaker != OTHER:
            raise ValueError(f"speaker must be {PERSONA} or {OTHER}, got {speaker!r}")
        object.__setattr__(self, "speaker", speaker)
        object.__setattr__(self, "text", text)


@dataclass(frozen=True)
class Dialogue:
    id: str
    turns: tuple[Turn, ...]
    conversation: str = ""  # the conversation this session came from (validation splits by it)

    @property
    def conversation_id(self) -> str:
        return self.conversation or self.id


@dataclass(frozen=True)
class SpeakerFormat:
    """One turn per line: `<speaker1> text` for the persona, `<speaker2> text` for the other side."""

    persona_tag: str = "<speaker1>"
    other_tag: str = "<speaker2>"

    @property
    def tags(self) -> tuple[str, str]:
        return (self.persona_tag, self.other_tag)

    def tag(self, speaker: int) -> str:
        return self.persona_tag if speaker == PERSONA else self.other_tag

    def body(self, turn: Turn) -> str:
        """What follows the tag on a turn's line (the tag itself is one special token)."""
        return f" {turn.text}\n"

    def render(self, turns: list[Turn] | tuple[Turn, ...]) -> str:
        if type(self).tag is SpeakerFormat.tag and type(self).body is SpeakerFormat.body:
            persona, other = self.persona_tag, self.other_tag  # the same text, no calls per turn
            return "".join([f"{persona if t.speaker == PERSONA else other} {t.text}\n" for t in turns])
        return "".join(self.tag(t.speaker) + self.body(t) for t in turns)

    def prompt(self, history: list[Turn] | tuple[Turn, ...]) -> str:
        """The text the model continues to speak as the persona."""
        return self.render(history) + self.persona_tag

    def parse(self, text: str) -> list[Turn]:
        turns = []
        for line in text.splitlines():
            for speaker in (PERSONA, OTHER):
                if line.startswith(self.tag(speaker)):
                    turns.append(Turn(speaker, line[len(self.tag(speaker)):].strip()))
        return turns

    def cut_reply(self, text: str) -> tuple[str, bool]:
        """Cut generated text at the end of the persona's turn. Returns (reply, ended)."""
        ends = [i for i in (text.find(t) for t in self.tags) if i >= 0]
        newline = text.find("\n")
        if newline >= 0:
            ends.append(newline)
        if not ends:
            return text.strip(), False
        return text[: min(ends)].strip(), True

    def encode_turn(self, tokenizer, turn: Turn) -> list[int]:
        """Token ids of one turn: the tag's special token, then the body."""
        tag_id = tokenizer.convert_tokens_to_ids(self.tag(turn.speaker))
        return [tag_id] + tokenizer(self.body(turn), add_special_tokens=False)["input_ids"]

    def encode_prompt(self, tokenizer, history: list[Turn] | tuple[Turn, ...]) -> list[int]:
        ids = [i for t in history for i in self.encode_turn(tokenizer, t)]
        return ids + [tokenizer.convert_tokens_to_ids(self.persona_tag)]


FORMAT = SpeakerFormat()

# Cc (controls) and Cf (format marks such as U+200E), except the whitespace we turn into spaces.
_WHITESPACE = re.compile(r"\s+")


class _CleanTable(dict):
    """`str.translate` table, filled per character on first sight: line breaks and tabs become
    spaces, other control and format characters go, everything else stays."""

    def __missing__(self, code: int) -> str | int | None:
        ch = chr(code)
        value = " " if ch in "\n\r\t\v\f" else None if unicodedata.category(ch) in ("Cc", "Cf") else code
        self[code] = value
        return value


_CLEAN = _CleanTable()


def clean_text(text: str, fmt: SpeakerFormat = FORMAT) -> str:
    """One line of plain text: control characters removed, whitespace runs collapsed, and no
    speaker tag (a message quoting `<speaker1>` must not be able to fake a turn)."""
    if text.isprintable():
        # Fast path, same result: printable text has no Cc/Cf and no whitespace but ' '.
        for tag in fmt.tags:
            if tag in text:
                text = text.replace(tag, "")
        return (_WHITESPACE.sub(" ", text) if "  " in text else text).strip()
    text = text.translate(_CLEAN)
    for tag in fmt.tags:
        text = text.replace(tag, "")
    return _WHITESPACE.sub(" ", text).strip()


@dataclass(frozen=True)
class SelectionOptions:
    """Which conversations become training dialogues (the original rules are the defaults)."""

    min_messages: int = 11  # keep conversations with at least this many messages (">10")
    two_senders_only: bool = True  # keep only conversations with exactly two senders
    merge_consecutive: bool = True  # merge consecutive messages of one sender into one turn
    merge_separator: str = " | "  # shown between merged messages, so they stay distinguishable
    persona: str | None = None  # sender name of the persona; default: the `outgoing` sender
    # A pause longer than this starts a new dialogue (0: never). The rules above judge the
    # whole conversation; its sessions are then all kept.
    session_gap_hours: float = 0.0


@dataclass
class SelectionStats:
    conversations: int = 0
    kept: int = 0
    removed: Counter = field(default_factory=Counter)  # rule -> conversations removed
    messages: int = 0
    empty_after_cleaning: int = 0
    merged: int = 0  # messages folded into the previous turn
    turns: int = 0

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
_first, _second, _third, _first_two = itemgetter(0), itemgetter(1), itemgetter(2), itemgetter(0, 1)


def _time_key(m: Message) -> float:
    return m.timestamp if m.timestamp is not None else 0.0


def in_time_order(messages: tuple[Message, ...]) -> tuple[Message, ...]:
    """The messages sorted by time, stably (missing timestamps count as 0); the same tuple when
    they already are, which exports almost always are: one pass in C instead of a sort and copy."""
    keys = [m.timestamp for m in messages]
    if None in keys:
        keys = [0.0 if k is None else k for k in keys]
    if all(map(le, keys, islice(keys, 1, None))):
        return messages
    return tuple(sorted(messages, key=_time_key))


def _clean_all(texts: Iterable[str]) -> list[str]:
    """`clean_text` of each; the common plain message (printable, no double space, no '<' that
    could start a tag) needs only `strip`, without a call."""
    if not all(tag[:1] == "<" for tag in FORMAT.tags):
        return [clean_text(t) for t in texts]
    return [t.strip() if t.isprintable() and "  " not in t and "<" not in t else clean_text(t)
            for t in texts]


def _session_turns(msgs: Sequence[Message], cuts: list[int], opts: SelectionOptions,
                   stats: SelectionStats) -> list[tuple[int, tuple[Turn, ...]]]:
    """(session index, turns) of messages already in time order, cut into sessions at `cuts`:
    cleaned, empty ones dropped, runs merged; sessions left without turns are left out. Works
    on whole lists (comprehensions, `groupby`) rather than message by message or session by
    session: it runs for every message of every export, and sessions are short."""
    texts = _clean_all(map(_text, msgs))
    if opts.persona is None:
        speakers = [PERSONA if o else OTHER for o in map(_outgoing, msgs)]
    else:
        speakers = [PERSONA if s == opts.persona else OTHER for s in map(_sender, msgs)]
    bounds = zip(cuts, cuts[1:] + [len(msgs)])
    sessions = [k for k, (a, b) in enumerate(bounds) for _ in range(b - a)]
    kept = [x for x in zip(sessions, speakers, texts) if x[2]]
    stats.empty_after_cleaning += len(texts) - len(kept)
    if opts.merge_consecutive:
        sep = opts.merge_separator
        turns = [(k, Turn(s, sep.join(map(_third, run)))) for (k, s), run in groupby(kept, _first_two)]
        stats.merged += len(kept) - len(turns)
    else:
        turns = [(k, Turn(s, t)) for k, s, t in kept]
    return [(k, tuple(map(_second, run))) for k, run in groupby(turns, _first)]


BATCH = 8192  # messages per `_session_turns` call: bounds its working lists, not the output


def _batched_session_turns(msgs: Sequence[Message], cuts: list[int], opts: SelectionOptions,
                           stats: SelectionStats) -> Iterator[tuple[int, tuple[Turn, ...]]]:
    """`_session_turns` over whole sessions, about BATCH messages at a time."""
    ends = cuts[1:] + [len(msgs)]
    i = 0
    while i < len(cuts):
        j = i + 1
        while j < len(cuts) and ends[j] - cuts[i] <= BATCH:
            j += 1
        base = cuts[i]
        part = msgs[base:ends[j - 1]] if len(cuts) > 1 else msgs
        for k, turns in _session_turns(part, [c - base for c in cuts[i:j]], opts, stats):
            yield i + k, turns
        i = j


def to_dialogue(conv: Conversation, opts: SelectionOptions, stats: SelectionStats) -> Dialogue:
    """Turns of one conversation, in time order (stable for equal or missing timestamps)."""
    parts = _session_turns(in_time_order(conv.messages), [0], opts, stats)
    return Dialogue(conv.id, parts[0][1] if parts else ())


def select_dialogues(
    conversations: list[Conversation], opts: SelectionOptions = SelectionOptions()
) -> tuple[list[Dialogue], SelectionStats]:
    with gc_paused():
        return _select(conversations, opts)


def _select(conversations: list[Conversation], opts: SelectionOptions) -> tuple[list[Dialogue], SelectionStats]:
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
        elif not (opts.persona in senders if opts.persona is not None else any(map(_outgoing, msgs))):
            stats.removed["persona"] += 1
        else:
            msgs = in_time_order(msgs)
            cuts = session_cuts(msgs, opts.session_gap_hours)
            split = len(cuts) > 1
            for k, turns in _batched_session_turns(msgs, cuts, opts, stats):
                dialogues.append(Dialogue(f"{conv.id}#{k + 1}" if split else conv.id, turns, conv.id))
                stats.turns += len(turns)
    stats.kept = len(dialogues)
    if not dialogues:
        raise ChatcloneError(no_dialogue_message(stats, opts))
    return dialogues, stats


def no_dialogue_message(stats: SelectionStats, opts: SelectionOptions) -> str:
    parts = [
        f"{n} {RULES[rule][0]} (relax with {RULES[rule][1]})"
        for rule, n in stats.removed.items() if n
    ]
    detail = "; ".join(parts) or "every conversation was empty after cleaning"
    return (
        f"no conversation passed the filters: of {stats.conversations} conversation(s), {detail}. "
        f"Current settings: min_messages={opts.min_messages}, two_senders_only={opts.two_senders_only}."
    )
