"""Requests wait for a connection slot before httpx's pool, never inside it."""

from __future__ import annotations

import asyncio

import httpx

from hookline.http import ApiClient
from hookline.http.registry import BreakerRegistry
from tests.http.conftest import settings, unique
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
