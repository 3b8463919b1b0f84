"""Dedup of provider retries (DESIGN §2): a delivery is seen only once published.

A request *claims* its delivery key before publishing. A second request for
the same key either finds it ``done`` (answer duplicate), or waits while the
first is still publishing; if the first fails its claim is released and the
retry publishes for real (a retry after a 503 is not a duplicate).

Two stores share this contract: :class:`MemoryDedupStore` (one replica) and
:class:`~hookline.ingress.dedup_redis.RedisDedupStore` (``redis_url``; every
replica sees the same keys). A store that cannot answer ``claim`` raises
:class:`DedupUnavailable`; the ingress then answers 503 so the provider
retries, because accepting without dedup could publish a delivery twice.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal, Protocol

from hookline.errors import HooklineError


class DedupUnavailable(HooklineError):
    """The dedup store cannot be reached; the delivery is refused with 503, not accepted."""

    retryable = True


@dataclass(frozen=True)
class Claim:
    state: Literal["new", "done"]
    event_id: str | None = None


class DedupStore(Protocol):
    async def claim(self, key: str, event_id: str, wait: float) -> Claim:
        """``new``: the caller owns the key and must ``complete`` or ``release`` it."""

    async def complete(self, key: str, event_id: str) -> None: ...

    async def release(self, key: str) -> None: ...

    async def close(self) -> None: ...


class MemoryDedupStore:
    """In-process store: right for one replica; bounded by entries and window."""

    def __init__(self, window_seconds: float, max_entries: int = 1_000_000) -> None:
        self._window = window_seconds
        self._max = max_entries
        self._done: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._inflight: dict[str, asyncio.Event] = {}

    def _lookup(self, key: str, now: float) -> str | None:
        entry = self._done.get(key)
        if entry is None:
            return None
        if entry[1] < now:
            del self._done[key]
            return None
        return entry[0]

    async def claim(self, key: str, event_id: str, wait: float) -> Claim:
        deadline = time.monotonic() + wait
        while True:
            seen = self._lookup(key, time.monotonic())
            if seen is not None:
                return Claim("done", seen)
            pending = self._inflight.get(key)
            if pending is None:
                self._inflight[key] = asyncio.Event()
                return Claim("new")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                # The first request is stuck; let this one try too rather than answer wrongly.
                return Claim("new")
            try:
                async with asyncio.timeout(remaining):
                    await pending.wait()
            except TimeoutError:
                continue

    async def complete(self, key: str, event_id: str) -> None:
        now = time.monotonic()
        self._done[key] = (event_id, now + self._window)
        self._done.move_to_end(key)
        while len(self._done) > self._max:
            self._done.popitem(last=False)
        self._wake(key)

    async def release(self, key: str) -> None:
        self._wake(key)

    def _wake(self, key: str) -> None:
        event = self._inflight.pop(key, None)
        if event is not None:
            event.set()

    async def close(self) -> None:
        return None
