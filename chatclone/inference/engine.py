"""The reply engine, the one decoder: KV-cached sampling that stops at the end of the persona's turn.

Chat, reply, serve, eval and the memorisation audit all sample through it, so what is scored
is what users see. The prompt comes from `SpeakerFormat`, and so does the end of the turn:
generation ends at EOS, at a speaker tag (as a special token, or as text split over several
tokens), at the newline that closes a turn or at a caller's stop text. Streamed text never
shows the start of a tag: any suffix that could still become an end marker is held back until
it is decided.
"""

from __future__ import annotations

import inspect
import threading
import time
from dataclasses import dataclass
from typing import Callable

from chatclone.errors import ChatcloneError
from chatclone.rundir import RunDir
from chatclone.sampling import LoadOptions, SamplingOptions
from chatclone.speaker_format import FORMAT, SpeakerFormat, Turn


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


class ReplyEngine:
    def __init__(self, model, tokenizer, fmt: SpeakerFormat = FORMAT):
        model.eval()
        self.model, self.tokenizer, self.fmt = model, tokenizer, fmt
        self.options: SamplingOptions = SamplingOptions()  # used when `generate` gets none
        self.tag_ids = [i for i in (self._single_token(t) for t in fmt.tags) if i is not None]
        self.stop_ids = set(self.tag_ids)
        if tokenizer.eos_token_id is not None:
            self.stop_ids.add(tokenizer.eos_token_id)
        self.max_positions = getattr(model.config, "max_position_embeddings", None) or getattr(
            model.config, "n_positions", 1024
        )
        # Only the last position's logits are needed: skips a (prompt x vocab) matmul.
        params = inspect.signature(model.forward).parameters
        self._forward_kw = {"logits_to_keep": 1} if "logits_to_keep" in params else {}
        # The key/value cache is `cache` in recent transformers, `past_key_values` before.
        self._cache = "cache" if "cache" in params else "past_key_values"
        self._newline_ids: list[int] | None = None
        self._lock = threading.Lock()  # the tokenizer is shared by concurrent generations

    def _single_token(self, text: str) -> int | None:
        """The id of `text` if the vocabulary has it as one token (trained runs do)."""
        tid = self.tokenizer.convert_tokens_to_ids(text)
        if tid is None or tid == self.tokenizer.unk_token_id:
            return None
        return tid

    def encode(self, turns: list[Turn]) -> list[int]:
        with self._lock:
            if len(self.tag_ids) == len(self.fmt.tags):
                return self.fmt.encode_prompt(self.tokenizer, turns)
            # Tags that are not single tokens are plain text to this tokenizer.
            return self.tokenizer(self.fmt.prompt(turns), add_special_tokens=False)["input_ids"]

    def prompt_ids(self, history: list[Turn], cfg: SamplingOptions) -> list[int]:
        """The prompt for the last `history_turns` turns within `history_tokens`; the oldest
        turns are dropped first, and only the newest turn is ever cut (from its start)."""
        turns = list(history[-cfg.history_turns :]) if cfg.history_turns > 0 else []
        budget = self.max_positions - cfg.max_new_tokens
        if budget < 2:
            raise ChatcloneError(
                f"--max-new-tokens {cfg.max_new_tokens} leaves no room for the conversation in "
                f"this model's {self.max_positions}-token context; use at most {self.max_positions - 2}"
            )
        if cfg.history_tokens is not None:
            budget = min(budget, cfg.history_tokens + 1)  # + the persona tag that opens the reply
        while True:
            ids = self.encode(turns)
            if len(ids) <= budget or len(turns) <= 1:
                return ids[len(ids) - budget :] if len(ids) > budget else ids
            turns = turns[1:]

    def markers(self, cfg: SamplingOptions) -> list[str]:
        return [*self.fmt.stop_texts, *(s for s in cfg.stop if s)]

    def _processors(self, cfg: SamplingOptions):
        from transformers import (
            LogitsProcessorList,
            NoRepeatNGramLogitsProcessor,
            RepetitionPenaltyLogitsProcessor,
            TemperatureLogitsWarper,
            TopKLogitsWarper,
            TopPLogitsWarper,
        )

        procs = LogitsProcessorList()
        if cfg.repetition_penalty != 1.0:
            procs.append(RepetitionPenaltyLogitsProcessor(cfg.repetition_penalty))
        if cfg.no_repeat_ngram_size > 0:
            procs.append(NoRepeatNGramLogitsProcessor(cfg.no_repeat_ngram_size))
        if not cfg.is_greedy:
            procs.append(TemperatureLogitsWarper(cfg.temperature))
            if cfg.top_k > 0:
                procs.append(TopKLogitsWarper(cfg.top_k))
            if 0 < cfg.top_p < 1:
                procs.append(TopPLogitsWarper(cfg.top_p))
        return procs

    def newline_ids(self) -> list[int]:
        """Tokens whose text holds a newline: banned, like the stop tokens, below the minimum
        length (computed once, on first use: it decodes the whole vocabulary)."""
        if self._newline_ids is None:
            with self._lock:
                vocab = range(len(self.tokenizer))
                end = self.fmt.turn_end
                self._newline_ids = [i for i in vocab if end in self.tokenizer.decode([i])]
        return self._newline_ids

    def tokens(
        self,
        prompt: list[int],
        cfg: SamplingOptions,
        cancel: threading.Event | None = None,
        stopped: list[int] | None = None,
    ):
        """Yield sampled token ids until a stop token (appended to `stopped`), max_new_tokens
        or `cancel`."""
        import torch

        device = self.model.device
        generator = None
        if cfg.seed is not None:
            generator = torch.Generator(device=device).manual_seed(cfg.seed)
        procs, greedy = self._processors(cfg), cfg.is_greedy
        banned = list(self.stop_ids) + (self.newline_ids() if cfg.min_new_tokens else [])
        ids = torch.tensor([prompt], device=device)
        step, past = ids, None
        with torch.inference_mode():
            for n in range(cfg.max_new_tokens):
                if cancel is not None and cancel.is_set():
                    return
                out = self.model(
                    input_ids=step, use_cache=True, **{self._cache: past}, **self._forward_kw
                )
                past = getattr(out, self._cache)
                scores = out.logits[:, -1, :].float()
                if n < cfg.min_new_tokens:
                    scores[:, banned] = -float("inf")
                scores = procs(ids, scores)
                if greedy:
                    token = int(scores.argmax(-1))
                else:
                    probs = torch.softmax(scores, dim=-1)
                    token = int(torch.multinomial(probs, 1, generator=generator))
                if token in self.stop_ids:
                    if stopped is not None:
                        stopped.append(token)
                    return
                yield token
                step = torch.tensor([[token]], device=device)
                ids = torch.cat([ids, step], dim=1)

    def generate(
        self,
        history: list[Turn],
        cfg: SamplingOptions | None = None,
        on_text: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
        prefix: str = "",
    ) -> Reply:
        """The persona's next turn after `history`. `on_text` receives the reply as it grows;
        the pieces add up exactly to `Reply.text`. Setting `cancel` stops at the next token.
        With `prefix`, the turn is taken to start with that text and the reply continues it
        (the memorisation audit)."""
        started = time.perf_counter()
        cfg = cfg if cfg is not None else self.options
        markers = self.markers(cfg)
        new: list[int] = []
        stopped: list[int] = []
        shown, first, ended = "", 0.0, False
        text = ""
        prompt = self.prompt_ids(history, cfg)
        if prefix:
            with self._lock:
                prompt = (
                    prompt + self.tokenizer(" " + prefix, add_special_tokens=False)["input_ids"]
                )
        stream = self.tokens(prompt, cfg, cancel, stopped)
        for token in stream:
            first = first or time.perf_counter() - started
            new.append(token)
            text = self.tokenizer.decode(new, skip_special_tokens=True).lstrip()
            cut = self.fmt.end_of_turn(text, cfg.stop)
            if cut is not None:
                text, ended = text[:cut], True
                break
            visible = settled(text, markers)
            if on_text and len(visible) > len(shown) and visible.startswith(shown):
                on_text(visible[len(shown) :])
                shown = visible
        else:  # the token stream ended by itself: a stop token, the length limit or a cancel
            ended = len(new) < cfg.max_new_tokens and not (cancel and cancel.is_set())
        stream.close()
        text = text.strip()
        if on_text and len(text) > len(shown):
            on_text(text[len(shown) :])
        first = first or time.perf_counter() - started
        raw = self.tokenizer.decode(new + stopped, skip_special_tokens=False)
        return Reply(
            text,
            len(new),
            ended,
            time.perf_counter() - started,
            first,
            cancelled=bool(cancel and cancel.is_set()),
            prompt_tokens=len(prompt),
            raw=raw,
        )


def load_engine(run: RunDir, load: LoadOptions) -> ReplyEngine:
    """The engine of a finished run, on the device and in the precision `load` asks for."""
    import torch

    from chatclone.quiet import quiet_libraries
    from chatclone.training.models import load_trained, pick_device

    quiet_libraries()
    run.require(model=True)
    model, tokenizer = load_trained(run.path, dtype=getattr(torch, load.weights))
    model.to(pick_device(load.device))
    return ReplyEngine(model, tokenizer, FORMAT)
