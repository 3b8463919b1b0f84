"""Effects once: which command ids are being acted on (``in_progress``) or ``done``.

Before a handler runs, the runtime *begins* the id with a fresh lease token:

- ``done``: the effect already happened; the record is acknowledged without the handler;
- ``busy``: another attempt holds an unexpired lease (a live worker, maybe this one
  after a rebalance); the caller waits and asks again, so one id never runs twice
  in parallel;
- ``acquired``: the caller runs the handler, then marks the id ``done`` or releases it.

A crashed worker's lease expires after ``idempotency_lease_seconds``; a live
worker renews its leases while its handler runs. The in-process store is right
for one replica; with ``redis_url`` set every replica shares the Redis store.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import redis.asyncio as redis

from hookline.config.redis_auth import redis_from_url
from hookline.config.secrets import Secret

State = Literal["acquired", "done", "busy"]


@dataclass(frozen=True, slots=True)
class Begin:
    state: State
    # For ``busy``: seconds until the other holder's lease expires.
    retry_in: float = 0.0


ACQUIRED = Begin("acquired")
DONE = Begin("done")


class IdempotencyStore(Protocol):
    async def begin(self, key: str, token: str, lease: float) -> Begin: ...

    async def renew(self, key: str, token: str, lease: float) -> bool:
        """Extend a lease this token holds; False when it no longer holds it."""

    async def complete(self, key: str, ttl: float) -> None:
        """The effect happened: remember ``done`` for ``ttl`` seconds."""

    async def release(self, key: str, token: str) -> None:
        """The attempt failed without effect: drop the lease if this token holds it."""

    async def state(self, key: str) -> str | None:
        """``done``, ``in_progress`` or None (for inspection and tests)."""

    async def close(self) -> None: ...


class MemoryIdempotencyStore:
    """In-process: shared by every worker of this process, bounded by ``max_done``."""

    def __init__(self, max_done: int = 1_000_000, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._max_done = max_done
        self._done: OrderedDict[str, float] = OrderedDict()
        self._leases: dict[str, tuple[str, float]] = {}

    def _is_done(self, key: str, now: float) -> bool:
        expires = self._done.get(key)
        if expires is None:
            return False
        if expires < now:
            del self._done[key]
            return False
        return True

    # The runtime calls the ``*_now`` forms directly: nothing here waits, and skipping a
    # coroutine per call is measurable on the per-record path.
    def begin_now(self, key: str, token: str, lease: float) -> Begin:
        now = self._clock()
        expires = self._done.get(key)
        if expires is not None and self._is_done(key, now):
            return DONE
        held = self._leases.get(key)
        if held is not None and held[1] > now and held[0] != token:
            return Begin("busy", held[1] - now)
        self._leases[key] = (token, now + lease)
        return ACQUIRED

    async def begin(self, key: str, token: str, lease: float) -> Begin:
        return self.begin_now(key, token, lease)

    def peek_now(self, key: str) -> Begin | None:
        """What :meth:`begin_now` would answer, without taking the lease: None when it would
        be acquired. The worker's fast path settles a record whose handler finishes without
        waiting between this and :meth:`done_now`, with no await in between, so no other
        attempt can observe the id without a lease; one that waits takes it with
        :meth:`hold_now` before anything else runs."""
        expires = self._done.get(key)
        held = self._leases.get(key)
        if expires is None and held is None:
            return None
        now = self._clock()
        if expires is not None and self._is_done(key, now):
            return DONE
        if held is not None and held[1] > now:
            return Begin("busy", held[1] - now)
        return None

    def hold_now(self, key: str, token: str, lease: float) -> None:
        """Take the lease :meth:`peek_now` found free (nothing ran in between)."""
        self._leases[key] = (token, self._clock() + lease)

    def done_now(self, key: str, ttl: float) -> None:
        """:meth:`complete_now` for an id whose lease was never written (see :meth:`peek_now`)."""
        done = self._done
        if key in done:
            done.move_to_end(key)
        done[key] = self._clock() + ttl
        if len(done) > self._max_done:
            done.popitem(last=False)

    async def renew(self, key: str, token: str, lease: float) -> bool:
        held = self._leases.get(key)
        if held is None or held[0] != token:
            return False
        self._leases[key] = (token, self._clock() + lease)
        return True

    def complete_now(self, key: str, ttl: float) -> None:
        self._leases.pop(key, None)
        done = self._done
        done[key] = self._clock() + ttl
        done.move_to_end(key)
        if len(done) > self._max_done:
            done.popitem(last=False)

    async def complete(self, key: str, ttl: float) -> None:
        self.complete_now(key, ttl)

    async def release(self, key: str, token: str) -> None:
        held = self._leases.get(key)
        if held is not None and held[0] == token:
            del self._leases[key]

    async def state(self, key: str) -> str | None:
        now = self._clock()
        if self._is_done(key, now):
            return "done"
        held = self._leases.get(key)
        return "in_progress" if held is not None and held[1] > now else None

    async def close(self) -> None:
        return None


_DONE = "done"
# One round trip, atomic: done → 1; someone else's live lease → 2 with its PTTL; else take it.
_BEGIN = """
local v = redis.call('GET', KEYS[1])
if v == 'done' then return {1, 0} end
if v and v ~= ARGV[1] then return {2, redis.call('PTTL', KEYS[1])} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {0, 0}
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisIdempotencyStore:
    """Shared by every replica: one key per id holding a lease token or ``done``."""

    def __init__(self, client: redis.Redis, namespace: str = "hookline:idem") -> None:
        self._redis = client
        self._namespace = namespace
        self._begin = client.register_script(_BEGIN)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    @classmethod
    def from_url(cls, url: Secret | str, namespace: str = "hookline:idem") -> RedisIdempotencyStore:
        return cls(redis_from_url(url), namespace)

    def _key(self, key: str) -> str:
        return f"{self._namespace}:{key}"

    async def begin(self, key: str, token: str, lease: float) -> Begin:
        code, pttl = await self._begin(keys=[self._key(key)], args=[token, int(lease * 1000)])
        if code == 1:
            return DONE
        if code == 2:
            return Begin("busy", max(int(pttl), 0) / 1000)
        return ACQUIRED

    async def renew(self, key: str, token: str, lease: float) -> bool:
        renewed = await self._renew(keys=[self._key(key)], args=[token, int(lease * 1000)])
        return bool(renewed)

    async def complete(self, key: str, ttl: float) -> None:
        await self._redis.set(self._key(key), _DONE, ex=max(int(ttl), 1))

    async def release(self, key: str, token: str) -> None:
        await self._release(keys=[self._key(key)], args=[token])

    async def state(self, key: str) -> str | None:
        value = await self._redis.get(self._key(key))
        if value is None:
            return None
        return "done" if value == _DONE.encode() else "in_progress"

    async def close(self) -> None:
        await self._redis.aclose()
