"""How the reply engine prompts a model, and where the model's turn ends.

A trained run speaks the speaker format it was trained on (`SpeakerPrompt`, over
`SpeakerFormat`). The run's untrained base model (`--base`, for comparison) is prompted in its
own chat template when its tokenizer has one (`TemplatePrompt`: user = the other side,
assistant = the persona) and stops at that template's end-of-turn token; without a template it
gets the speaker format too. The engine decodes the same way for both: only the prompt, the
stop tokens and the stop texts come from here.
"""

from __future__ import annotations

from chatclone.errors import ChatcloneError
from chatclone.prompt_style import ChatTemplateFormat, plain_ids, run_format
from chatclone.speaker_format import FORMAT, PERSONA, SpeakerFormat, Turn


class PromptFormat:
    """What the engine asks of a prompt format (call its methods under the engine's lock: the
    tokenizer is shared by concurrent generations)."""

    stop_texts: tuple[str, ...] = ()  # texts that end the turn when the model writes them
    turn_end: str | None = None  # the text that closes a turn (banned below min_new_tokens)

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def encode(self, turns: list[Turn]) -> list[int]:
        """Prompt ids: the turns, then whatever opens the persona's reply."""
        raise NotImplementedError

    def stop_ids(self) -> set[int]:
        """Tokens that end the turn (never part of the reply)."""
        eos = self.tokenizer.eos_token_id
        return set() if eos is None else {eos}

    def turn_ids(self, text: str) -> list[int]:
        """A persona turn's text as the model writes it in a reply (the loop guard and the
        reply budget measure turns in these tokens)."""
        return plain_ids(self.tokenizer, text)

    def end_of_turn(self, text: str, extra: tuple[str, ...] | list[str] = ()) -> int | None:
        found = [i for i in (text.find(m) for m in (*self.stop_texts, *extra) if m) if i >= 0]
        return min(found) if found else None

    def _template_stop_ids(self) -> set[int]:
        """A chat template's turn ends: EOS, any special token, and each stop text that is
        one token of the vocabulary."""
        single = (self._single_token(s) for s in self.stop_texts)
        return (
            PromptFormat.stop_ids(self)
            | set(self.tokenizer.all_special_ids)
            | {i for i in single if i is not None}
        )

    def _single_token(self, text: str) -> int | None:
        """The id of `text` if the vocabulary has it as one token."""
        tid = self.tokenizer.convert_tokens_to_ids(text)
        if tid is None or tid == self.tokenizer.unk_token_id:
            return None
        return tid


class SpeakerPrompt(PromptFormat):
    """The speaker format: `<speaker2> ...` lines, then `<speaker1>`; the turn ends at EOS, a
    speaker tag or the newline (`SpeakerFormat.end_of_turn`)."""

    def __init__(self, tokenizer, fmt: SpeakerFormat = FORMAT):
        super().__init__(tokenizer)
        self.fmt = fmt
        self.stop_texts, self.turn_end = fmt.stop_texts, fmt.turn_end
        self.tag_ids = [i for i in (self._single_token(t) for t in fmt.tags) if i is not None]

    def encode(self, turns: list[Turn]) -> list[int]:
        if len(self.tag_ids) == len(self.fmt.tags):
            return self.fmt.encode_prompt(self.tokenizer, turns)
        # Tags that are not single tokens are plain text to this tokenizer.
        return self.tokenizer(self.fmt.prompt(turns), add_special_tokens=False)["input_ids"]

    def stop_ids(self) -> set[int]:
        return super().stop_ids() | set(self.tag_ids)

    def turn_ids(self, text: str) -> list[int]:
        body = self.fmt.body(Turn(PERSONA, text))  # what follows the tag, without the newline
        return super().turn_ids(body[: len(body) - len(self.fmt.turn_end)])

    def end_of_turn(self, text: str, extra: tuple[str, ...] | list[str] = ()) -> int | None:
        return self.fmt.end_of_turn(text, extra)


