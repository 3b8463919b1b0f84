"""A provider loop for tests: simulators and the ingress on given ports, events collected."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from hookline.bus.codec import from_value
from hookline.bus.topics import Topics, all_topics
from hookline.config.models import HooklineSettings
from hookline.envelope import CloudEvent
from hookline.ingress.app import create_app
from hookline.providers.simulators import SIMULATORS
from hookline.worker.runtime import Worker
from tests.support.kafka import create_topics
from tests.support.servers import serve


@contextlib.asynccontextmanager
async def simulated_world(
    settings: HooklineSettings, bootstrap: str, ports: dict[str, int], simulators: Iterable[str]
) -> AsyncIterator[None]:
    """Every topic, the named simulators on their ports and the real ingress on ``ports['ingress']``."""
    await create_topics(bootstrap, all_topics(settings, extra_domains=settings.sources), 3)
    async with contextlib.AsyncExitStack() as stack:
        for name in simulators:
            app = SIMULATORS[name](settings, settings.sandbox.providers[name])
            await stack.enter_async_context(serve(app, port=ports[name]))
        ingress = create_app(settings, bootstrap_servers=bootstrap, embedded=True)
        await stack.enter_async_context(serve(ingress, port=ports["ingress"]))
        yield


@contextlib.asynccontextmanager
async def collecting(bootstrap: str, topics: list[str], into: list[Any]) -> AsyncIterator[None]:
    """Append every CloudEvent arriving on ``topics`` to ``into`` while the block runs."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()

    async def follow() -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=100)
            for records in batch.values():
                into.extend(from_value(r.value) for r in records)

    task = asyncio.create_task(follow())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await consumer.stop()


@dataclass
class ProviderLoop:
    """What every provider loop holds: settings, simulator URLs, collected events, the worker."""

    settings: HooklineSettings
    raw: dict[str, Any]
    urls: dict[str, str]
    bootstrap: str
    worker: Worker | None = None
    events: list[CloudEvent] = field(default_factory=list)
    http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=10))

    @property
    def topics(self) -> Topics:
        return Topics(self.settings.kafka.topic_prefix)

    def of(self, subject: str) -> list[CloudEvent]:
        return [e for e in self.events if e.subject == subject]

    async def state(self, sim: str) -> dict[str, Any]:
        response = await self.http.get(f"{self.urls[sim]}/_sim/state")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    async def fault(self, sim: str, **spec: Any) -> str:
        response = await self.http.post(f"{self.urls[sim]}/_sim/faults", json=spec)
        response.raise_for_status()
        return str(response.json()["id"])

    async def clear_fault(self, sim: str, fault_id: str) -> None:
        (await self.http.delete(f"{self.urls[sim]}/_sim/faults/{fault_id}")).raise_for_status()
