"""The loop guard (`--loop-guard N`): a reply may not write an N-token sequence that it already
wrote, or that one of the persona's recent turns wrote, nor end as an exact copy of a recent
persona turn.

Small models fall into loops ("I am fine. I am fine. I am ...") and, decoding greedily over
several turns, give their earlier answers again word for word. transformers'
`NoRepeatNGramLogitsProcessor` sees only the sequence it is given: the whole prompt, so it also
forbids quoting the other side, and it cannot tell turns apart. This guard sees the reply and
the persona's own recent turns, as the model writes them. The tokens that end the turn are never
banned by an n-gram; they are banned only while the reply so far is exactly a recent persona
turn (a short answer such as "ok" is not given twice in a row: something is added to it).
"""

from __future__ import annotations

import threading
from typing import Callable, Iterable

GUARD_TURNS = 16  # the persona's last turns a reply may not copy (whatever the model sees)


class LoopGuard:
    """A logits processor (`__call__(input_ids, scores)`) for one reply of a batch of one.
    `start` is where the reply begins in `input_ids`; `recent` the persona's recent turns as
    token ids; `keep` tokens an n-gram never bans (the stop tokens); `copies(reply)` tells
    whether the reply so far reads exactly as a recent turn (compared as text: a model does not
    always write a text in the tokens the tokenizer would give it), and `ends()` lists every
    token that ends the turn."""

    def __init__(
        self,
        n: int,
        start: int,
        recent: list[list[int]],
        keep: set[int],
        copies: Callable[[list[int]], bool],
        ends: Callable[[], Iterable[int]],
    ):
        self.n, self.start, self.keep, self.copies, self.ends = n, start, keep, copies, ends
        self.next: dict[tuple[int, ...], set[int]] = {}
        for seq in recent:
            for i in range(len(seq) - n + 1):
                self._learn(seq, i)
        self.seen = 0  # reply tokens already learnt from

    def _learn(self, seq: list[int], i: int) -> None:
        """Remember the n-gram that starts at `seq[i]`."""
        self.next.setdefault(tuple(seq[i : i + self.n - 1]), set()).add(seq[i + self.n - 1])

    def banned(self, reply: list[int]) -> set[int]:
        """Tokens that may not come next after `reply`."""
        n = self.n
        for i in range(max(0, self.seen - n + 1), len(reply) - n + 1):
            self._learn(reply, i)
        self.seen = len(reply)
        banned = set()
        if len(reply) >= n - 1:
            banned = self.next.get(tuple(reply[len(reply) - n + 1 :]), set()) - self.keep
        if self.copies(reply):
            banned = banned | set(self.ends())
        return banned

    def __call__(self, input_ids, scores):
        banned = self.banned(input_ids[0, self.start :].tolist())
        if banned:
            scores[:, sorted(banned)] = -float("inf")
        return scores


class Written:
    """The tokens an engine's recent replies were written in, by their text: the guard of the
    replies after them learns their n-grams in the model's own tokens, which need not be the
    ones the tokenizer would give the text. Bounded; shared by concurrent generations."""

    def __init__(self, size: int = 256):
        self.size, self.ids, self.lock = size, {}, threading.Lock()

    def add(self, text: str, ids: list[int]) -> None:
        with self.lock:
            self.ids.pop(text, None)
            self.ids[text] = list(ids)
            while len(self.ids) > self.size:
                del self.ids[next(iter(self.ids))]

    def of(self, texts: list[str]) -> list[list[int]]:
        with self.lock:
            return [self.ids[t] for t in texts if t in self.ids]
