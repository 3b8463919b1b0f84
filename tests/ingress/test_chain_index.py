"""The chain index (bus/chain.py): entity → the delivery that created it, in memory and in Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from hookline.bus.broker import free_port
from hookline.bus.chain import ChainIndex, Link, MemoryChainIndex, RedisChainIndex
from tests.support.servers import RedisServer


@pytest.fixture(params=["memory", "redis"])
async def index(
    request: pytest.FixtureRequest, redis_server: RedisServer
) -> AsyncIterator[ChainIndex]:
    store: ChainIndex
    if request.param == "memory":
        store = MemoryChainIndex()
    else:
        store = RedisChainIndex.from_url(redis_server.url, prefix=f"t{uuid.uuid4().hex[:8]}:chain:")
    try:
        yield store
    finally:
        await store.close()


async def test_first_result_names_the_entity_chain(index: ChainIndex) -> None:
    """A remembered subject answers its link; a later result about it keeps the first; unknown is a miss."""
    await index.remember("ORD-1", Link("delivery-a", "submitted-1"))
    await index.remember("ORD-1", Link("delivery-b", "modified-2"))
    assert await index.lookup("ORD-1") == Link("delivery-a", "submitted-1")
    assert await index.lookup("ORD-unknown") is None


async def test_memory_index_is_bounded_by_entries_and_time() -> None:
    """Past max_entries the oldest entity is forgotten; past the TTL every entry is."""
    index = MemoryChainIndex(max_entries=2, ttl_seconds=60)
    for n in range(3):
        await index.remember(f"e{n}", Link("c", f"r{n}"))
    assert await index.lookup("e0") is None and await index.lookup("e2") == Link("c", "r2")
    assert len(index) == 2
    expired = MemoryChainIndex(ttl_seconds=0)
    await expired.remember("e", Link("c", "r"))
    assert await expired.lookup("e") is None


async def test_unreachable_redis_is_a_miss_not_an_error() -> None:
    """With Redis gone a lookup answers None and a remember is dropped: the callback starts its own chain."""
    index = RedisChainIndex.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        await index.remember("ORD-1", Link("c", "r"))
        assert await index.lookup("ORD-1") is None
    finally:
        await index.close()


async def test_redis_lookups_of_one_pass_share_one_round_trip(redis_server: RedisServer) -> None:
    """50 callbacks' lookups at once: each gets its own link (or its miss), in fewer
    MGETs than lookups (one GET per lookup before)."""
    prefix = f"t{uuid.uuid4().hex[:8]}:chain:"
    index = RedisChainIndex.from_url(redis_server.url, prefix=prefix)
    reader = Redis.from_url(redis_server.url)
    try:
        subjects = [f"order-{n}" for n in range(50)]
        for n, subject in enumerate(subjects[:40]):
            await index.remember(subject, Link(f"corr-{n}", f"cause-{n}"))
        before = (await reader.info("commandstats")).get("cmdstat_mget", {}).get("calls", 0)
        links = await asyncio.gather(*(index.lookup(s) for s in subjects))
        after = (await reader.info("commandstats")).get("cmdstat_mget", {}).get("calls", 0)
        assert links[:40] == [Link(f"corr-{n}", f"cause-{n}") for n in range(40)]
        assert links[40:] == [None] * 10
        assert 1 <= after - before < 10
    finally:
        await index.close()
        await reader.aclose()
