"""The reply engine, the one decoder: KV-cached sampling that stops at the end of the persona's turn.

Chat, reply, serve, eval and the memorisation audit all sample through it, so what is scored
is what users see. The prompt comes from a `PromptFormat` (the speaker format of a trained run,
or a base model's own chat template, `inference.formats`), and so does the end of the turn:
generation ends at EOS, at a speaker tag (as a special token, or as text split over several
tokens), at the newline that closes a turn or at a caller's stop text. Streamed text never
shows the start of a tag: any suffix that could still become an end marker is held back until
it is decided. The loop guard (`inference.guard`) keeps replies from repeating themselves or
the persona's recent turns; a reply that runs out of budget ends at its last full sentence.
"""

from __future__ import annotations

import inspect
import threading
import time
from typing import Callable

from chatclone.errors import ChatcloneError
from chatclone.inference.backends import TorchRun, decoder_for
from chatclone.inference.formats import PromptFormat, SpeakerPrompt, prompt_format
from chatclone.inference.guard import GUARD_TURNS, LoopGuard, Written
from chatclone.inference.length import DEFAULT_BUDGET, reply_budget, sentence_end
from chatclone.inference.memory import Memory
from chatclone.inference.processors import processors
from chatclone.inference.reply import Reply, settled, showable
from chatclone.rundir import RunDir
from chatclone.sampling import LoadOptions, SamplingOptions
from chatclone.speaker_format import FORMAT, PERSONA, SpeakerFormat, Turn

HOLD = 8  # the last max(HOLD, budget // 4) tokens of a budget stream whole sentences only


