"""What the reply engine returns (`Reply`), and how much of a growing reply may be streamed
(`settled`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Reply:
    text: str
    tokens: int  # tokens generated (the stop token not counted)
    ended: bool  # True if the turn ended by itself (not cut by max_new_tokens or a cancel)
    seconds: float
    first_token_seconds: float
    cancelled: bool = False
    prompt_tokens: int = 0
    raw: str = ""  # what the model wrote, special tokens and the stop token kept (eval's self-talk)

    @property
    def finish_reason(self) -> str:
        """OpenAI's vocabulary: 'stop' for a natural end, 'length' when cut short."""
        return "stop" if self.ended else "length"


def settled(text: str, markers: list[str]) -> str:
    """The prefix of `text` that can no longer change: a suffix that could be the start of a
    marker is held back, and so is trailing whitespace (the final reply is stripped) and an
    incomplete UTF-8 character (decoded as U+FFFD until its last byte arrives)."""
    longest = max((len(m) for m in markers), default=1)
    for k in range(min(len(text), longest - 1), 0, -1):
        if any(m.startswith(text[-k:]) for m in markers):
            text = text[:-k]
            break
    return text.rstrip().rstrip("\ufffd")


# Control characters a model may write but a reply must not carry (a terminal would act on
# an escape sequence; a vertical tab breaks one-reply-a-line output); the Unicode line and
# paragraph separators are line breaks like the newline, which ends a turn where turns are lines.
_SHOWN = {c: None for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if chr(c) not in "\n\t"}
_SHOWN |= {0x2028: "\n", 0x2029: "\n"}


def showable(text: str) -> str:
    """`text` as a reply may show it."""
    return text.translate(_SHOWN)
