"""Dedup of provider retries (docs/architecture.md#delivery-guarantees): a delivery is seen only once published.

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
import itertools
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal, Protocol

from hookline.errors import HooklineError
from hookline.ingress.receipts import Receipt, decode, encode


class DedupUnavailable(HooklineError):
    """The dedup store cannot be reached; the delivery is refused with 503, not accepted."""

    retryable = True


@dataclass(frozen=True)
class Claim:
    state: Literal["new", "done"]
    event_id: str | None = None
    # The owner's proof, for ``release``: a late release never frees another request's claim.
    token: str | None = None
    # ``done``: where the first delivery's events are stored, when the store kept it.
    receipt: Receipt | None = None


class DedupStore(Protocol):
    async def claim(self, key: str, event_id: str, wait: float) -> Claim:
        """``new``: the caller owns the key and must ``complete`` or ``release`` it, passing
        the claim's ``token``; ``done``: already published, ``event_id`` is the first event
        and ``receipt`` where its events are stored (when ``complete`` was given one)."""

    async def complete(
        self, key: str, event_id: str, token: str | None = None, receipt: Receipt | None = None
    ) -> None: ...

    async def release(self, key: str, token: str | None) -> None: ...

    async def close(self) -> None: ...


@dataclass(slots=True)
class _Lease:
    token: str
    expires: float  # monotonic; past it, the claim is abandoned and anyone may take over
    finished: asyncio.Event | None = None  # made by the first waiter: most claims have none


class MemoryDedupStore:
    """In-process store: right for one replica; bounded by entries, window and claims in flight.

    A claim is a lease that lapses ``wait`` plus a margin after it was taken,
    so even an owner that never returns blocks its key only that long, and at
    most ``max_inflight`` claims are held at once (past that, ``claim`` raises
    :class:`DedupUnavailable`: the ingress answers 503).
    """

    def __init__(
        self,
        window_seconds: float,
        max_entries: int = 1_000_000,
        *,
        max_inflight: int = 100_000,
        lease_margin_seconds: float = 1.0,
    ) -> None:
        self._window = window_seconds
        self._max = max_entries
        self._max_inflight = max_inflight
        self._margin = lease_margin_seconds
        # Receipts kept as text: a tuple of strings and a float is left alone by the
        # garbage collector, while receipt objects kept by the hundred thousand made
        # every full collection walk them all (measured: a third of a request's CPU).
        self._done: OrderedDict[str, tuple[str, float, str | None]] = OrderedDict()
        self._inflight: dict[str, _Lease] = {}
        self._tokens = itertools.count()

    def _lookup(self, key: str, now: float) -> tuple[str, float, str | None] | None:
        entry = self._done.get(key)
        if entry is None:
            return None
        if entry[1] < now:
            del self._done[key]
            return None
        return entry

    async def claim(self, key: str, event_id: str, wait: float) -> Claim:
        deadline = time.monotonic() + wait
        while True:
            now = time.monotonic()
            seen = self._lookup(key, now)
            if seen is not None:
                return Claim("done", seen[0], receipt=decode(seen[2]))
            lease = self._inflight.get(key)
            # Past our deadline the first request is stuck: let this one try too rather
            # than answer wrongly.
            if lease is None or lease.expires <= now or deadline <= now:
                return self._take(key, now + wait + self._margin)
            if lease.finished is None:
                lease.finished = asyncio.Event()
            try:
                async with asyncio.timeout(min(deadline, lease.expires) - now):
                    await lease.finished.wait()
            except TimeoutError:
                continue

    def _take(self, key: str, expires: float) -> Claim:
        if key not in self._inflight and len(self._inflight) >= self._max_inflight:
            now = time.monotonic()
            for stale in [k for k, lease in self._inflight.items() if lease.expires <= now]:
                self._finish(stale)
            if len(self._inflight) >= self._max_inflight:
                raise DedupUnavailable(f"{self._max_inflight} deliveries are already in flight")
        # Waiters on a lease taken over wake up and wait on the new one.
        self._finish(key)
        token = str(next(self._tokens))
        self._inflight[key] = _Lease(token, expires)
        return Claim("new", token=token)

    async def complete(
        self, key: str, event_id: str, token: str | None = None, receipt: Receipt | None = None
    ) -> None:
        now = time.monotonic()
        self._done[key] = (event_id, now + self._window, encode(receipt) if receipt else None)
        self._done.move_to_end(key)
        while len(self._done) > self._max:
            self._done.popitem(last=False)
        self._finish(key, token)

    async def release(self, key: str, token: str | None) -> None:
        if token is not None:
            self._finish(key, token)

    def _finish(self, key: str, token: str | None = None) -> None:
        lease = self._inflight.get(key)
        if lease is not None and (token is None or lease.token == token):
            del self._inflight[key]
            if lease.finished is not None:
                lease.finished.set()

    def inflight(self) -> int:
        """Claims held now (for tests and metrics)."""
        return len(self._inflight)

    async def close(self) -> None:
        return None
