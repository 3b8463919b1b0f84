"""The Redis dedup store under more concurrent requests than its connection pool holds."""

from __future__ import annotations

import asyncio
import uuid

from hookline.ingress.dedup_redis import RedisDedupStore
from tests.support.servers import RedisServer


async def test_claims_beyond_the_pool_size_wait_for_a_connection(redis_server: RedisServer) -> None:
    """300 concurrent claims on a healthy Redis all succeed: a full pool queues, it never answers 503.

    redis-py's default pool raises MaxConnectionsError beyond 100 connections,
    which the store reported as "Redis unreachable" (503) while Redis was fine:
    a backlog after an outage then kept the ingress answering 503 (bench/faults.py).
    """
    store = RedisDedupStore.from_url(redis_server.url, 60, prefix=f"t{uuid.uuid4().hex[:8]}:")
    try:
        claims = await asyncio.gather(
            *(store.claim(f"src:{uuid.uuid4()}", "ev", 2.0) for _ in range(300))
        )
        assert [c.state for c in claims] == ["new"] * 300
    finally:
        await store.close()
