"""Client-side rate limits (measured at the server) and the GET cache."""

from __future__ import annotations

import asyncio

import pytest

from hookline.bus.broker import free_port
from hookline.errors import ProviderUnavailable
from hookline.http import ManualClock
from hookline.http.ratelimit import MemoryWindowStore, Rule
from hookline.http.registry import BreakerRegistry
from tests.http.conftest import client_for, settings, unique
from tests.http.fault_server import FaultServer, Seen, Step
from tests.support.servers import RedisServer

PATH = "/api/search"
TOLERANCE = 0.03  # only for lower bounds that a loaded machine can only lengthen
# How much later one request may reach the server than another, on a loaded 2-core box.
SLACK = 0.75


def over_the_rate(arrivals: list[Seen], rate: float, burst: int) -> list[tuple[int, float]]:
    """Runs of arrivals that break ``count <= rate * (span + SLACK) + burst``.

    A limiter of ``rate`` per second that lets ``burst`` through at once keeps
    ``count <= rate * span + burst`` for every run of calls it releases; at the
    server each span may look up to SLACK shorter (a request delayed on its way).
    Measured over the whole run, the bound still fails a limiter ~1.5x too fast
    and one that does not limit at all.
    """
    times = sorted(seen.at for seen in arrivals)
    return [
        (j - i + 1, times[j] - times[i])
        for i in range(len(times))
        for j in range(i, len(times))
        if j - i + 1 > rate * (times[j] - times[i] + SLACK) + burst
    ]


async def test_burst_is_held_to_requests_per_second(fault: FaultServer, base_url: str) -> None:
    """40 concurrent calls at 10/s reach the server at no more than 10/s (plus one burst of 10)."""
    provider = settings(base_url, limits={"requests_per_second": 10})
    async with client_for(provider) as client:
        await asyncio.gather(*(client.request("GET", "/search") for _ in range(40)))
    seen = fault.seen(PATH)
    assert len(seen) == 40
    assert over_the_rate(seen, rate=10, burst=10) == []


async def test_min_interval_spaces_requests(fault: FaultServer, base_url: str) -> None:
    """min_interval_ms spaces requests: 20 calls 100 ms apart reach the server at no more than 10/s."""
    provider = settings(base_url, limits={"min_interval_ms": 100})
    async with client_for(provider) as client:
        await asyncio.gather(*(client.request("GET", "/search") for _ in range(20)))
    seen = fault.seen(PATH)
    assert len(seen) == 20
    assert over_the_rate(seen, rate=10, burst=1) == []


async def test_requests_per_minute_waits_are_recorded_on_the_clock(
    fault: FaultServer, base_url: str
) -> None:
    """At 2/min the third call waits a full minute (virtual clock): the window is exact, not a burst bucket."""
    clock = ManualClock()
    provider = settings(
        base_url, limits={"requests_per_minute": 2}, retry={"deadline_seconds": 120}
    )
    async with client_for(provider, clock=clock) as client:
        for _ in range(3):
            await client.request("GET", "/search")
    assert clock.sleeps == [pytest.approx(60.0)]


async def test_wait_past_deadline_is_refused_not_slept(fault: FaultServer, base_url: str) -> None:
    """When the rate-limit wait would pass the call's deadline the call fails at once, retry_after = the wait."""
    clock = ManualClock()
    provider = settings(base_url, limits={"requests_per_second": 1})
    async with client_for(provider, clock=clock) as client:
        await client.request("GET", "/search")
        with pytest.raises(ProviderUnavailable) as caught:
            await client.request("GET", "/search", deadline=0.5)
    assert caught.value.code == "RATE_LIMITED_LOCALLY"
    assert caught.value.retry_after == pytest.approx(1.0)
    assert clock.sleeps == []
    assert fault.hits(PATH) == 1


async def test_max_concurrency_bounds_in_flight_requests(fault: FaultServer, base_url: str) -> None:
    """No more than max_concurrency requests are in flight at once."""
    fault.script(PATH, *[Step(200, delay=0.1)] * 6)
    provider = settings(base_url, limits={"max_concurrency": 2})
    async with client_for(provider) as client:
        started = asyncio.get_running_loop().time()
        await asyncio.gather(*(client.request("GET", "/search") for _ in range(6)))
        elapsed = asyncio.get_running_loop().time() - started
    assert elapsed >= 0.3 - TOLERANCE  # three rounds of two