class NativePrompt(PromptFormat):
    """A chat template (`prompt_style.ChatTemplateFormat`): the run's, with its system line,
    or a base model's own, with the template's default system message. The turn ends at any
    special token of the template (its end-of-turn token, EOS) or at a text that opens a turn."""

    def __init__(self, tokenizer, fmt: ChatTemplateFormat):
        super().__init__(tokenizer)
        self.fmt = fmt
        self.stop_texts, self.turn_end = fmt.stop_texts, None

    def encode(self, turns: list[Turn]) -> list[int]:
        return self.fmt.encode_prompt(self.tokenizer, turns)

    def stop_ids(self) -> set[int]:
        return self._template_stop_ids()


PROBE, PROBE2 = "chatcloneprobe", "chatcloneprobetwo"


class TemplatePrompt(PromptFormat):
    """A chat model's own template (its tokenizer's `chat_template`): the other side is the
    user, the persona the assistant. The turn ends at any special token (the template's
    end-of-turn token, EOS, ...) or at the end-of-turn text, for vocabularies where that text
    is not one token."""

    def __init__(self, tokenizer):
        super().__init__(tokenizer)
        after = self._after_reply([{"role": "user", "content": "A"}])
        between = self._after_reply(
            [{"role": "user", "content": "A"}], then={"role": "user", "content": PROBE2}
        )
        specials = [s for s in tokenizer.all_special_tokens if s and s in between]
        self.stop_texts = tuple(dict.fromkeys(s for s in (after.strip(), *specials) if s))

    def _render(self, messages: list[dict], generation: bool) -> str:
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=generation
        )

    def _after_reply(self, before: list[dict], then: dict | None = None) -> str:
        """The text the template puts after an assistant message (up to the next message)."""
        messages = [*before, {"role": "assistant", "content": PROBE}, *([then] if then else [])]
        try:
            text = self._render(messages, generation=False)
        except Exception:  # a template that refuses the probe: rely on the special tokens
            return ""
        return text.split(PROBE, 1)[1].split(PROBE2, 1)[0] if PROBE in text else ""

    def encode(self, turns: list[Turn]) -> list[int]:
        messages = [
            {"role": "assistant" if t.speaker == PERSONA else "user", "content": t.text}
            for t in turns
        ]
        try:
            text = self._render(messages, generation=True)
        except Exception:  # jinja's TemplateError: many templates want user/assistant turns
            try:
                text = self._render(alternating(messages), generation=True)
            except Exception as e:
                raise ChatcloneError(
                    f"the base model's chat template refused the conversation: {e}; compare "
                    "without the base model (eval --no-base) or use a model with another template"
                ) from None
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def stop_ids(self) -> set[int]:
        return self._template_stop_ids()


def alternating(messages: list[dict]) -> list[dict]:
    """Messages that start with the user and alternate: consecutive messages of one role are
    joined, a leading assistant message is dropped."""
    out: list[dict] = []
    for m in messages:
        if not out and m["role"] == "assistant":
            continue
        if out and out[-1]["role"] == m["role"]:
            out[-1] = {**out[-1], "content": out[-1]["content"] + "\n" + m["content"]}
        else:
            out.append(dict(m))
    return out or [{"role": "user", "content": ""}]


def prompt_format(
    tokenizer, base: bool = False, style: str = "tags", system: str = ""
) -> PromptFormat:
    """The run's prompt style for a trained run; for a base model, its own chat template
    (default system message included) if it has one, else the speaker format."""
    if base and getattr(tokenizer, "chat_template", None):
        try:
            return NativePrompt(tokenizer, ChatTemplateFormat.of(tokenizer, None))
        except ChatcloneError:  # a template too unusual to take apart: render it whole
            return TemplatePrompt(tokenizer)
    fmt = run_format(tokenizer, "tags" if base else style, system)
    if isinstance(fmt, ChatTemplateFormat):
        return NativePrompt(tokenizer, fmt)
    return SpeakerPrompt(tokenizer, fmt)
