"""What `eval` shows while it works, on stderr (stdout keeps the results): one line per phase
that takes a while (loading a model, writing the report), ended with the seconds it took, and a
tqdm bar over each long loop (the perplexity pass, sampling replies). Nothing when disabled."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Iterator


class Progress:
    def __init__(self, enabled: bool = True):
        self.enabled = enabled

    @contextmanager
    def phase(self, what: str) -> Iterator[None]:
        """`what ...` now, and ` 2.1 s` on the same line when the block is done."""
        if not self.enabled:
            yield
            return
        print(f"{what} ...", end="", file=sys.stderr, flush=True)
        start = time.perf_counter()
        try:
            yield
        except BaseException:
            print(file=sys.stderr, flush=True)  # the error starts on a line of its own
            raise
        print(f" {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)

    def bar(self, total: int, desc: str, unit: str):
        from tqdm.auto import tqdm

        return tqdm(
            total=total,
            desc=desc,
            unit=unit,
            disable=not self.enabled,
            dynamic_ncols=True,
            file=sys.stderr,
        )
