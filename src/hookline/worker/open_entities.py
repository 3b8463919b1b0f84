"""Open entities: what hookline started and has not seen finish (docs/reconcile.md#open-entities).

With ``redis_url`` they live in Redis (one hash per deployment, every replica
and every restart sees the same entities). Without it (``hookline run`` on one
machine) they live in the process: a restart forgets them, and only the
processes of one ``hookline run`` share them. A compacted Kafka topic read at
start was the other candidate; it survives a restart, but with the embedded
broker only while that broker runs, and every replica would have to read the
whole topic before its first pass.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Protocol

from redis.asyncio import Redis

from hookline.config.models import HooklineSettings
from hookline.providers.reconcile import Entity

# How long a submitted command's context (Colt contacts) waits for its result event.
CONTEXT_TTL_SECONDS = 7 * 86_400


class OpenStore(Protocol):
    async def open(self, entity: Entity) -> bool:
        """Record ``entity`` unless its key is already open; whether it was recorded."""

    async def save(self, entity: Entity) -> None: ...

    async def get(self, key: str) -> Entity | None: ...

    async def close(self, key: str) -> bool:
        """Forget ``key``; whether it was open."""

    async def all(self) -> list[Entity]: ...

    async def remember(self, key: str, context: dict[str, Any]) -> None: ...

    async def recall(self, key: str) -> dict[str, Any] | None: ...

    async def aclose(self) -> None: ...


def _dump(entity: Entity) -> str:
    return json.dumps(dataclasses.asdict(entity), separators=(",", ":"))


def _load(raw: str | bytes) -> Entity:
    return Entity(**json.loads(raw))


class MemoryOpenStore:
    """One process's open entities (lost on restart; ``hookline run`` without Redis)."""

    def __init__(self) -> None:
        self._open: dict[str, str] = {}
        self._context: dict[str, dict[str, Any]] = {}

    async def open(self, entity: Entity) -> bool:
        if entity.key in self._open:
            return False
        self._open[entity.key] = _dump(entity)
        return True

    async def save(self, entity: Entity) -> None:
        self._open[entity.key] = _dump(entity)

    async def get(self, key: str) -> Entity | None:
        raw = self._open.get(key)
        return _load(raw) if raw is not None else None

    async def close(self, key: str) -> bool:
        return self._open.pop(key, None) is not None

    async def all(self) -> list[Entity]:
        return [_load(raw) for raw in list(self._open.values())]

    async def remember(self, key: str, context: dict[str, Any]) -> None:
        self._context[key] = context
        while len(self._context) > 100_000:
            del self._context[next(iter(self._context))]

    async def recall(self, key: str) -> dict[str, Any] | None:
        return self._context.get(key)

    async def aclose(self) -> None:
        return None


class RedisOpenStore:
    """Open entities in one Redis hash, shared by replicas and kept across restarts."""

    def __init__(self, url: str, prefix: str) -> None:
        self._redis: Redis = Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._hash = f"{prefix}:reconcile:open"
        self._context = f"{prefix}:reconcile:context:"

    async def open(self, entity: Entity) -> bool:
        return bool(await self._redis.hsetnx(self._hash, entity.key, _dump(entity)))

    async def save(self, entity: Entity) -> None:
        await self._redis.hset(self._hash, entity.key, _dump(entity))

    async def get(self, key: str) -> Entity | None:
        raw = await self._redis.hget(self._hash, key)
        return _load(raw) if raw is not None else None

    async def close(self, key: str) -> bool:
        return bool(await self._redis.hdel(self._hash, key))

    async def all(self) -> list[Entity]:
        values: dict[Any, Any] = await self._redis.hgetall(self._hash)
        return [_load(raw) for raw in values.values()]

    async def remember(self, key: str, context: dict[str, Any]) -> None:
        await self._redis.set(self._context + key, json.dumps(context), ex=CONTEXT_TTL_SECONDS)

    async def recall(self, key: str) -> dict[str, Any] | None:
        raw = await self._redis.get(self._context + key)
        return json.loads(raw) if raw is not None else None

    async def aclose(self) -> None:
        await self._redis.aclose()


_MEMORY: dict[str, MemoryOpenStore] = {}


def open_store(settings: HooklineSettings) -> OpenStore:
    """Redis with ``redis_url``; else one in-process store per topic prefix (shared by
    the worker and ``hookline reconcile`` inside one process)."""
    if settings.redis_url is not None:
        return RedisOpenStore(settings.redis_url.get(), settings.kafka.topic_prefix)
    return _MEMORY.setdefault(settings.kafka.topic_prefix, MemoryOpenStore())
