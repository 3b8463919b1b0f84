"""The dedup contract, run against the in-process store and a real redis-server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from hookline.bus.broker import free_port
from hookline.ingress.dedup import DedupStore, DedupUnavailable, MemoryDedupStore
from hookline.ingress.dedup_redis import RedisDedupStore
from tests.support.servers import RedisServer


@pytest.fixture(params=["memory", "redis"])
async def store(
    request: pytest.FixtureRequest, redis_server: RedisServer
) -> AsyncIterator[DedupStore]:
    """Each contract test runs once per store implementation."""
    if request.param == "memory":
        made: DedupStore = MemoryDedupStore(window_seconds=60)
    else:
        made = RedisDedupStore.from_url(redis_server.url, 60, prefix=f"t{uuid.uuid4().hex[:8]}:")
    try:
        yield made
    finally:
        await made.close()


def key() -> str:
    return f"src:{uuid.uuid4()}"


async def test_first_claim_is_new_then_done_after_complete(store: DedupStore) -> None:
    """A new key is claimed; once completed, a second claim is 'done' with the first event id."""
    k = key()
    assert (await store.claim(k, "ev-1", 1.0)).state == "new"
    await store.complete(k, "ev-1")
    claim = await store.claim(k, "ev-1", 1.0)
    assert claim.state == "done" and claim.event_id == "ev-1"


async def test_released_claim_can_be_claimed_again(store: DedupStore) -> None:
    """A failed publish releases the claim: the provider's retry is not a duplicate."""
    k = key()
    claim = await store.claim(k, "ev-1", 1.0)
    assert claim.state == "new"
    await store.release(k, claim.token)
    assert (await store.claim(k, "ev-1", 1.0)).state == "new"


async def test_waiter_sees_done_when_owner_completes(store: DedupStore) -> None:
    """A concurrent claim waits for the owner and then answers 'done'."""
    k = key()
    assert (await store.claim(k, "ev-1", 5.0)).state == "new"
    waiter = asyncio.create_task(store.claim(k, "ev-1", 5.0))
    await asyncio.sleep(0.1)
    assert not waiter.done()
    await store.complete(k, "ev-1")
    assert (await asyncio.wait_for(waiter, 5)).state == "done"


async def test_waiter_takes_over_when_owner_releases(store: DedupStore) -> None:
    """If the owner's publish fails, the waiting request becomes the owner and publishes."""
    k = key()
    claim = await store.claim(k, "ev-1", 5.0)
    assert claim.state == "new"
    waiter = asyncio.create_task(store.claim(k, "ev-1", 5.0))
    await asyncio.sleep(0.1)
    await store.release(k, claim.token)
    assert (await asyncio.wait_for(waiter, 5)).state == "new"


async def test_concurrent_claims_have_exactly_one_owner(store: DedupStore) -> None:
    """Twenty racing claims on one key: one 'new', and after completion all others 'done'."""
    k = key()

    async def attempt() -> str:
        claim = await store.claim(k, "ev-1", 5.0)
        if claim.state == "new":
            await asyncio.sleep(0.05)
            await store.complete(k, "ev-1")
        return claim.state

    states = await asyncio.gather(*(attempt() for _ in range(20)))
    assert states.count("new") == 1 and states.count("done") == 19


async def test_keys_are_independent(store: DedupStore) -> None:
    """Completing one delivery says nothing about another."""
    a, b = key(), key()
    assert (await store.claim(a, "ev-a", 1.0)).state == "new"
    await store.complete(a, "ev-a")
    assert (await store.claim(b, "ev-b", 1.0)).state == "new"


async def test_done_marker_expires_after_the_window(redis_server: RedisServer) -> None:
    """Outside the dedup window the same delivery is new again (both stores honour the window)."""
    for made in (
        MemoryDedupStore(window_seconds=1),
        RedisDedupStore.from_url(redis_server.url, 1, prefix=f"t{uuid.uuid4().hex[:8]}:"),
    ):
        k = key()
        assert (await made.claim(k, "ev", 1.0)).state == "new"
        await made.complete(k, "ev")
        assert (await made.claim(k, "ev", 0.1)).state == "done"
        await asyncio.sleep(1.2)
        assert (await made.claim(k, "ev", 0.1)).state == "new"
        await made.close()


