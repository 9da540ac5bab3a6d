"""Admission of `chatclone serve`: at most `concurrency` generations at once and `queue` requests
waiting; the rest are turned away with 429 the moment they arrive.

Admission is one check-and-reserve with no `await` in between (`admit`), so a burst on an
idle server cannot slip past the limit: every request that counted itself in before anyone
got a slot is counted. An admitted request then waits for a slot (503 after `timeout`).
"""

from __future__ import annotations

import asyncio

from chatclone.serving.schema import ApiError


class Slots:
    """`size` generation slots and `queue` places to wait for one."""

    def __init__(self, size: int, queue: int, timeout: float):
        self.size, self.queue, self.timeout = size, queue, timeout
        self.free = asyncio.Semaphore(size)
        self.admitted = 0  # generating, or admitted and not yet generating
        self.running = 0

    @property
    def waiting(self) -> int:
        return self.admitted - self.running

    def admit(self) -> None:
        """Reserve a place, or 429. Synchronous on purpose: nothing can run in between."""
        if self.admitted >= self.size + self.queue:
            raise ApiError(
                429,
                f"too many requests: {self.running} generating and "
                f"{self.waiting} waiting; retry later",
                "rate_limit_exceeded",
                {"Retry-After": "1"},
            )
        self.admitted += 1

    async def acquire(self) -> None:
        """Wait (admitted) for a free slot; 503 after `timeout`, the place given back."""
        try:
            await asyncio.wait_for(self.free.acquire(), self.timeout)
        except asyncio.TimeoutError:
            self.leave()
            raise ApiError(
                503,
                f"server busy: no generation slot freed up within {self.timeout:g} s; retry later",
                "server_busy",
                {"Retry-After": "5"},
            ) from None
        except BaseException:  # cancelled while waiting (the client went away)
            self.leave()
            raise
        self.running += 1

    def leave(self) -> None:
        """An admitted request that will not generate (refused, or gave up) gives its place back."""
        self.admitted -= 1

    def give_back_slot(self) -> None:
        self.running -= 1
        self.free.release()

    def release(self) -> None:
        """A generation ended: its slot and its place are free."""
        self.give_back_slot()
        self.leave()
