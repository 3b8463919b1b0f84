"""The newest refresh token of a provider, in Redis: shared by replicas, kept across restarts."""

from __future__ import annotations

from redis.asyncio import Redis

# Adopt a configured refresh token once across replicas: KEYS[1] the newest token,
# KEYS[2] the configured value last adopted. A replica that sees the same file later
# (or starts later) gets the token as rotated since, not the configured one back. A
# store from before this key existed holds a chain started from the configuration
# of its time: it is kept, and the configuration of now is recorded as adopted.
_ADOPT = """
local adopted = redis.call('GET', KEYS[2])
local newest = redis.call('GET', KEYS[1])
if adopted == ARGV[1] or (not adopted and newest) then
  if not adopted then redis.call('SET', KEYS[2], ARGV[1]) end
  return newest or ARGV[1]
end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
"""


class RedisRefreshTokenStore:
    def __init__(self, redis: Redis, provider: str, *, prefix: str) -> None:
        self._redis = redis
        # No expiry: a refresh token lives until the provider rotates or revokes it.
        self.key = f"{prefix}:oauth:{{{provider}}}:refresh_token"
        self.configured_key = f"{prefix}:oauth:{{{provider}}}:refresh_token_configured"
        self._adopt = redis.register_script(_ADOPT)

    async def load(self) -> str | None:
        value = await self._redis.get(self.key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    async def save(self, token: str) -> None:
        await self._redis.set(self.key, token)

    async def adopt(self, configured: str) -> str:
        value = await self._adopt(keys=[self.key, self.configured_key], args=[configured])
        return value.decode() if isinstance(value, bytes) else str(value)