async def test_two_redis_stores_share_claims(redis_server: RedisServer) -> None:
    """Two replicas (two clients) on one Redis: the second sees the first's claim and completion."""
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    one = RedisDedupStore.from_url(redis_server.url, 60, prefix=prefix)
    two = RedisDedupStore.from_url(redis_server.url, 60, prefix=prefix)
    try:
        k = key()
        assert (await one.claim(k, "ev", 5.0)).state == "new"
        waiter = asyncio.create_task(two.claim(k, "ev", 5.0))
        await asyncio.sleep(0.1)
        assert not waiter.done()
        await one.complete(k, "ev")
        claim = await asyncio.wait_for(waiter, 5)
        assert claim.state == "done" and claim.event_id == "ev"
    finally:
        await one.close()
        await two.close()


async def test_redis_late_release_does_not_free_another_owner(redis_server: RedisServer) -> None:
    """After a lease expired and another replica took over, the first one's release leaves it alone."""
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    client_one, client_two = Redis.from_url(redis_server.url), Redis.from_url(redis_server.url)
    one = RedisDedupStore(client_one, 60, prefix=prefix, lease_margin_seconds=0.0)
    two = RedisDedupStore(client_two, 60, prefix=prefix, lease_margin_seconds=0.0)
    try:
        k = key()
        first = await one.claim(k, "ev", 0.2)  # lease 0.2 s
        assert first.state == "new"
        await asyncio.sleep(0.3)
        assert (await two.claim(k, "ev", 5.0)).state == "new"  # lease expired: takeover
        await one.release(k, first.token)
        assert await client_two.get(prefix + k) is not None
        third = asyncio.create_task(one.claim(k, "ev", 5.0))
        await asyncio.sleep(0.1)
        assert not third.done()  # still owned by two
        await two.complete(k, "ev")
        assert (await asyncio.wait_for(third, 5)).state == "done"
    finally:
        await one.close()
        await two.close()


async def test_redis_unreachable_claim_raises_dedup_unavailable() -> None:
    """No Redis listening: claim raises DedupUnavailable (the ingress answers 503), quickly."""
    made = RedisDedupStore.from_url(f"redis://127.0.0.1:{free_port()}/0", 60, timeout_seconds=0.5)
    try:
        with pytest.raises(DedupUnavailable):
            await asyncio.wait_for(made.claim(key(), "ev", 1.0), 10)
        await made.complete(key(), "ev")  # after an acknowledged publish: logged, never raised
        await made.release(key(), "token")
    finally:
        await made.close()


async def test_abandoned_claim_is_taken_over_once_its_lease_lapses(store: DedupStore) -> None:
    """An owner that never completes nor releases blocks its key for its lease only, not for
    the waiter's whole wait."""
    k = key()
    assert (await store.claim(k, "ev", 0.2)).state == "new"  # lease: 0.2 s plus the margin
    taken = await asyncio.wait_for(store.claim(k, "ev", 30.0), 10)
    assert taken.state == "new" and taken.token is not None


async def test_late_release_after_a_takeover_leaves_the_new_owner_alone(store: DedupStore) -> None:
    """The first owner's release after its lease lapsed does not free the claim of the
    request that took over (its token no longer matches)."""
    k = key()
    first = await store.claim(k, "ev", 0.2)
    second = await asyncio.wait_for(store.claim(k, "ev", 30.0), 10)
    assert second.state == "new"
    await store.release(k, first.token)
    third = asyncio.create_task(store.claim(k, "ev", 30.0))
    await asyncio.sleep(0.2)
    assert not third.done()  # still owned by the second
    await store.complete(k, "ev", second.token)
    assert (await asyncio.wait_for(third, 10)).state == "done"


async def test_memory_store_holds_at_most_max_inflight_claims() -> None:
    """Past max_inflight live claims a claim is refused (503 at the ingress); lapsed leases
    are swept to make room, and released claims leave nothing behind."""
    made = MemoryDedupStore(window_seconds=60, max_inflight=2, lease_margin_seconds=0.0)
    short, long = await made.claim(key(), "ev", 0.2), await made.claim(key(), "ev", 30.0)
    assert short.state == long.state == "new"
    with pytest.raises(DedupUnavailable):
        await made.claim(key(), "ev", 30.0)
    await asyncio.sleep(0.3)  # the short lease lapses
    k = key()
    claim = await made.claim(k, "ev", 30.0)
    assert claim.state == "new" and made.inflight() == 2
    await made.release(k, claim.token)
    assert made.inflight() == 1
