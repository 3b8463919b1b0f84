"""Breaker state in Redis, shared by every replica.

Each step is one Lua script, so concurrent replicas never interleave inside a
transition, and every script reads Redis's own clock (``TIME``): replicas whose
clocks differ still agree on when the cool-down ends. The state machine is the
one of :class:`hookline.http.breaker.MemoryBreakerStore`; the contract tests run
against both.
"""

from __future__ import annotations

from typing import Any, cast

from redis.asyncio import Redis

from hookline.config.models import BreakerSettings
from hookline.http.breaker import HALF_OPEN, OPEN, Admission, State

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""

_ACQUIRE = (
    _NOW
    + """
local key = KEYS[1]
local recovery = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local state = redis.call('HGET', key, 'state') or 'closed'
if state == 'open' then
  local open_until = tonumber(redis.call('HGET', key, 'open_until') or '0')
  if now < open_until then return {0, 'open', tostring(open_until - now), 0} end
  redis.call('HSET', key, 'state', 'half_open', 'probes', 0, 'successes', 0)
  state = 'half_open'
end
if state == 'half_open' then
  local probes = tonumber(redis.call('HGET', key, 'probes') or '0')
  local started = tonumber(redis.call('HGET', key, 'probe_started') or '0')
  if probes >= limit then
    if now - started < recovery then
      return {0, 'half_open', tostring(recovery - (now - started)), 0}
    end
    probes = 0
  end
  redis.call('HSET', key, 'probes', probes + 1, 'probe_started', tostring(now))
  redis.call('EXPIRE', key, tonumber(ARGV[3]))
  return {1, 'half_open', '0', 1}
end
return {1, 'closed', '0', 0}
"""
)

_RECORD = (
    _NOW
    + """
local key, calls, fails = KEYS[1], KEYS[2], KEYS[3]
local success = ARGV[1] == '1'
local probe = ARGV[2] == '1'
local threshold = tonumber(ARGV[3])
local ratio = tonumber(ARGV[4])
local window = tonumber(ARGV[5])
local min_calls = tonumber(ARGV[6])
local recovery = tonumber(ARGV[7])
local target = tonumber(ARGV[8])
local ttl = tonumber(ARGV[9])

local function trip()
  redis.call('HSET', key, 'state', 'open', 'open_until', tostring(now + recovery), 'probes', 0, 'successes', 0)
end
local function close()
  redis.call('HSET', key, 'state', 'closed', 'failures', 0, 'probes', 0, 'successes', 0)
  redis.call('DEL', calls, fails)
end

local state = redis.call('HGET', key, 'state') or 'closed'
if state == 'open' then return 'open' end
if state == 'half_open' then
  if probe then
    local p = tonumber(redis.call('HGET', key, 'probes') or '0')
    if p > 0 then redis.call('HSET', key, 'probes', p - 1) end
  end
  if success then
    if redis.call('HINCRBY', key, 'successes', 1) >= target then close() end
  else
    trip()
  end
  redis.call('EXPIRE', key, ttl)
  return redis.call('HGET', key, 'state')
end

if ratio > 0 then
  local seq = redis.call('HINCRBY', key, 'seq', 1)
  redis.call('ZADD', calls, now, seq)
  redis.call('ZREMRANGEBYSCORE', calls, '-inf', now - window)
  redis.call('EXPIRE', calls, ttl)
  if not success then
    redis.call('ZADD', fails, now, seq)
  end
  redis.call('ZREMRANGEBYSCORE', fails, '-inf', now - window)
  redis.call('EXPIRE', fails, ttl)
end
if success then
  redis.call('HSET', key, 'failures', 0)
  redis.call('EXPIRE', key, ttl)
  return 'closed'
end
local failures = redis.call('HINCRBY', key, 'failures', 1)
local open = failures >= threshold
if not open and ratio > 0 then
  local n = redis.call('ZCARD', calls)
  if n >= min_calls and redis.call('ZCARD', fails) / n >= ratio then open = true end
end
if open then trip() end
redis.call('EXPIRE', key, ttl)
return redis.call('HGET', key, 'state') or 'closed'
"""
)

_SNAPSHOT = (
    _NOW
    + """
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
local failures = redis.call('HGET', KEYS[1], 'failures') or '0'
if state == 'open' then
  local open_until = tonumber(redis.call('HGET', KEYS[1], 'open_until') or '0')
  if now < open_until then return {'open', failures, tostring(open_until - now)} end
  return {'half_open', failures, ''}
end
return {state, failures, ''}
"""
)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _state(value: Any) -> State:
    text = _text(value)
    if text == OPEN:
        return OPEN
    if text == HALF_OPEN:
        return HALF_OPEN
    return "closed"


class RedisBreakerStore:
    """Breaker state under ``{prefix}:breaker:{name}`` (a hash plus two window sets)."""

    shared = True

    def __init__(
        self,
        redis: Redis,
        name: str,
        settings: BreakerSettings,
        *,
        prefix: str = "hookline",
        owns_connection: bool = False,
    ) -> None:
        self.redis = redis
        self.settings = settings
        base = f"{prefix}:breaker:{{{name}}}"
        self.keys = [base, f"{base}:calls", f"{base}:fails"]
        self._owns = owns_connection
        # Keep idle keys long enough to span any cool-down and window, then let them go.
        self._ttl = int(max(settings.recovery_seconds, settings.window_seconds) * 4 + 3600)
        self._acquire = redis.register_script(_ACQUIRE)
        self._record = redis.register_script(_RECORD)
        self._snapshot = redis.register_script(_SNAPSHOT)

    async def acquire(self) -> Admission:
        s = self.settings
        reply = cast(
            list[Any],
            await self._acquire(
                keys=self.keys[:1], args=[s.recovery_seconds, s.half_open_probes, self._ttl]
            ),
        )
        admitted, state, retry_in, probe = reply
        return Admission(
            bool(int(admitted)), _state(state), float(_text(retry_in)), bool(int(probe))
        )

    async def record(self, success: bool, probe: bool) -> State:
        s = self.settings
        reply = await self._record(
            keys=self.keys,
            args=[
                1 if success else 0,
                1 if probe else 0,
                s.failure_threshold,
                s.failure_ratio or 0,
                s.window_seconds,
                s.minimum_calls,
                s.recovery_seconds,
                s.half_open_probes,
                self._ttl,
            ],
        )
        return _state(reply)

    async def snapshot(self) -> tuple[State, int, float | None]:
        state, failures, retry_in = cast(list[Any], await self._snapshot(keys=self.keys[:1]))
        text = _text(retry_in)
        return _state(state), int(_text(failures)), float(text) if text else None

    async def reset(self) -> None:
        await self.redis.delete(*self.keys)

    async def aclose(self) -> None:
        if self._owns:
            await self.redis.aclose()
