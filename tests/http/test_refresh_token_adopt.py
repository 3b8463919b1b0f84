"""A newly configured refresh token is adopted once across replicas (real redis-server)."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from hookline.http.token_store import RedisRefreshTokenStore


async def test_adopt_once_then_keep_what_replicas_rotated_it_to(redis_server) -> None:
    """A replica adopts the new configured token; B, seeing the same file after A's refresh
    rotated it, gets the rotation, not the (now used) configured token back; a store from
    before adoption existed keeps its chain."""
    redis = Redis.from_url(redis_server.url)
    try:
        a = RedisRefreshTokenStore(redis, "p", prefix=f"t{uuid.uuid4().hex[:8]}")
        assert await a.adopt("rt-configured-1") == "rt-configured-1"
        await a.save("rt-rotated-by-a")
        assert await a.adopt("rt-configured-1") == "rt-rotated-by-a"  # replica B, later
        assert await a.adopt("rt-configured-2") == "rt-configured-2"  # the operator again
        assert await a.load() == "rt-configured-2"

        old = RedisRefreshTokenStore(redis, "p", prefix=f"t{uuid.uuid4().hex[:8]}")
        await old.save("rt-rotated-before-upgrade")
        assert await old.adopt("rt-configured-1") == "rt-rotated-before-upgrade"
        assert await old.adopt("rt-configured-2") == "rt-configured-2"
    finally:
        await redis.aclose()
