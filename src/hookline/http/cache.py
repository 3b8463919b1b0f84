"""GET response cache with a time-to-live per endpoint, in process or in Redis.

A provider's ``cache`` setting maps path patterns (relative to ``base_url``) to
seconds: ``{"/services/*": 60, "/restaurants/*/availability": 60}``. ``*`` matches
one path segment, ``**`` any number. Only successful GET answers are stored;
the key is the path with its sorted query.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx
from redis.asyncio import Redis

from hookline.http.clock import SYSTEM_CLOCK, Clock


def _pattern(glob: str) -> re.Pattern[str]:
    parts = re.split(r"(\*\*|\*)", glob)
    regex = "".join(
        ".*" if part == "**" else "[^/]*" if part == "*" else re.escape(part) for part in parts
    )
    return re.compile(f"^{regex}$")


class TtlTable:
    """Path pattern → TTL seconds; the first matching pattern wins."""

    def __init__(self, table: Mapping[str, float]) -> None:
        self._rules = [(_pattern(glob), float(ttl)) for glob, ttl in table.items()]

    def ttl_for(self, path: str) -> float | None:
        for pattern, ttl in self._rules:
            if pattern.match(path):
                return ttl
        return None


def cache_key(path: str, params: Mapping[str, Any] | None) -> str:
    query = urlencode(sorted((str(k), str(v)) for k, v in (params or {}).items()))
    return f"GET {path}?{query}" if query else f"GET {path}"


@dataclass(frozen=True)
class CachedResponse:
    status: int
    headers: list[tuple[str, str]]
    content: bytes

    @classmethod
    def of(cls, response: httpx.Response) -> CachedResponse:
        return cls(response.status_code, list(response.headers.items()), response.content)

    def to_response(self, request: httpx.Request) -> httpx.Response:
        headers = [
            (k, v)
            for k, v in self.headers
            if k.lower() not in ("content-encoding", "content-length")
        ]
        return httpx.Response(self.status, headers=headers, content=self.content, request=request)

    def dumps(self) -> str:
        return json.dumps(
            {"s": self.status, "h": self.headers, "c": base64.b64encode(self.content).decode()}
        )

    @classmethod
    def loads(cls, raw: str | bytes) -> CachedResponse:
        data = json.loads(raw)
        return cls(
            int(data["s"]), [(str(k), str(v)) for k, v in data["h"]], base64.b64decode(data["c"])
        )


class ResponseCache(Protocol):
    async def get(self, key: str) -> CachedResponse | None: ...

    async def set(self, key: str, value: CachedResponse, ttl: float) -> None: ...

    async def aclose(self) -> None: ...


class MemoryCache:
    """An LRU dictionary with expiry times."""

    def __init__(self, max_entries: int = 10_000, clock: Clock = SYSTEM_CLOCK) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self._entries: collections.OrderedDict[str, tuple[float, CachedResponse]] = (
            collections.OrderedDict()
        )

    async def get(self, key: str) -> CachedResponse | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if self.clock.monotonic() >= expires:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: CachedResponse, ttl: float) -> None:
        self._entries[key] = (self.clock.monotonic() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def aclose(self) -> None:
        self._entries.clear()


class RedisCache:
    """Entries under ``{prefix}:cache:{name}:<sha256 of the key>`` with Redis expiry."""

    def __init__(
        self, redis: Redis, name: str, *, prefix: str = "hookline", owns_connection: bool = False
    ) -> None:
        self.redis = redis
        self.prefix = f"{prefix}:cache:{name}:"
        self._owns = owns_connection

    def _key(self, key: str) -> str:
        return self.prefix + hashlib.sha256(key.encode()).hexdigest()

    async def get(self, key: str) -> CachedResponse | None:
        raw = await self.redis.get(self._key(key))
        return None if raw is None else CachedResponse.loads(raw)

    async def set(self, key: str, value: CachedResponse, ttl: float) -> None:
        await self.redis.set(self._key(key), value.dumps(), px=max(1, int(ttl * 1000)))

    async def aclose(self) -> None:
        if self._owns:
            await self.redis.aclose()
