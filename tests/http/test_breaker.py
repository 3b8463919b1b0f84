"""The circuit breaker: one contract for both stores, then the breaker in a client against a real server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from hookline.config.models import BreakerSettings
from hookline.errors import CircuitOpenError, ProviderRejected, ProviderUnavailable
from hookline.http import ManualClock
from hookline.http.breaker import BreakerStore, MemoryBreakerStore
from hookline.http.breaker_redis import RedisBreakerStore
from hookline.http.registry import BreakerRegistry
from tests.http.conftest import client_for, settings, unique
from tests.http.fault_server import FaultServer, Step
from tests.support.servers import RedisServer

StoreFactory = Callable[[BreakerSettings], BreakerStore]


class Harness:
    def __init__(
        self, make: StoreFactory, advance: Callable[[float], Awaitable[None]], recovery: float
    ) -> None:
        self.make = make
        self.advance = advance
        self.recovery = recovery

    def settings(self, **overrides: object) -> BreakerSettings:
        data: dict[str, object] = {"failure_threshold": 3, "recovery_seconds": self.recovery}
        data.update(overrides)
        return BreakerSettings.model_validate(data)


class BreakerStoreContract:
    """Every breaker store keeps the same state machine."""

    async def test_opens_after_consecutive_failures(self, harness: Harness) -> None:
        """N consecutive failures open the breaker; calls are then refused with a retry time."""
        store = harness.make(harness.settings())
        for _ in range(2):
            assert (await store.acquire()).admitted
            assert await store.record(False, False) == "closed"
        assert await store.record(False, False) == "open"
        refused = await store.acquire()
        assert not refused.admitted
        assert refused.state == "open"
        assert 0 < refused.retry_in <= harness.recovery

    async def test_success_resets_the_consecutive_count(self, harness: Harness) -> None:
        """A success between failures keeps the breaker closed."""
        store = harness.make(harness.settings())
        for outcome in (False, False, True, False, False):
            await store.record(outcome, False)
        assert (await store.snapshot())[:2] == ("closed", 2)

    async def test_half_open_admits_limited_probes_then_closes(self, harness: Harness) -> None:
        """After the cool-down only half_open_probes calls pass; their successes close the breaker."""
        store = harness.make(harness.settings(half_open_probes=2))
        for _ in range(3):
            await store.record(False, False)
        await harness.advance(harness.recovery + 0.05)
        assert (await store.snapshot())[0] == "half_open"
        first, second, third = [await store.acquire() for _ in range(3)]
        assert first.admitted and first.probe and second.admitted and second.probe
        assert not third.admitted
        assert await store.record(True, True) == "half_open"
        assert await store.record(True, True) == "closed"
        assert (await store.acquire()).admitted

    async def test_failed_probe_reopens(self, harness: Harness) -> None:
        """A failing probe opens the breaker again for a full cool-down."""
        store = harness.make(harness.settings())
        for _ in range(3):
            await store.record(False, False)
        await harness.advance(harness.recovery + 0.05)
        probe = await store.acquire()
        assert probe.probe
        assert await store.record(False, True) == "open"
        assert not (await store.acquire()).admitted

    async def test_failure_ratio_over_window(self, harness: Harness) -> None:
        """With failure_ratio set, half of the calls in the window failing opens it, even without a streak."""
        store = harness.make(
            harness.settings(failure_threshold=100, failure_ratio=0.5, minimum_calls=6)
        )
        states = [await store.record(ok, False) for ok in (True, False, True, False, True)]
        assert states[-1] == "closed"  # five calls: under minimum_calls
        assert await store.record(False, False) == "open"  # 3 of 6 failed

    async def test_reset_closes(self, harness: Harness) -> None:
        """reset() closes an open breaker at once."""
        store = harness.make(harness.settings())
        for _ in range(3):
            await store.record(False, False)
        await store.reset()
        assert (await store.snapshot()) == ("closed", 0, None)
        assert (await store.acquire()).admitted


class TestMemoryBreakerStore(BreakerStoreContract):
    @pytest.fixture
    def harness(self) -> Harness:
        clock = ManualClock()

        async def advance(seconds: float) -> None:
            clock.advance(seconds)

        return Harness(lambda s: MemoryBreakerStore(s, clock), advance, recovery=30.0)


@pytest_asyncio.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url)
    try:
        yield client
    finally:
        await client.aclose()


class TestRedisBreakerStore(BreakerStoreContract):
    @pytest.fixture
    def harness(self, redis: Redis) -> Harness:
        # Redis's own clock decides, so the cool-down is real but short.
        return Harness(
            lambda s: RedisBreakerStore(redis, f"t-{uuid.uuid4().hex}", s),
            asyncio.sleep,
            recovery=0.3,
        )


PATH = "/api/pay"


async def test_client_breaker_opens_fails_fast_half_opens_and_closes(
    fault: FaultServer, base_url: str
) -> None:
    """Threshold failures open it; then calls fail fast without reaching the server; after the
    cool-down one probe goes through and its success closes the breaker."""
    fault.script(PATH, *[Step(503)] * 3)
    clock = ManualClock()
    provider = settings(
        base_url,
        retry={"max_attempts": 1},
        breaker={"failure_threshold": 3, "recovery_seconds": 60},
    )
    async with client_for(provider, clock=clock) as client:
        for _ in range(3):
            with pytest.raises(ProviderUnavailable):
                await client.request("GET", "/pay")
        assert client.breaker.state == "open"
        with pytest.raises(CircuitOpenError) as caught:
            await client.request("GET", "/pay")
        assert caught.value.retry_after == pytest.approx(60, abs=1)
        assert fault.hits(PATH) == 3
        clock.advance(61)
        assert client.breaker.state == "half_open"
        response = await client.request("GET", "/pay")
        assert response.status_code == 200
        assert client.breaker.state == "closed"
    assert fault.hits(PATH) == 4


async def test_retries_feed_the_breaker_and_open_breaker_stops_retries(
    fault: FaultServer, base_url: str
) -> None:
    """Each attempt counts; once the breaker opens mid-call, the call stops with CircuitOpenError."""
    fault.script(PATH, *[Step(502)] * 10)
    provider = settings(
        base_url,
        retry={"max_attempts": 5},
        breaker={"failure_threshold": 2, "recovery_seconds": 60},
    )
    async with client_for(provider, clock=ManualClock()) as client:
        with pytest.raises(CircuitOpenError):
            await client.request("GET", "/pay")
    assert fault.hits(PATH) == 2


async def test_business_errors_never_open_the_breaker(fault: FaultServer, base_url: str) -> None:
    """Ten 409 answers in a row leave the breaker closed: the provider is up and said no."""
    fault.script(PATH, *[Step(409, json={"error": {"code": "NO_AVAILABILITY"}})] * 10)
    provider = settings(base_url, breaker={"failure_threshold": 2})
    async with client_for(provider) as client:
        for _ in range(10):
            with pytest.raises(ProviderRejected):
                await client.request("GET", "/pay")
        assert client.breaker.state == "closed"


async def test_half_open_failure_reopens_in_client(fault: FaultServer, base_url: str) -> None:
    """A failed probe reopens the breaker; the next call fails fast again."""
    fault.script(PATH, Step(503), Step(503))
    clock = ManualClock()
    provider = settings(
        base_url,
        retry={"max_attempts": 1},
        breaker={"failure_threshold": 1, "recovery_seconds": 10},
    )
    async with client_for(provider, clock=clock) as client:
        with pytest.raises(ProviderUnavailable):
            await client.request("GET", "/pay")
        clock.advance(11)
        with pytest.raises(ProviderUnavailable):
            await client.request("GET", "/pay")
        with pytest.raises(CircuitOpenError):
            await client.request("GET", "/pay")
    assert fault.hits(PATH) == 2


async def test_redis_shared_breaker_across_replicas(
    fault: FaultServer, base_url: str, redis_server: RedisServer
) -> None:
    """Two clients (replicas) sharing Redis share the breaker: one trips it, the other fails fast."""
    fault.script(PATH, *[Step(503)] * 2)
    name = unique("shared")
    provider = settings(
        base_url,
        retry={"max_attempts": 1},
        breaker={"failure_threshold": 2, "recovery_seconds": 0.5},
    )
    async with (
        client_for(provider, name=name, redis_url=redis_server.url) as first,
        client_for(
            provider, name=name, redis_url=redis_server.url, registry=BreakerRegistry()
        ) as second,
    ):
        for _ in range(2):
            with pytest.raises(ProviderUnavailable):
                await first.request("GET", "/pay")
        with pytest.raises(CircuitOpenError):
            await second.request("GET", "/pay")
        assert second.breaker.state == "open"
        assert fault.hits(PATH) == 2
        await asyncio.sleep(0.6)
        assert (await second.request("GET", "/pay")).status_code == 200
        assert (await first.breaker.snapshot()).state == "closed"
