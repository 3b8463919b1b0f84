"""The chain index: which delivery an entity hookline created belongs to.

When a worker's result event names an entity it created (a Colt order, an SMS
message, a reservation or charging session) as its ``subject``, the worker
remembers ``subject → (correlationid, result event id)``. When that provider
later calls back about the entity, the ingress looks the subject up and the
callback's events join the chain of the delivery that started it: its
``correlationid``, caused by the result event (schemas/README.md).

Two implementations share :class:`ChainIndex`: :class:`MemoryChainIndex` (one
process: ``hookline run`` runs the ingress and the workers in one, and they
share :func:`process_index`) and :class:`RedisChainIndex` (``redis_url``: every
replica and worker process sees the same entries). Both are bounded (a TTL,
and an LRU for the in-process one); a miss only means the callback starts its
own chain, so a store that fails is logged and treated as a miss.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from hookline.config.models import HooklineSettings
from hookline.config.redis_auth import redis_from_url
from hookline.config.secrets import Secret

log = structlog.get_logger("hookline.bus.chain")

__all__ = [
    "DEFAULT_TTL_SECONDS",
    "ChainIndex",
    "Link",
    "MemoryChainIndex",
    "ProcessChainIndex",
    "RedisChainIndex",
    "open_index",
    "process_index",
]

# Long enough for a provider's slowest callbacks (an order's completion takes days).
DEFAULT_TTL_SECONDS = 30 * 24 * 3600
DEFAULT_MAX_ENTRIES = 100_000
# The ingress asks on its request path: a slow Redis costs a missed link, not a slow answer.
LOOKUP_TIMEOUT_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class Link:
    """Where an entity's chain continues: its delivery's correlation id and its result event."""

    correlation_id: str
    cause_id: str


class ChainIndex(Protocol):
    async def remember(self, subject: str, link: Link) -> None:
        """Record that ``subject`` was created in ``link``'s chain (first writer wins)."""

    async def lookup(self, subject: str) -> Link | None:
        """The chain ``subject`` belongs to, or None."""

    async def close(self) -> None: ...


class MemoryChainIndex:
    """In one process: the most recent ``max_entries`` entities, each for ``ttl_seconds``."""

    def __init__(
        self, max_entries: int = DEFAULT_MAX_ENTRIES, ttl_seconds: float = DEFAULT_TTL_SECONDS
    ) -> None:
        self._clock = time.monotonic
        self._max = max_entries
        self._ttl = ttl_seconds
        self._links: OrderedDict[str, tuple[Link, float]] = OrderedDict()

    async def remember(self, subject: str, link: Link) -> None:
        if subject in self._links and self._links[subject][1] > self._clock():
            return  # the entity's first result names the delivery that created it
        self._links[subject] = (link, self._clock() + self._ttl)
        self._links.move_to_end(subject)
        while len(self._links) > self._max:
            self._links.popitem(last=False)

    def get(self, subject: str) -> Link | None:
        """:meth:`lookup` without a coroutine (the ingress's in-process path)."""
        entry = self._links.get(subject)
        if entry is None:
            return None
        if entry[1] <= self._clock():
            del self._links[subject]
            return None
        return entry[0]

    async def lookup(self, subject: str) -> Link | None:
        return self.get(subject)

    def __len__(self) -> int:
        return len(self._links)

    async def close(self) -> None:
        return None


class RedisChainIndex:
    """Shared by every process: ``{prefix}{subject}`` → ``correlation id␠cause id`` with a TTL."""

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "hookline:chain:",
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl_ms = max(1, int(ttl_seconds * 1000))
        self._lookups: list[tuple[str, asyncio.Future[Any]]] = []
        self._batch: asyncio.Task[None] | None = None

    @classmethod
    def from_url(cls, url: Secret | str, *, prefix: str = "hookline:chain:") -> RedisChainIndex:
        timeout = LOOKUP_TIMEOUT_SECONDS
        client = redis_from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        return cls(client, prefix=prefix)

    async def remember(self, subject: str, link: Link) -> None:
        value = f"{link.correlation_id} {link.cause_id}"
        try:
            await self._client.set(self._prefix + subject, value, nx=True, px=self._ttl_ms)
        except (RedisError, OSError) as exc:
            log.warning("chain.remember_failed", error=type(exc).__name__)

    async def lookup(self, subject: str) -> Link | None:
        # The ingress asks once per callback: the lookups of one event-loop pass go to
        # Redis as one MGET (one round trip per batch, not per request), at most one
        # batch on the wire; what arrives meanwhile waits for the next.
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._lookups.append((self._prefix + subject, future))
        if self._batch is None:
            self._batch = asyncio.get_running_loop().create_task(self._lookup_batches())
        raw = await future
        if raw is None:
            return None
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        correlation, _, cause = text.partition(" ")
        return Link(correlation, cause) if correlation and cause else None

    async def _lookup_batches(self) -> None:
        batch: list[tuple[str, asyncio.Future[Any]]] = []
        try:
            while self._lookups:
                batch, self._lookups = self._lookups, []
                values: list[Any]
                try:
                    values = list(await self._client.mget([key for key, _ in batch]))
                except (RedisError, OSError) as exc:
                    # A miss only means the callback starts its own chain.
                    log.warning("chain.lookup_failed", error=type(exc).__name__, of=len(batch))
                    values = [None] * len(batch)
                for (_, future), value in zip(batch, values, strict=False):
                    if not future.done():
                        future.set_result(value)
        finally:
            self._batch = None
            # Whatever stopped the batches (cancellation, a short reply): a miss for each.
            for _, future in [*batch, *self._lookups]:
                if not future.done():
                    future.set_result(None)
            self._lookups = []

    async def close(self) -> None:
        if self._batch is not None:
            await asyncio.wait([self._batch])
        await self._client.aclose()


_PROCESS_INDEX: MemoryChainIndex | None = None


def process_index() -> MemoryChainIndex:
    """This process's in-memory index, shared by the ingress and the workers it runs."""
    global _PROCESS_INDEX
    if _PROCESS_INDEX is None:
        _PROCESS_INDEX = MemoryChainIndex()
    return _PROCESS_INDEX


class ProcessChainIndex:
    """The process index behind a ``close`` that leaves it open for its other users."""

    def __init__(self, memory: MemoryChainIndex) -> None:
        self.memory = memory

    async def remember(self, subject: str, link: Link) -> None:
        await self.memory.remember(subject, link)

    async def lookup(self, subject: str) -> Link | None:
        return self.memory.get(subject)

    async def close(self) -> None:
        return None


def open_index(settings: HooklineSettings) -> ChainIndex:
    """Redis when ``redis_url`` is set (every process), else this process's index."""
    if settings.redis_url is not None:
        prefix = f"{settings.kafka.topic_prefix}:chain:"
        return RedisChainIndex.from_url(settings.redis_url, prefix=prefix)
    return ProcessChainIndex(process_index())