class ReplyEngine:
    def __init__(
        self,
        model,
        tokenizer,
        fmt: SpeakerFormat | PromptFormat = FORMAT,
        max_new_tokens: int = DEFAULT_BUDGET,
        decoder=None,
        memory: Memory | None = None,
    ):
        model.eval()
        self.model, self.tokenizer = model, tokenizer
        self.decoder = decoder  # another backend's logits (`inference.backends`); None: torch
        self.memory = memory  # the training split's exchanges, for `--memory`
        self.prompt = fmt if isinstance(fmt, PromptFormat) else SpeakerPrompt(tokenizer, fmt)
        self.options: SamplingOptions = SamplingOptions()  # used when `generate` gets none
        self.max_new_tokens = max_new_tokens  # the budget when the options leave it to the run
        self.stop_ids = self.prompt.stop_ids()
        self.max_positions = getattr(model.config, "max_position_embeddings", None) or getattr(
            model.config, "n_positions", 1024
        )
        # Only the last position's logits are needed: skips a (prompt x vocab) matmul.
        params = inspect.signature(model.forward).parameters
        self._forward_kw = {"logits_to_keep": 1} if "logits_to_keep" in params else {}
        # The key/value cache is `cache` in recent transformers, `past_key_values` before.
        self._cache = "cache" if "cache" in params else "past_key_values"
        self._newline_ids: list[int] | None = None
        self.written = Written()  # the tokens of recent replies, for the loop guard
        self._lock = threading.Lock()  # the tokenizer is shared by concurrent generations

    def encode(self, turns: list[Turn]) -> list[int]:
        with self._lock:
            return self.prompt.encode(turns)

    def budget(self, cfg: SamplingOptions) -> int:
        """The most tokens a reply may take: the options' `max_new_tokens`, or the engine's
        (from the run's persona turns) when they leave it unset."""
        if cfg.max_new_tokens is not None:
            return cfg.max_new_tokens
        return max(min(self.max_new_tokens, self.max_positions // 2), cfg.min_new_tokens)

    def generator(self, seed: int | None):
        """The random stream of one conversation, for `generate(..., generator=)`: replies drawn
        from it differ from each other, and the whole conversation comes back with the same
        seed. None without a seed (torch's global generator)."""
        if seed is None:
            return None
        import torch

        return torch.Generator(device=self.model.device).manual_seed(seed)

    def prompt_ids(self, history: list[Turn], cfg: SamplingOptions) -> list[int]:
        """The prompt for the last `history_turns` turns within `history_tokens`; the oldest
        turns are dropped first, and only the newest turn is ever cut (from its start)."""
        turns = list(history[-cfg.history_turns :]) if cfg.history_turns > 0 else []
        if cfg.memory and self.memory is not None:  # the first turns dropped when long
            turns = self.memory.recall(history, cfg.memory) + turns
        budget = self.max_positions - self.budget(cfg)
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

    def recent_turns(self, history: list[Turn]) -> list[str]:
        """The persona's last turns (the loop guard keeps replies from copying them)."""
        return [t.text for t in history if t.speaker == PERSONA][-GUARD_TURNS:]

    def loop_guard(self, n: int, start: int, recent: list[str]) -> LoopGuard:
        """The guard of one reply: n-grams of the recent turns as the tokenizer writes them
        and, for replies of this engine, as the model wrote them."""
        with self._lock:
            ids = [self.prompt.turn_ids(t) for t in recent] + self.written.of(recent)
        texts = set(recent)

        def copies(reply: list[int]) -> bool:
            return self.tokenizer.decode(reply, skip_special_tokens=True).strip() in texts

        return LoopGuard(n, start, ids, self.stop_ids, copies, self.end_ids)

    def markers(self, cfg: SamplingOptions) -> list[str]:
        return [*self.prompt.stop_texts, *(s for s in cfg.stop if s)]

    def newline_ids(self) -> list[int]:
        """Tokens whose text holds the end of a turn (the newline): banned, like the stop
        tokens, below the minimum length (computed once, on first use: it decodes the whole
        vocabulary). None for a format whose turns end only at a token (a chat template)."""
        end = self.prompt.turn_end
        if self._newline_ids is None:
            with self._lock:
                vocab = range(len(self.tokenizer))
                self._newline_ids = (
                    [i for i in vocab if end in self.tokenizer.decode([i])] if end else []
                )
        return self._newline_ids

    def end_ids(self) -> list[int]:
        """Every token that ends the turn: the stop tokens and those holding the newline."""
        return sorted(self.stop_ids) + self.newline_ids()

    def tokens(
        self,
        prompt: list[int],
        cfg: SamplingOptions,
        cancel: threading.Event | None = None,
        stopped: list[int] | None = None,
        generator=None,
        recent: list[str] | None = (),
    ):
        """Yield sampled token ids until a stop token (appended to `stopped`), the budget or
        `cancel`. Sampling draws from `generator` (see `generator`), else from a fresh one
        seeded with `cfg.seed`. The loop guard also covers the persona turns in `recent`;
        `recent=None` turns it off."""
        import torch

        device = self.model.device
        if generator is None and cfg.seed is not None:
            generator = self.generator(cfg.seed)
        guard = None
        if cfg.loop_guard and recent is not None:
            guard = self.loop_guard(cfg.loop_guard, len(prompt), recent)
        procs, greedy = processors(cfg, guard), cfg.is_greedy
        banned = self.end_ids() if cfg.min_new_tokens else list(self.stop_ids)
        ids = torch.tensor([prompt], device=device)
        budget = self.budget(cfg)
        with torch.inference_mode():
            if self.decoder is not None:
                run = self.decoder.begin(prompt, len(prompt) + budget + 1)
            else:
                run = TorchRun(self.model, prompt, self._cache, self._forward_kw)
            for n in range(budget):
                if cancel is not None and cancel.is_set():
                    return
                scores = run.logits().float()
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
                ids = torch.cat([ids, torch.tensor([[token]], device=device)], dim=1)
                run.push(token)

    def generate(
        self,
        history: list[Turn],
        cfg: SamplingOptions | None = None,
        on_text: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
        prefix: str = "",
        generator=None,
    ) -> Reply:
        """The persona's next turn after `history`. `on_text` receives the reply as it grows;
        the pieces add up exactly to `Reply.text`. Setting `cancel` stops at the next token.
        `generator` (from `engine.generator(seed)`) is the conversation's random stream: pass
        the same one for every reply of a conversation; without it each reply starts afresh
        from `cfg.seed` (a reply depends on nothing but its history: eval, one API request).
        With `prefix`, the turn is taken to start with that text and the reply continues it
        verbatim (the memorisation audit): no loop guard, no cut at a sentence end."""
        started = time.perf_counter()
        cfg = cfg if cfg is not None else self.options
        markers, budget = self.markers(cfg), self.budget(cfg)
        # Streaming and the sentence cut. What was passed to `on_text` cannot be taken back, and
        # the pieces must add up to `Reply.text`. So text streams as it settles until the last
        # max(HOLD, budget // 4) tokens of the budget; from there only whole sentences are
        # released. If the budget runs out, the reply ends at its last sentence end that is not
        # before what was already shown (a reply with none keeps all its text), and the held
        # back rest is dropped; a reply that ends by itself releases everything it held.
        hold_from = budget - max(HOLD, budget // 4)
        new: list[int] = []
        stopped: list[int] = []
        shown, first, ended = "", 0.0, False
        text = ""
        prompt = self.prompt_ids(history, cfg)
        recent = None if prefix else self.recent_turns(history)
        if prefix:
            with self._lock:
                prompt = (
                    prompt + self.tokenizer(" " + prefix, add_special_tokens=False)["input_ids"]
                )
        stream = self.tokens(prompt, cfg, cancel, stopped, generator, recent)
        for token in stream:
            first = first or time.perf_counter() - started
            new.append(token)
            text = showable(self.tokenizer.decode(new, skip_special_tokens=True)).lstrip()
            cut = self.prompt.end_of_turn(text, cfg.stop)
            if cut is not None:
                text, ended = text[:cut], True
                break
            visible = settled(text, markers)
            if not prefix and len(new) >= hold_from:
                visible = visible[: sentence_end(visible, final=False)]
            if on_text and len(visible) > len(shown) and visible.startswith(shown):
                on_text(visible[len(shown) :])
                shown = visible
        else:  # the token stream ended by itself: a stop token, the length limit or a cancel
            cancelled = bool(cancel and cancel.is_set())
            ended = len(new) < budget and not cancelled
            if not ended and not cancelled and not prefix:
                end = sentence_end(text, final=True)
                if end >= len(shown) and end > 0:
                    text = text[:end]  # still cut short: `ended` stays False
        stream.close()
        text = text.strip()
        if (
            recent is not None
            and text == showable(self.tokenizer.decode(new, skip_special_tokens=True)).strip()
        ):
            self.written.add(text, new)
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


def load_engine(run: RunDir, load: LoadOptions, base: bool = False) -> ReplyEngine:
    """The engine of a finished run, on the device and in the precision `load` asks for. With
    `base`, the run's untrained base model instead, prompted in its own chat format. Either way
    the default reply budget comes from the persona's turns in the run's training dialogues."""
    import torch

    from chatclone.quiet import quiet_libraries
    from chatclone.training.models import load_base, load_trained, pick_device

    quiet_libraries()
    dtype = torch.bfloat16 if load.weights == "bfloat16" else torch.float32  # int8/int4: onnx
    config = run.require(model=not base).read_config()
    if base:
        model, tokenizer = load_base(config.model)
        model.to(dtype)
    else:
        model, tokenizer = load_trained(run.path, dtype=dtype)
    model.to(pick_device(load.device))
    decoder = decoder_for(run, config.model if base else None, model, tokenizer, load)
    fmt = prompt_format(tokenizer, base, config.prompt_style, config.system_prompt)
    try:
        dialogues = run.read_dialogues()[0]
    except ChatcloneError:  # a run from before dialogues.jsonl: the fixed default
        dialogues = []
    memory = None if base else Memory(dialogues)  # `--memory`: the training split's exchanges
    budget = reply_budget(dialogues, fmt.turn_ids)
    return ReplyEngine(model, tokenizer, fmt, budget, decoder, memory)
