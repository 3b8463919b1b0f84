"""Two workers in one group: when one leaves mid-stream the other takes over, effects still once."""

from __future__ import annotations

from hookline.bus.topics import Topics
from hookline.config.secrets import Secret
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


async def test_a_leaving_member_hands_its_partitions_over_without_repeats(
    broker, provider, redis_server
):
    """One of two members stops mid-stream; the other finishes every command exactly once, in order."""
    settings = worker_settings(broker.bootstrap_servers, concurrency=8)
    settings.redis_url = Secret(redis_server.url)
    topic = Topics(settings.kafka.topic_prefix).commands(SERVICE)
    keys = [f"reservation-{k}" for k in range(30)]
    events = [command(key, seq, delay_ms=3) for seq in range(20) for key in keys]
    first = Worker(settings, provider_spec(settings, provider.url))
    second = Worker(settings, provider_spec(settings, provider.url))
    await first.start()
    await second.start()
    try:
        ends = await produce(broker.bootstrap_servers, topic, events)
        await eventually(lambda: len(provider.effects.applied) >= 150)
        await second.stop()
        await eventually(lambda: len(provider.effects.applied) == len(events), timeout=60)
        await eventually(
            lambda: _at(committed(broker.bootstrap_servers, first.group_id, topic, 3), ends)
        )
    finally:
        await second.stop()
        await first.stop()
    effects = provider.effects
    assert {key: effects.order[key] for key in keys} == {key: list(range(20)) for key in keys}
    assert effects.repeated_keys == 0


async def _at(pending, ends: dict[int, int]) -> bool:
    offsets = await pending
    return all(offsets.get(p, 0) == end for p, end in ends.items())
