"""Per-key order with concurrency across keys, and back-pressure."""

from __future__ import annotations

import random

from hookline.bus.topics import Topics
from hookline.observability.metrics import REGISTRY
from hookline.worker.runtime import Worker
from tests.worker.support import (
    SERVICE,
    command,
    committed,
    eventually,
    produce,
    provider_spec,
    worker_settings,
)


async def test_effects_per_key_arrive_in_offset_order_while_keys_overlap(broker, provider):
    """Many keys, many records each, random handler delays: per key in order, across keys concurrent."""
    settings = worker_settings(broker.bootstrap_servers, concurrency=16)
    topic = Topics(settings.kafka.topic_prefix).commands(SERVICE)
    rng = random.Random(7)
    keys = [f"order-{k}" for k in range(24)]
    events = [
        command(key, seq, delay_ms=rng.choice([0, 1, 5, 15])) for seq in range(15) for key in keys
    ]
    worker = Worker(settings, provider_spec(settings, provider.url))
    await worker.start()
    try:
        ends = await produce(broker.bootstrap_servers, topic, events)
        await eventually(lambda: len(provider.effects.applied) == len(events))
        await eventually(
            lambda: _at(committed(broker.bootstrap_servers, worker.group_id, topic, 3), ends)
        )
    finally:
        await worker.stop()
    effects = provider.effects
    assert {key: effects.order[key] for key in keys} == {key: list(range(15)) for key in keys}
    assert effects.most_running > 1
    assert effects.repeated_keys == 0


async def _at(pending, ends: dict[int, int]) -> bool:
    offsets = await pending
    return all(offsets.get(p, 0) == end for p, end in ends.items())


async def test_full_buffer_pauses_fetching_instead_of_buffering(broker, provider):
    """With slow handlers, fetched-but-unfinished records stay bounded and partitions get paused."""
    settings = worker_settings(
        broker.bootstrap_servers, concurrency=2, max_buffered_records=20, max_poll_records=10
    )
    topic = Topics(settings.kafka.topic_prefix).commands(SERVICE)
    events = [command(f"k{i % 40}", i, delay_ms=50) for i in range(300)]
    worker = Worker(settings, provider_spec(settings, provider.url))
    labels = {"service": SERVICE}
    most_buffered = 0.0
    await worker.start()
    try:
        await produce(broker.bootstrap_servers, topic, events)

        def paused_and_bounded() -> bool:
            nonlocal most_buffered
            buffered = REGISTRY.get_sample_value("hookline_worker_buffered_records", labels) or 0
            most_buffered = max(most_buffered, buffered)
            paused = REGISTRY.get_sample_value("hookline_worker_paused_partitions", labels) or 0
            return paused >= 3 and len(provider.effects.applied) >= 40

        await eventually(paused_and_bounded)
    finally:
        await worker.stop()
    assert 0 < most_buffered <= 20 + 10