async def test_memory_window_is_first_come_first_served() -> None:
    """Reservations never jump ahead of earlier ones."""
    clock = ManualClock()
    store = MemoryWindowStore(clock)
    rules = [Rule(2, 1.0)]
    waits = [(await store.reserve(rules, 10)).wait for _ in range(5)]
    assert waits == [0.0, 0.0, 1.0, 1.0, 2.0]


async def test_redis_shared_rate_limit_across_replicas(
    fault: FaultServer, base_url: str, redis_server: RedisServer
) -> None:
    """Two replicas sharing Redis together keep 10/s at the server (one replica alone would allow 20/s)."""
    name = unique("rl")
    provider = settings(base_url, limits={"requests_per_second": 10})
    async with (
        client_for(provider, name=name, redis_url=redis_server.url) as a,
        client_for(
            provider, name=name, redis_url=redis_server.url, registry=BreakerRegistry()
        ) as b,
    ):
        await asyncio.gather(*(c.request("GET", "/search") for c in (a, b) for _ in range(20)))
    seen = fault.seen(PATH)
    assert len(seen) == 40
    assert over_the_rate(seen, rate=10, burst=10) == []


CACHED = "/api/services/SVC-1"


async def test_get_cache_serves_within_ttl_and_refetches_after(
    fault: FaultServer, base_url: str
) -> None:
    """A GET matching a cache pattern is served from cache until its TTL passes."""
    clock = ManualClock()
    provider = settings(base_url, cache={"/services/*": 60})
    async with client_for(provider, clock=clock) as client:
        first = await client.request("GET", "/services/SVC-1")
        second = await client.request("GET", "/services/SVC-1")
        assert second.json() == first.json()
        assert fault.hits(CACHED) == 1
        await client.request("GET", "/services/SVC-1", params={"view": "full"})  # another key
        assert fault.hits(CACHED) == 2
        clock.advance(61)
        await client.request("GET", "/services/SVC-1")
    assert fault.hits(CACHED) == 3


async def test_uncached_paths_and_posts_always_reach_the_server(
    fault: FaultServer, base_url: str
) -> None:
    """Paths without a pattern, and non-GET calls, are never cached; cache_ttl opts a call in."""
    provider = settings(base_url, cache={"/services/*": 60})
    async with client_for(provider) as client:
        for _ in range(2):
            await client.request("GET", "/search")
            await client.request("POST", "/services/SVC-1", json={})
        assert fault.hits(PATH) == 2
        assert fault.hits(CACHED) == 2
        await client.request("GET", "/search", cache_ttl=30)
        await client.request("GET", "/search", cache_ttl=30)
    assert fault.hits(PATH) == 3


async def test_redis_cache_is_shared(
    fault: FaultServer, base_url: str, redis_server: RedisServer
) -> None:
    """With Redis, one replica's cached GET answers the other replica too."""
    name = unique("cache")
    provider = settings(base_url, cache={"/services/**": 60})
    async with (
        client_for(provider, name=name, redis_url=redis_server.url) as a,
        client_for(
            provider, name=name, redis_url=redis_server.url, registry=BreakerRegistry()
        ) as b,
    ):
        first = await a.request("GET", "/services/SVC-1")
        second = await b.request("GET", "/services/SVC-1")
    assert second.status_code == 200
    assert second.json() == first.json()
    assert fault.hits(CACHED) == 1


async def test_unreachable_redis_refuses_calls_as_retryable(
    fault: FaultServer, base_url: str
) -> None:
    """With redis_url set but Redis down, calls fail as ProviderUnavailable REDIS_UNAVAILABLE and never reach the provider."""
    provider = settings(base_url, limits={"requests_per_second": 10})
    async with client_for(provider, redis_url=f"redis://127.0.0.1:{free_port()}/0") as client:
        with pytest.raises(ProviderUnavailable) as caught:
            await client.request("GET", "/search")
    assert caught.value.code == "REDIS_UNAVAILABLE"
    assert caught.value.retry_after is not None
    assert fault.hits(PATH) == 0
