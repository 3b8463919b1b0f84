"""The idempotency store contract, run against the in-process store and a real redis-server."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from hookline.worker.idempotency import MemoryIdempotencyStore, RedisIdempotencyStore


class StoreContract:
    """Every store implementation passes these."""

    @pytest.fixture
    def key(self) -> str:
        return uuid.uuid4().hex

    async def test_first_begin_acquires_and_done_is_remembered(self, store, key):
        """A new id is acquired; once completed, every later begin says done."""
        assert (await store.begin(key, "a", 5)).state == "acquired"
        assert await store.state(key) == "in_progress"
        await store.complete(key, 60)
        assert (await store.begin(key, "b", 5)).state == "done"
        assert await store.state(key) == "done"

    async def test_a_live_lease_keeps_others_out(self, store, key):
        """While one attempt holds the lease, another is told busy and how long to wait."""
        await store.begin(key, "a", 5)
        busy = await store.begin(key, "b", 5)
        assert busy.state == "busy"
        assert 0 < busy.retry_in <= 5

    async def test_an_expired_lease_can_be_taken_over(self, store, key):
        """A crashed holder's lease expires and the next attempt acquires it."""
        await store.begin(key, "a", 0.2)
        await asyncio.sleep(0.35)
        assert (await store.begin(key, "b", 5)).state == "acquired"

    async def test_release_only_by_the_holder(self, store, key):
        """Releasing someone else's lease does nothing; the holder's release frees the id."""
        await store.begin(key, "a", 5)
        await store.release(key, "b")
        assert (await store.begin(key, "b", 5)).state == "busy"
        await store.release(key, "a")
        assert (await store.begin(key, "b", 5)).state == "acquired"

    async def test_renew_extends_only_the_holders_lease(self, store, key):
        """The holder can renew; anyone else cannot."""
        await store.begin(key, "a", 0.3)
        assert await store.renew(key, "a", 5)
        assert not await store.renew(key, "b", 5)
        await asyncio.sleep(0.4)
        assert (await store.begin(key, "b", 5)).state == "busy"

    async def test_unknown_id_has_no_state(self, store, key):
        """An id never seen is neither in progress nor done."""
        assert await store.state(key) is None


class TestMemoryStore(StoreContract):
    @pytest.fixture
    async def store(self):
        store = MemoryIdempotencyStore()
        yield store
        await store.close()


class TestRedisStore(StoreContract):
    @pytest.fixture
    async def store(self, redis_server):
        store = RedisIdempotencyStore.from_url(redis_server.url, f"t:{uuid.uuid4().hex[:8]}")
        yield store
        await store.close()


async def test_memory_store_forgets_done_ids_after_ttl():
    """Done ids are kept for the TTL, then forgotten."""
    now = [100.0]
    store = MemoryIdempotencyStore(clock=lambda: now[0])
    await store.begin("x", "a", 5)
    await store.complete("x", 10)
    now[0] += 11
    assert (await store.begin("x", "b", 5)).state == "acquired"
