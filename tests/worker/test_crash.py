"""SIGKILL a worker process again and again mid-stream: every effect still happens exactly once."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
import yaml

from hookline.bus.topics import Topics
from tests.support.kafka import create_topics
from tests.worker.support import (
    SERVICE,
    command,
    committed,
    eventually,
    produce,
    start_worker_process,
    worker_settings,
)

KILLS = 4
CONCURRENCY = 32


@pytest.mark.slow
async def test_sigkilled_worker_applies_every_effect_exactly_once(
    broker, provider, redis_server, tmp_path
):
    """Killed four times while handling 3000 commands: nothing missing, nothing applied twice,
    per-key order kept, offsets committed to the end, and the worker itself calls again only
    what was in flight at a kill (the provider's Idempotency-Key would hide any other repeat)."""
    settings = worker_settings(
        broker.bootstrap_servers,
        concurrency=CONCURRENCY,
        idempotency_lease_seconds=2,
        session_timeout_ms=1500,
        heartbeat_interval_ms=300,
    )
    data = settings.model_dump(mode="json", exclude_none=True)
    data["redis_url"] = redis_server.url
    data["services"] = {"crashtest": {"provider_url": provider.url}}
    data["observability"] = {"log_level": "warning"}
    config = tmp_path / "hookline.yaml"
    config.write_text(yaml.safe_dump(data))
    log = tmp_path / "worker.log"
    topic = Topics(settings.kafka.topic_prefix).commands(SERVICE)
    keys = [f"msg-{k}" for k in range(150)]
    events = [command(key, seq, delay_ms=2) for seq in range(20) for key in keys]
    effects = provider.effects

    await create_topics(broker.bootstrap_servers, [topic], 3)
    process = start_worker_process(config, log)
    try:
        ends = await produce(broker.bootstrap_servers, topic, events)
        for _ in range(KILLS):
            seen = len(effects.applied)
            await eventually(lambda s=seen: len(effects.applied) >= s + 250, timeout=60)
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            process = start_worker_process(config, log)
        await eventually(lambda: len(effects.applied) == len(events), timeout=90)
        await eventually(
            lambda: _at(
                committed(
                    broker.bootstrap_servers,
                    f"{settings.kafka.topic_prefix}.worker.{SERVICE}",
                    topic,
                    3,
                ),
                ends,
            ),
            timeout=30,
        )
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 30) == 0
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)
    repeated = sum(effects.repeats.values())
    # A record is in flight from the idempotency store's begin to its done mark, and the
    # worker runs at most `concurrency` of them at once; only those can be called again
    # after a kill. Everything else must be recognised as done without a call.
    bound = KILLS * CONCURRENCY
    print(
        f"\ncrash test: {len(events)} commands, {KILLS} SIGKILLs, "
        f"{effects.repeated_keys} repeated keys seen by the provider "
        f"({repeated} repeated calls, at most {bound} allowed)"
    )
    assert set(effects.applied) == {event.id for event in events}
    assert {key: effects.order[key] for key in keys} == {key: list(range(20)) for key in keys}
    assert repeated <= bound, (
        f"{repeated} calls repeated at the provider, more than the {bound} in flight at the kills"
    )


async def _at(pending, ends: dict[int, int]) -> bool:
    offsets = await pending
    return all(offsets.get(p, 0) == end for p, end in ends.items())
