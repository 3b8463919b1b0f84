"""Client-side rate limits: sliding windows per provider, in process or shared through Redis.

Every limit is a window rule "at most N requests in any W seconds":
``requests_per_second`` is (rps, 1 s), ``requests_per_minute`` (rpm, 60 s) and
``min_interval_ms`` (1, interval). A caller reserves the earliest instant that
satisfies every rule, after all earlier reservations (first come, first served),
then sleeps until it. The reservation is exact, unlike a token bucket's burst
allowance, so a provider counting "100 per 60-second window" never sees 101.

A caller whose wait would pass its deadline reserves nothing and is told how
long it would have waited. ``max_concurrency`` bounds in-flight requests per
process.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass
from typing import Any, Protocol, cast

from redis.asyncio import Redis

from hookline.config.models import LimitsSettings
from hookline.http.clock import SYSTEM_CLOCK, Clock


@dataclass(frozen=True)
class Rule:
    """At most ``count`` requests in any ``window`` seconds."""

    count: int
    window: float


def rules_for(limits: LimitsSettings) -> list[Rule]:
    """The window rules a provider's limits mean."""
    rules: list[Rule] = []
    for rate, window in ((limits.requests_per_second, 1.0), (limits.requests_per_minute, 60.0)):
        if rate is None:
            continue
        if float(rate).is_integer():
            rules.append(Rule(int(rate), window))
        else:
            # A fractional rate (0.5/s) means evenly spaced requests.
            rules.append(Rule(1, window / rate))
    if limits.min_interval_ms > 0:
        rules.append(Rule(1, limits.min_interval_ms / 1000))
    return rules


@dataclass(frozen=True)
class Reservation:
    granted: bool
    wait: float  # seconds until the reserved slot (or until a slot, when not granted)


class WindowStore(Protocol):
    """Reserves the next slot under a set of rules, atomically."""

    shared: bool

    async def reserve(self, rules: list[Rule], max_wait: float) -> Reservation: ...

    async def aclose(self) -> None: ...


def _earliest(
    history: list[float] | collections.deque[float], rules: list[Rule], now: float
) -> float:
    slot = max(now, history[-1]) if history else now
    for rule in rules:
        if len(history) >= rule.count:
            slot = max(slot, history[-rule.count] + rule.window)
    return slot


class MemoryWindowStore:
    """Reservations in this process (monotonic clock)."""

    shared = False

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self._history: collections.deque[float] = collections.deque()

    async def reserve(self, rules: list[Rule], max_wait: float) -> Reservation:
        now = self.clock.monotonic()
        slot = _earliest(self._history, rules, now)
        wait = slot - now
        if wait > max_wait:
            return Reservation(False, wait)
        self._history.append(slot)
        keep = max(rule.count for rule in rules)
        while len(self._history) > keep:
            self._history.popleft()
        return Reservation(True, wait)

    async def aclose(self) -> None:
        return None


# ARGV: max_wait, keep, ttl_ms, then count/window pairs. Redis's clock, so replicas agree.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local key = KEYS[1]
local max_wait = tonumber(ARGV[1])
local keep = tonumber(ARGV[2])
local len = redis.call('LLEN', key)
local slot = now
if len > 0 then slot = math.max(slot, tonumber(redis.call('LINDEX', key, -1))) end
local i = 4
while i < #ARGV do
  local count, window = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  if len >= count then
    slot = math.max(slot, tonumber(redis.call('LINDEX', key, -count)) + window)
  end
  i = i + 2
end
local wait = slot - now
if wait > max_wait then return {0, tostring(wait)} end
redis.call('RPUSH', key, tostring(slot))
redis.call('LTRIM', key, -keep, -1)
redis.call('PEXPIRE', key, tonumber(ARGV[3]))
return {1, tostring(wait)}
"""


class RedisWindowStore:
    """Reservations in a Redis list ``{prefix}:ratelimit:{name}``, shared by every replica."""

    shared = True

    def __init__(
        self, redis: Redis, name: str, *, prefix: str = "hookline", owns_connection: bool = False
    ) -> None:
        self.redis = redis
        self.key = f"{prefix}:ratelimit:{{{name}}}"
        self._owns = owns_connection
        self._reserve = redis.register_script(_RESERVE)

    async def reserve(self, rules: list[Rule], max_wait: float) -> Reservation:
        keep = max(rule.count for rule in rules)
        longest = max(rule.window for rule in rules)
        args: list[Any] = [max_wait, keep, int(longest * 1000 * 2) + 60_000]
        for rule in rules:
            args += [rule.count, rule.window]
        granted, wait = cast(list[Any], await self._reserve(keys=[self.key], args=args))
        text = wait.decode() if isinstance(wait, bytes) else str(wait)
        return Reservation(bool(int(granted)), float(text))

    async def aclose(self) -> None:
        if self._owns:
            await self.redis.aclose()


class RateLimitWaitTooLong(Exception):
    """The wait for a slot (or a concurrency permit) would pass the caller's deadline."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"rate-limit wait of {wait:.3f}s exceeds the deadline")
        self.wait = wait


class RateLimiter:
    """One provider's limits: window rules plus a per-process concurrency bound."""

    def __init__(
        self, limits: LimitsSettings, store: WindowStore | None = None, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.rules = rules_for(limits)
        self.clock = clock
        self.store: WindowStore = store if store is not None else MemoryWindowStore(clock)
        self.concurrency = asyncio.Semaphore(limits.max_concurrency)

    async def wait_for_slot(self, remaining: float) -> float:
        """Sleep until this call may start; returns the wait. Raises :class:`RateLimitWaitTooLong`."""
        if not self.rules:
            return 0.0
        reservation = await self.store.reserve(self.rules, max(remaining, 0.0))
        if not reservation.granted:
            raise RateLimitWaitTooLong(reservation.wait)
        if reservation.wait > 0:
            await self.clock.sleep(reservation.wait)
        return reservation.wait

    async def enter(self, remaining: float) -> None:
        """Take a concurrency permit, waiting at most ``remaining`` seconds."""
        if not self.concurrency.locked():
            await self.concurrency.acquire()
            return
        try:
            async with asyncio.timeout(max(remaining, 0.0)):
                await self.concurrency.acquire()
        except TimeoutError:
            raise RateLimitWaitTooLong(max(remaining, 0.0)) from None

    def leave(self) -> None:
        self.concurrency.release()

    async def aclose(self) -> None:
        await self.store.aclose()
