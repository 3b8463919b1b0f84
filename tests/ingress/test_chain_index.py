"""The chain index (bus/chain.py): entity → the delivery that created it, in memory and in Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

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
