"""Graceful stop: in-flight work gets the grace period, and only finished work is committed."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer

from hookline.bus.codec import to_record
from hookline.bus.topics import Topics
from hookline.envelope import CloudEvent
from hookline.worker.handlers import HandlerContext, HandlerRegistry
from hookline.worker.idempotency import MemoryIdempotencyStore
from hookline.worker.registry import WorkerSpec
from hookline.worker.runtime import Worker
from tests.worker.support import EFFECT, SERVICE, command, committed, eventually, worker_settings


async def _produce_to_partition(bootstrap: str, topic: str, events: list[CloudEvent]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for event in events:
            record = to_record(event, topic)
            await producer.send_and_wait(topic, record.value, key=record.key, partition=0)
    finally:
        await producer.stop()


async def test_stop_commits_only_up_to_the_first_unfinished_record(broker):
    """A handler stuck past the grace period keeps its offset and everything after it uncommitted;
    a new worker gets those records again and skips the ones whose effect is already done."""
    settings = worker_settings(broker.bootstrap_servers, shutdown_grace_seconds=0.5)
    topic = Topics(settings.kafka.topic_prefix).commands(SERVICE)
    store = MemoryIdempotencyStore()
    handled: list[int] = []
    stuck = asyncio.Event()
    release = asyncio.Event()

    async def handler(event: CloudEvent, ctx: HandlerContext) -> None:
        if event.data["seq"] == 5 and not release.is_set():
            stuck.set()
            await asyncio.Event().wait()  # never finishes: the grace period must end it
        handled.append(event.data["seq"])

    spec = WorkerSpec(SERVICE, [topic], HandlerRegistry({EFFECT: handler}))
    # Distinct keys, one partition: everything but offset 5 can finish.
    events = [command(f"entity-{seq}", seq) for seq in range(10)]
    worker = Worker(settings, spec, store=store)
    await worker.start()
    try:
        await _produce_to_partition(broker.bootstrap_servers, topic, events)
        await eventually(lambda: stuck.is_set() and len(handled) == 9)
    finally:
        await worker.stop()
    assert await committed(broker.bootstrap_servers, worker.group_id, topic, 1) == {0: 5}

    release.set()
    handled.clear()
    again = Worker(settings, spec, store=store)
    await again.start()
    try:
        await eventually(lambda: handled == [5])
        await eventually(
            lambda: _equals(committed(broker.bootstrap_servers, again.group_id, topic, 1), {0: 10})
        )
    finally:
        await again.stop()
    assert handled == [5]  # 6..9 were done already: acknowledged without the handler


async def _equals(pending, expected) -> bool:
    return await pending == expected
