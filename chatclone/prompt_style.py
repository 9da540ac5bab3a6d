"""The prompt styles a run can be trained and chatted in (`--prompt-style`).

`tags` is the workshop's format (`SpeakerFormat`: `<speaker2> ...` / `<speaker1> ...` lines,
two new special tokens); `named` is `tags` for group chats: the other side's lines say who
spoke (`<speaker2> Name: ...`), the persona's lines are unchanged; `native` is the instruct model's own chat template: the other side
speaks as the user, the persona as the assistant, after a system line. `ChatTemplateFormat`
learns the template's wrappers once, by rendering probe messages, and then encodes turn by
turn like `SpeakerFormat` does, so training masks and windows turns the same way for both
and the reply engine prompts with exactly what training saw. Message text is always encoded
as plain text: a typed `<|im_end|>` stays characters, never the special token.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatclone.errors import ChatcloneError
from chatclone.speaker_format import FORMAT, NAMED, PERSONA, SpeakerFormat, Turn

STYLES = ("auto", "native", "tags", "named")
TAG_STYLES = ("tags", "named")  # the styles written with speaker tags (new special tokens)
P1, P2, P3, SYS = (
    "chatcloneprobeone",
    "chatcloneprobetwo",
    "chatcloneprobethree",
    "chatcloneprobesys",
)


def plain_ids(tokenizer, text: str) -> list[int]:
    """Token ids of user text, special-token look-alikes included as ordinary characters."""
    return tokenizer(text, add_special_tokens=False, split_special_tokens=True)["input_ids"]


def _between(text: str, start: str, end: str | None) -> str:
    after = text.split(start, 1)[1]
    return after.split(end, 1)[0] if end else after


@dataclass(frozen=True)
class ChatTemplateFormat:
    """A chat template reduced to the text around each message (learned from probes)."""

    system_block: str  # the whole system message, e.g. "<|im_start|>system\n...<|im_end|>\n"
    user: tuple[str, str]  # (before, after) a user message
    assistant: tuple[str, str]  # (before, after) an assistant message
    style: str = "native"

    @classmethod
    def of(cls, tokenizer, system: str | None = "") -> ChatTemplateFormat:
        """The wrappers of `tokenizer`'s chat template; `system` None keeps the template's own
        default system message (how an untrained instruct model expects to be prompted)."""
        if not getattr(tokenizer, "chat_template", None):
            raise ChatcloneError(
                "--prompt-style native needs a model with a chat template (an instruct model); "
                "this one has none: use --prompt-style tags"
            )
        render = lambda ms, gen=False: tokenizer.apply_chat_template(  # noqa: E731
            ms, tokenize=False, add_generation_prompt=gen
        )
        sys_msg = [{"role": "system", "content": SYS}]
        u1, a2, u3 = (
            {"role": "user", "content": P1},
            {"role": "assistant", "content": P2},
            {"role": "user", "content": P3},
        )
        try:
            full = render([*sys_msg, u1, a2, u3], True)
            user_after = _between(render([*sys_msg, u1]), P1, None)
            assistant_after = _between(render([*sys_msg, u1, a2]), P2, None)
            plain = render([u1])
        except Exception as e:  # jinja errors of templates that refuse the probe
            raise ChatcloneError(
                f"the model's chat template cannot be used for --prompt-style native ({e}); "
                "use --prompt-style tags"
            ) from None
        user_before = _between(full, P2, P3)[len(assistant_after) :]
        assistant_before = _between(full, P1, P2)[len(user_after) :]
        if system is None:  # the template's own default (or none) before the first message
            system_block = plain.split(P1, 1)[0][: -len(user_before) or None]
        else:
            head = full.split(P1, 1)[0][: -len(user_before) or None]
            system_block = head.replace(SYS, system) if system else ""
        return cls(system_block, (user_before, user_after), (assistant_before, assistant_after))

    @property
    def tags(self) -> tuple[str, ...]:
        """The texts that open a turn (a reply that writes one talks for someone else)."""
        return tuple(t for t in (self.assistant[0].strip(), self.user[0].strip()) if t)

    @property
    def turn_end(self) -> str:
        return self.assistant[1].strip() or "\n"

    @property
    def stop_texts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t for t in (self.turn_end, *self.tags) if t))

    def key(self) -> dict:
        """What the tokenised-data cache is keyed by."""
        return {
            "style": self.style,
            "system": self.system_block,
            "u": self.user,
            "a": self.assistant,
        }

    def wrap(self, turn: Turn) -> tuple[str, str]:
        return self.assistant if turn.speaker == PERSONA else self.user

    def render(self, turns) -> str:
        return self.system_block + "".join(
            self.wrap(t)[0] + t.text + self.wrap(t)[1] for t in turns
        )

    def prompt(self, history) -> str:
        return self.render(history) + self.assistant[0]

    def encode_start(self, tokenizer) -> list[int]:
        """Ids every example and every prompt starts with: the system message."""
        return tokenizer(self.system_block, add_special_tokens=False)["input_ids"]

    def encode_turn(self, tokenizer, turn: Turn) -> list[int]:
        before, after = self.wrap(turn)
        ids = tokenizer(before, add_special_tokens=False)["input_ids"]
        return (
            ids
            + plain_ids(tokenizer, turn.text)
            + tokenizer(after, add_special_tokens=False)["input_ids"]
        )

    def encode_prompt(self, tokenizer, history) -> list[int]:
        ids = self.encode_start(tokenizer) + [
            i for t in history for i in self.encode_turn(tokenizer, t)
        ]
        return ids + tokenizer(self.assistant[0], add_special_tokens=False)["input_ids"]

    def end_of_turn(self, text: str, extra=()) -> int | None:
        found = [i for i in (text.find(m) for m in (*self.stop_texts, *extra) if m) if i >= 0]
        return min(found) if found else None


RunFormat = SpeakerFormat | ChatTemplateFormat


def run_format(tokenizer, style: str = "tags", system: str = "") -> RunFormat:
    """The format a run trains and chats in. `auto` is resolved when a run starts
    (`training.models.resolve_prompt_style`); a saved config that still says `auto` is a run
    from before prompt styles, which trained with speaker tags."""
    if style == "native":
        return ChatTemplateFormat.of(tokenizer, system)
    if style == "named":
        return NAMED
    if style not in ("tags", "auto"):
        raise ChatcloneError(f"--prompt-style {style!r}: choose one of {', '.join(STYLES)}")
    return FORMAT


def tag_format(style: str) -> SpeakerFormat | None:
    """The speaker tags a run of this (resolved) style adds to the tokenizer, or None."""
    return FORMAT if style in TAG_STYLES else None
