"""A provider loop for tests: simulators and the ingress on given ports, events collected."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer

from hookline.bus.codec import from_value
from hookline.bus.topics import all_topics
from hookline.config.models import HooklineSettings
from hookline.ingress.app import create_app
from hookline.sandbox.registry import SIMULATORS
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
        *topics, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
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
