"""Requests wait for a connection slot before httpx's pool, never inside it."""

from __future__ import annotations

import asyncio

import httpcore
import httpx
import pytest

from hookline.errors import ProviderUnavailable
from hookline.http import ApiClient
from hookline.http.client import SHARD_CONNECTIONS
from hookline.http.registry import BreakerRegistry
from tests.http.conftest import client_for, settings, unique
from tests.http.fault_server import FaultServer, Step

PATH = "/api/slow"
CONNECTIONS = 4
CALLS = 40


class CountingTransport(httpx.AsyncBaseTransport):
    """httpx's own pooled transport, counting the requests handed to it at once."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._inner = httpx.AsyncHTTPTransport(limits=limits)
        self.inside = 0
        self.peak = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.inside += 1
        self.peak = max(self.peak, self.inside)
        try:
            response = await self._inner.handle_async_request(request)
            await response.aread()  # the connection is back in the pool only once read
            return response
        finally:
            self.inside -= 1

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_calls_beyond_the_pool_all_complete_and_never_queue_in_it(
    fault: FaultServer, base_url: str
) -> None:
    """40 concurrent calls on 4 connections (concurrency limit 64) all succeed, and httpx's
    pool never holds more requests than it has connections: the rest wait for a slot."""
    fault.script(PATH, *[Step(200, delay=0.05)] * CALLS)
    provider = settings(base_url, limits={"max_concurrency": 64, "max_connections": CONNECTIONS})
    transport = CountingTransport(
        httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    )
    client = ApiClient(unique(), provider, transport=transport, registry=BreakerRegistry())
    try:
        responses = await asyncio.gather(
            *(client.request("POST", "/slow", json={"n": n}) for n in range(CALLS))
        )
    finally:
        await client.aclose()
    assert [r.status_code for r in responses] == [200] * CALLS
    assert fault.hits(PATH) == CALLS
    # The slots were used (calls overlapped), and the bound held.
    assert 1 < transport.peak <= CONNECTIONS, transport.peak


async def test_connections_are_split_over_small_pools_and_a_quiet_stream_uses_one(
    fault: FaultServer, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 12 connections in pools of SHARD_CONNECTIONS, a burst of 40 calls opens more
    than one pool's worth and never more than 12 connections; once it is over, calls one at
    a time all go over one connection of one pool, and httpcore's per-request pass
    checks only that pool's connections, not the 8 idle ones of the others."""
    assert SHARD_CONNECTIONS == 4
    checks = [0]
    has_expired = httpcore.AsyncHTTPConnection.has_expired

    def counted(connection: httpcore.AsyncHTTPConnection) -> bool:
        checks[0] += 1
        return has_expired(connection)

    monkeypatch.setattr(httpcore.AsyncHTTPConnection, "has_expired", counted)
    fault.script(PATH, *[Step(200, delay=0.05)] * CALLS)
    provider = settings(base_url, limits={"max_concurrency": 64, "max_connections": 12})
    async with client_for(provider) as client:
        burst = await asyncio.gather(
            *(client.request("POST", "/slow", json={"n": n}) for n in range(CALLS))
        )
        burst_ports = {seen.client_port for seen in fault.seen(PATH)}
        checks[0] = 0
        for n in range(10):
            await client.request("POST", "/quiet", json={"n": n})
    assert [r.status_code for r in burst] == [200] * CALLS
    assert SHARD_CONNECTIONS < len(burst_ports) <= 12, burst_ports
    quiet_ports = {seen.client_port for seen in fault.seen("/api/quiet")}
    assert len(quiet_ports) == 1 and quiet_ports <= burst_ports
    # httpcore checks its pool when a request comes and when it goes: 2 passes per call.
    assert checks[0] <= 10 * 2 * SHARD_CONNECTIONS, checks[0]


async def test_a_slot_wait_past_the_pool_timeout_fails_as_not_sent(
    fault: FaultServer, base_url: str
) -> None:
    """With the one connection busy for longer than a call's budget, that call waits for a
    slot only as long as its attempt's timeout and fails as httpx's pool timeout would
    (TIMEOUT, caused by PoolTimeout: retryable, not sent), never reaching the server."""
    fault.script(PATH, Step(200, delay=1.5))
    provider = settings(base_url, limits={"max_connections": 1}, retry={"max_attempts": 1})
    async with client_for(provider) as client:
        busy = asyncio.create_task(client.request("POST", "/slow"))
        await asyncio.sleep(0.1)
        with pytest.raises(ProviderUnavailable) as raised:
            await client.request("POST", "/waiting", deadline=0.3)
        assert (await busy).status_code == 200
    assert raised.value.code == "TIMEOUT"
    assert isinstance(raised.value.__cause__, httpx.PoolTimeout)
    assert fault.hits("/api/waiting") == 0
