"""Time as a dependency: the client reads and waits through a :class:`Clock`.

Production uses :class:`SystemClock`. :class:`ManualClock` makes waits instant and
records them, so a test can assert that a ``Retry-After: 30`` was honoured
without sleeping for thirty seconds.
"""

from __future__ import annotations

import asyncio
import time
from contextvars import ContextVar
from typing import Protocol


class Clock(Protocol):
    """Monotonic time for intervals, wall time for provider timestamps, and waiting."""

    def monotonic(self) -> float: ...

    def time(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clocks and ``asyncio.sleep``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ManualClock:
    """A clock whose ``sleep`` advances time at once and remembers each wait.

    Wall time starts at the real time, so timestamps from real servers
    (``Retry-After`` dates, ``X-RateLimit-Reset``) still make sense.
    """

    def __init__(self, start: float | None = None) -> None:
        self._wall = time.time() if start is None else start
        self._mono = 1_000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self._mono

    def time(self) -> float:
        return self._wall

    def advance(self, seconds: float) -> None:
        self._mono += seconds
        self._wall += seconds

    async def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.sleeps.append(seconds)
        self.advance(seconds)
        # Let other tasks run, as a real sleep would.
        await asyncio.sleep(0)


SYSTEM_CLOCK = SystemClock()


# The monotonic instant by which the current provider call must finish; set by the
# client for the duration of a call, read by auth flows (token fetches) and waits.
CALL_DEADLINE: ContextVar[float | None] = ContextVar("hookline_http_call_deadline", default=None)
