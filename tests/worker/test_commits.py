"""The runtime commits only the finished prefix of each partition, whole fetches at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from hookline.bus.topics import Topics
from hookline.envelope import CloudEvent
from hookline.worker.handlers import HandlerContext, HandlerRegistry
from hookline.worker.registry import WorkerSpec
from hookline.worker.runtime import Worker
from tests.worker.support import (
    EFFECT,
    SERVICE,
    command,
    committed,
    eventually,
    produce,
    worker_settings,
)


async def test_a_held_record_keeps_every_later_offset_of_its_partition_uncommitted(broker):
    """While the first record of a fetch is still running, no commit passes it; once it ends, all of its partition commits."""
    settings = worker_settings(broker.bootstrap_servers, concurrency=8, commit_interval_ms=50)
    topic = Topics(settings.kafka.topic_prefix).commands(SERVICE)
    release, started = asyncio.Event(), asyncio.Event()
    handled: list[str] = []

    async def handler(event: CloudEvent, ctx: HandlerContext) -> None:
        if event.subject == "held":
            started.set()
            await release.wait()
        handled.append(event.id)

    spec = WorkerSpec(SERVICE, [topic], HandlerRegistry({EFFECT: handler}))
    worker = Worker(settings, spec)
    await worker.start()  # creates the topic with its 3 partitions
    try:
        # The held record is offset 0 of its partition; records of other keys follow it
        # there (and fill the other partitions).
        held = await produce(broker.bootstrap_servers, topic, [command("held", 0)])
        ((partition, _),) = held.items()
        await eventually(lambda: started.is_set())
        others = [command(f"other-{i}", i) for i in range(200)]
        ends = await produce(broker.bootstrap_servers, topic, others)
        assert ends.get(partition, 0) > 1
        await eventually(lambda: len(handled) == len(others))
        # Every other record is done; several commit intervals pass.
        await asyncio.sleep(0.5)
        offsets = await committed(broker.bootstrap_servers, worker.group_id, topic, 3)
        assert offsets[partition] == 0
        assert all(offsets[p] == end for p, end in ends.items() if p != partition)
        release.set()
        await eventually(
            lambda: _at(
                committed(broker.bootstrap_servers, worker.group_id, topic, 3),
                partition,
                ends[partition],
            )
        )
    finally:
        release.set()
        await worker.stop()


async def _at(pending: Awaitable[dict[int, int]], partition: int, end: int) -> bool:
    return (await pending)[partition] == end
