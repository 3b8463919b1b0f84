"""One reservation loop per test module: simulators, ingress and worker started once, shared by the tests.

Tests never share entities (each creates its own reservations and sessions) and
remove the faults they add, so sharing the loop costs no independence.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hookline.bus.broker import EmbeddedBroker
from tests.services.reservation.loop import ReservationLoop, reservation_loop
from tests.support.servers import RedisServer


@pytest.fixture(scope="module")
async def rloop(
    broker: EmbeddedBroker, redis_server: RedisServer
) -> AsyncIterator[ReservationLoop]:
    """The whole reservation loop, with the worker running."""
    async with reservation_loop(broker.bootstrap_servers, redis_url=redis_server.url) as loop:
        yield loop
