"""The newest refresh token of a provider, in Redis: shared by replicas, kept across restarts."""

from __future__ import annotations

from redis.asyncio import Redis


class RedisRefreshTokenStore:
    def __init__(self, redis: Redis, provider: str, *, prefix: str) -> None:
        self._redis = redis
        # No expiry: a refresh token lives until the provider rotates or revokes it.
        self.key = f"{prefix}:oauth:{{{provider}}}:refresh_token"

    async def load(self) -> str | None:
        value = await self._redis.get(self.key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    async def save(self, token: str) -> None:
        await self._redis.set(self.key, token)
