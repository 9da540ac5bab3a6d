"""From conversations to dialogues, and THE speaker format used by training and chat alike.

A dialogue is a list of turns, each spoken by the persona (the voice the model learns,
`<speaker1>`) or by the other side (`<speaker2>`). `SpeakerFormat` is the only place that knows
how turns become text and tokens; `train`, `generate` and `chat` all go through it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field, replace

from chatclone.errors import ChatcloneError
from chatclone.records import Conversation
from chatclone.sessions import split_sessions

PERSONA, OTHER = 1, 2


@dataclass(frozen=True)
class Turn:
    speaker: int  # PERSONA or OTHER
    text: str

    def __post_init__(self) -> None:
        if self.speaker not in (PERSONA, OTHER):
            raise ValueError(f"speaker must be {PERSONA} or {OTHER}, got {self.speaker!r}")


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


def clean_text(text: str, fmt: SpeakerFormat = FORMAT) -> str:
    """One line of plain text: control characters removed, whitespace runs collapsed, and no
    speaker tag (a message quoting `<speaker1>` must not be able to fake a turn)."""
    if text.isprintable():
        # Fast path, same result: printable text has no Cc/Cf and no whitespace but ' '.
        for tag in fmt.tags:
            if tag in text:
                text = text.replace(tag, "")
        return (_WHITESPACE.sub(" ", text) if "  " in text else text).strip()
    text = "".join(
        " " if ch in "\n\r\t\v\f" else ch
        for ch in text
        if ch in "\n\r\t\v\f" or unicodedata.category(ch) not in ("Cc", "Cf")
    )
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


def _is_persona(message, persona: str | None) -> bool:
    return message.sender == persona if persona is not None else bool(message.outgoing)


def to_dialogue(conv: Conversation, opts: SelectionOptions, stats: SelectionStats) -> Dialogue:
    """Turns of one conversation, in time order (stable for equal or missing timestamps)."""
    messages = sorted(conv.messages, key=lambda m: m.timestamp if m.timestamp is not None else 0.0)
    turns: list[Turn] = []
    for m in messages:
        text = clean_text(m.text)
        if not text:
            stats.empty_after_cleaning += 1
            continue
        speaker = PERSONA if _is_persona(m, opts.persona) else OTHER
        if opts.merge_consecutive and turns and turns[-1].speaker == speaker:
            turns[-1] = Turn(speaker, turns[-1].text + opts.merge_separator + text)
            stats.merged += 1
        else:
            turns.append(Turn(speaker, text))
    return Dialogue(conv.id, tuple(turns))


def _by_time(conv: Conversation) -> Conversation:
    key = lambda m: m.timestamp if m.timestamp is not None else 0.0  # noqa: E731 (stable sort)
    return replace(conv, messages=tuple(sorted(conv.messages, key=key)))


def select_dialogues(
    conversations: list[Conversation], opts: SelectionOptions = SelectionOptions()
) -> tuple[list[Dialogue], SelectionStats]:
    stats = SelectionStats(conversations=len(conversations))
    dialogues = []
    for conv in conversations:
        stats.messages += len(conv.messages)
        senders = {m.sender for m in conv.messages}
        if opts.two_senders_only and len(senders) != 2:
            stats.removed["senders"] += 1
        elif len(conv.messages) < opts.min_messages:
            stats.removed["length"] += 1
        elif not any(_is_persona(m, opts.persona) for m in conv.messages):
            stats.removed["persona"] += 1
        else:
            for session in split_sessions(_by_time(conv), opts.session_gap_hours):
                dialogue = to_dialogue(session, opts, stats)
                if dialogue.turns:
                    dialogues.append(replace(dialogue, conversation=conv.id))
                    stats.turns += len(dialogue.turns)
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
