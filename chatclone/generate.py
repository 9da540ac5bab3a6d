"""The reply engine: KV-cached sampling that stops at the end of the persona's turn.

Shared by `chat`, `reply` (and the server): the prompt comes from `SpeakerFormat`, tokens are
sampled one at a time reusing the model's key/value cache, and generation ends at EOS, at a
speaker tag (as a special token, or as text if it arrives split over several tokens) or at the
newline that closes a turn, instead of always running to `max_new_tokens`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from chatclone.config import GenerateConfig
from chatclone.dialogue import FORMAT, SpeakerFormat, Turn


@dataclass
class Reply:
    text: str
    tokens: int  # tokens generated
    ended: bool  # True if the turn ended by itself (not cut by max_new_tokens)
    seconds: float
    first_token_seconds: float


def pick_device(name: str = "auto"):
    import torch

    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


class ReplyEngine:
    def __init__(self, model, tokenizer, fmt: SpeakerFormat = FORMAT):
        model.eval()
        self.model, self.tokenizer, self.fmt = model, tokenizer, fmt
        self.stop_ids = {tokenizer.convert_tokens_to_ids(t) for t in fmt.tags}
        if tokenizer.eos_token_id is not None:
            self.stop_ids.add(tokenizer.eos_token_id)
        self.max_positions = getattr(model.config, "max_position_embeddings", None) or getattr(
            model.config, "n_positions", 1024)

    def prompt_ids(self, history: list[Turn], cfg: GenerateConfig) -> list[int]:
        """The prompt for the last `history_turns` turns, dropping the oldest that do not fit."""
        turns = list(history[-cfg.history_turns:]) if cfg.history_turns > 0 else []
        budget = self.max_positions - cfg.max_new_tokens
        while True:
            ids = self.fmt.encode_prompt(self.tokenizer, turns)
            if len(ids) <= budget or len(turns) <= 1:
                return ids[-budget:]
            turns = turns[1:]

    def _processors(self, cfg: GenerateConfig):
        from transformers import (
            LogitsProcessorList, RepetitionPenaltyLogitsProcessor, TemperatureLogitsWarper,
            TopKLogitsWarper, TopPLogitsWarper,
        )

        procs = LogitsProcessorList()
        if cfg.repetition_penalty != 1.0:
            procs.append(RepetitionPenaltyLogitsProcessor(cfg.repetition_penalty))
        if not self.greedy(cfg):
            procs.append(TemperatureLogitsWarper(cfg.temperature))
            if cfg.top_k > 0:
                procs.append(TopKLogitsWarper(cfg.top_k))
            if 0 < cfg.top_p < 1:
                procs.append(TopPLogitsWarper(cfg.top_p))
        return procs

    @staticmethod
    def greedy(cfg: GenerateConfig) -> bool:
        return cfg.greedy or cfg.temperature <= 0

    def generate(self, history: list[Turn], cfg: GenerateConfig,
                 on_text: Callable[[str], None] | None = None) -> Reply:
        """The persona's next turn after `history`; `on_text` receives the reply as it grows."""
        import torch

        device = self.model.device
        started = time.perf_counter()
        prompt = self.prompt_ids(history, cfg)
        generator = None
        if cfg.seed is not None:
            generator = torch.Generator(device=device).manual_seed(cfg.seed)
        procs = self._processors(cfg)
        all_ids = torch.tensor([prompt], device=device)
        step_input = all_ids
        past = None
        new: list[int] = []
        shown = ""
        ended = False
        first = 0.0
        with torch.inference_mode():
            for _ in range(cfg.max_new_tokens):
                out = self.model(input_ids=step_input, past_key_values=past, use_cache=True)
                past = out.past_key_values
                scores = procs(all_ids, out.logits[:, -1, :].float())
                if self.greedy(cfg):
                    token = int(scores.argmax(-1))
                else:
                    probs = torch.softmax(scores, dim=-1)
                    token = int(torch.multinomial(probs, 1, generator=generator))
                if not first:
                    first = time.perf_counter() - started
                if token in self.stop_ids:
                    ended = True
                    break
                new.append(token)
                text = self.tokenizer.decode(new, skip_special_tokens=True)
                reply, ended = self.fmt.cut_reply(text.lstrip())
                if on_text and len(reply) > len(shown) and not ended:
                    on_text(reply[len(shown):])
                    shown = reply
                if ended:
                    break
                step_input = torch.tensor([[token]], device=device)
                all_ids = torch.cat([all_ids, step_input], dim=1)
        text, _ = self.fmt.cut_reply(self.tokenizer.decode(new, skip_special_tokens=True))
        if on_text and len(text) > len(shown):
            on_text(text[len(shown):])
        return Reply(text, len(new), ended, time.perf_counter() - started, first)
