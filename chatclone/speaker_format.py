"""THE speaker format: how turns become text and tokens, and where a turn ends.

A dialogue is a list of turns, each spoken by the persona (the voice the model learns,
`<speaker1>`) or by the other side (`<speaker2>`), one turn a line. In the named style
(`--prompt-style named`, for group chats) the other side's lines also say who spoke:
`<speaker2> Name: text`. `SpeakerFormat` is the only place that knows this: training renders and encodes with it, the reply engine builds its prompt
and ends the reply with it, and the exports take their chat templates (and Ollama's stops) from it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

PERSONA, OTHER = 1, 2
DEFAULT_NAME = "You"  # the named style's name for an other-side turn that carries none


@dataclass(frozen=True)
class Turn:
    speaker: int  # PERSONA or OTHER
    text: str
    name: str = ""  # who spoke (the sender's name or stand-in), kept for the named style only

    def __init__(self, speaker: int, text: str, name: str = "") -> None:  # cheaper than generated
        if speaker != PERSONA and speaker != OTHER:
            raise ValueError(f"speaker must be {PERSONA} or {OTHER}, got {speaker!r}")
        object.__setattr__(self, "speaker", speaker)
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "name", name)


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
    """One turn per line: `<speaker1> text` for the persona, `<speaker2> text` for the other side;
    with `names`, `<speaker2> Name: text` (a turn without a name speaks as DEFAULT_NAME)."""

    persona_tag: str = "<speaker1>"
    other_tag: str = "<speaker2>"
    names: bool = False

    @property
    def tags(self) -> tuple[str, str]:
        return (self.persona_tag, self.other_tag)

    def tag(self, speaker: int) -> str:
        return self.persona_tag if speaker == PERSONA else self.other_tag

    def body(self, turn: Turn) -> str:
        """What follows the tag on a turn's line (the tag itself is one special token)."""
        if self.names and turn.speaker == OTHER:
            return f" {turn.name or DEFAULT_NAME}: {turn.text}\n"
        return f" {turn.text}\n"

    def render(self, turns: list[Turn] | tuple[Turn, ...]) -> str:
        plain = type(self).tag is SpeakerFormat.tag and type(self).body is SpeakerFormat.body
        if plain and not self.names:
            persona, other = self.persona_tag, self.other_tag  # the same text, no calls per turn
            return "".join(
                [f"{persona if t.speaker == PERSONA else other} {t.text}\n" for t in turns]
            )
        return "".join(self.tag(t.speaker) + self.body(t) for t in turns)

    def prompt(self, history: list[Turn] | tuple[Turn, ...]) -> str:
        """The text the model continues to speak as the persona."""
        return self.render(history) + self.persona_tag

    def parse(self, text: str) -> list[Turn]:
        turns = []
        for line in text.splitlines():
            for speaker in (PERSONA, OTHER):
                if line.startswith(self.tag(speaker)):
                    text = line[len(self.tag(speaker)) :].strip()
                    name, colon, said = text.partition(": ")
                    if self.names and speaker == OTHER and colon:
                        turns.append(Turn(speaker, said, name))
                    else:
                        turns.append(Turn(speaker, text))
        return turns

    @property
    def turn_end(self) -> str:
        """What closes a turn: a turn is one line, so a newline ends the reply."""
        return "\n"

    @property
    def stop_texts(self) -> tuple[str, ...]:
        """Every text that ends the persona's turn when the model writes it: either speaker
        tag (the model starts another turn) or the newline. Chat, eval and serve stop here, and
        so does an exported Ollama model (its Modelfile's stops)."""
        return (*self.tags, self.turn_end)

    def end_of_turn(self, text: str, extra: tuple[str, ...] | list[str] = ()) -> int | None:
        """Index where the turn ends in generated `text` (the first stop text, or one of the
        caller's `extra` stops), or None while it goes on."""
        found = [i for i in (text.find(m) for m in (*self.stop_texts, *extra) if m) if i >= 0]
        return min(found) if found else None

    def cut_reply(self, text: str) -> tuple[str, bool]:
        """Cut generated text at the end of the persona's turn. Returns (reply, ended)."""
        end = self.end_of_turn(text)
        if end is None:
            return text.strip(), False
        return text[:end].strip(), True

    def encode_turn(self, tokenizer, turn: Turn) -> list[int]:
        """Token ids of one turn: the tag's special token, then the body as plain text (a
        typed `<|im_end|>` or speaker tag stays characters, never becomes a special token)."""
        tag_id = tokenizer.convert_tokens_to_ids(self.tag(turn.speaker))
        body = tokenizer(self.body(turn), add_special_tokens=False, split_special_tokens=True)
        return [tag_id] + body["input_ids"]

    def encode_start(self, tokenizer) -> list[int]:
        """Ids every example and prompt starts with: none in this format."""
        return []

    def key(self) -> dict:
        """What the tokenised-data cache is keyed by."""
        key = {"persona_tag": self.persona_tag, "other_tag": self.other_tag}
        return {**key, "names": True} if self.names else key

    def encode_prompt(self, tokenizer, history: list[Turn] | tuple[Turn, ...]) -> list[int]:
        """The prompt: the history's turns, then the persona's tag that opens the reply."""
        ids = [i for t in history for i in self.encode_turn(tokenizer, t)]
        return ids + [tokenizer.convert_tokens_to_ids(self.persona_tag)]


FORMAT = SpeakerFormat()
NAMED = SpeakerFormat(names=True)  # --prompt-style named: the same tags, the other side named

# Cc (controls), bidi marks and the BOM, except the whitespace we turn into spaces. Other
# format characters stay: ZWJ/ZWNJ join emoji (👩🏻‍⚖️) and spell Persian and Indic words.
_WHITESPACE = re.compile(r"\s+")
_BIDI_AND_BOM = frozenset(
    "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
)


class _CleanTable(dict):
    """`str.translate` table, filled per character on first sight: line breaks and tabs become
    spaces, other controls, bidi marks and the BOM go, everything else stays."""

    def __missing__(self, code: int) -> str | int | None:
        ch = chr(code)
        value = (
            " "
            if ch in "\n\r\t\v\f"
            else None
            if ch in _BIDI_AND_BOM or unicodedata.category(ch) == "Cc"
            else code
        )
        self[code] = value
        return value


_CLEAN = _CleanTable()


def clean_text(text: str, fmt: SpeakerFormat = FORMAT) -> str:
    """One line of plain text: control characters removed, whitespace runs collapsed, and no
    speaker tag (a message quoting `<speaker1>` must not be able to fake a turn, nor can
    `<speaker<speaker1>1>`, which becomes a tag once the inner one is removed)."""
    if text.isprintable():
        # Fast path, same result: printable text has no Cc/Cf and no whitespace but ' '.
        text = _without_tags(text, fmt.tags)
        return (_WHITESPACE.sub(" ", text) if "  " in text else text).strip()
    text = _without_tags(text.translate(_CLEAN), fmt.tags)
    return _WHITESPACE.sub(" ", text).strip()


def _without_tags(text: str, tags: tuple[str, ...]) -> str:
    while any(tag in text for tag in tags):  # each pass shortens the text: it ends
        for tag in tags:
            text = text.replace(tag, "")
    return text
