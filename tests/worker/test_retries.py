"""Retry tiers, dead letters with their headers, and replay from the DLQ."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import yaml

from hookline.bus.topics import Topics
from hookline.envelope import CloudEvent
from hookline.observability.metrics import REGISTRY
from hookline.worker.runtime import Worker
from tests.support.kafka import consume_all
from tests.worker.support import (
    SERVICE,
    command,
    eventually,
    produce,
    provider_spec,
    worker_settings,
)


def _count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"service": SERVICE, **labels}) or 0.0


def _headers(record) -> dict[str, str]:
    return {k: v.decode() for k, v in record.headers if k.startswith("hookline-")}


async def test_twice_failing_command_is_handled_after_the_first_tier(broker, provider):
    """Fails in place, then again, is parked on tier 1s, and succeeds there: one effect."""
    settings = worker_settings(broker.bootstrap_servers, inline_retries=1)
    topics = Topics(settings.kafka.topic_prefix)
    provider.effects.fail_transient["flaky"] = 2
    retried = _count("hookline_worker_retries_total", tier="1s")
    worker = Worker(settings, provider_spec(settings, provider.url))
    await worker.start()
    try:
        await produce(broker.bootstrap_servers, topics.commands(SERVICE), [command("flaky", 1)])
        await eventually(lambda: len(provider.effects.applied) == 1)
    finally:
        await worker.stop()
    assert provider.effects.calls["flaky"] == 3
    assert _count("hookline_worker_retries_total", tier="1s") == retried + 1
    parked = await consume_all(broker.bootstrap_servers, topics.retry(SERVICE, "1s"), expect=1)
    assert len(parked) == 1
    assert _headers(parked[0])["hookline-attempts"] == "2"
    assert await consume_all(broker.bootstrap_servers, topics.dlq(SERVICE), timeout=1) == []


async def test_always_failing_command_ends_in_the_dlq_with_its_history(broker, provider):
    """After the last tier the record goes to the DLQ, headers naming error, attempts and origin."""
    settings = worker_settings(broker.bootstrap_servers)
    topics = Topics(settings.kafka.topic_prefix)
    provider.effects.fail_transient["broken"] = 1000
    worker = Worker(settings, provider_spec(settings, provider.url))
    await worker.start()
    try:
        event = command("broken", 1)
        ends = await produce(broker.bootstrap_servers, topics.commands(SERVICE), [event])
        letters = await consume_all(
            broker.bootstrap_servers, topics.dlq(SERVICE), expect=1, timeout=20
        )
    finally:
        await worker.stop()
    assert len(letters) == 1
    letter = letters[0]
    headers = _headers(letter)
    ((partition, end),) = ends.items()
    assert headers["hookline-error-class"] == "RetryableError"
    assert headers["hookline-error-message"] == "provider answered 503"
    assert headers["hookline-attempts"] == "3"  # the command, tier 1s, tier 2s
    assert headers["hookline-first-failure"].endswith("Z")
    assert headers["hookline-original-topic"] == topics.commands(SERVICE)
    assert (headers["hookline-original-partition"], headers["hookline-original-offset"]) == (
        str(partition),
        str(end - 1),
    )
    assert headers["hookline-dlq-reason"] == "retries_exhausted"
    assert CloudEvent.from_json(letter.value).id == event.id  # the value is kept as it was
    assert provider.effects.calls["broken"] == 3
    assert provider.effects.applied == {}


def _config(tmp_path: Path, settings) -> Path:
    path = tmp_path / "hookline.yaml"
    path.write_text(yaml.safe_dump(settings.model_dump(mode="json", exclude_none=True)))
    return path


async def _cli(config: Path, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hookline",
        "--config",
        str(config),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={"COLUMNS": "250", "PATH": "/usr/bin:/bin"},
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_permanent_error_goes_to_the_dlq_at_once_and_replay_handles_it(
    broker, provider, tmp_path
):
    """A rejected command is dead-lettered without retries; once fixed, dlq replay applies it once."""
    settings = worker_settings(broker.bootstrap_servers)
    topics = Topics(settings.kafka.topic_prefix)
    provider.effects.fail_permanent.add("rejected")
    config = _config(tmp_path, settings)
    worker = Worker(settings, provider_spec(settings, provider.url))
    await worker.start()
    try:
        event = command("rejected", 1)
        await produce(
            broker.bootstrap_servers, topics.commands(SERVICE), [event, command("fine", 1)]
        )
        letters = await consume_all(
            broker.bootstrap_servers, topics.dlq(SERVICE), expect=1, timeout=10
        )
        assert _headers(letters[0])["hookline-dlq-reason"] == "permanent"
        assert _headers(letters[0])["hookline-attempts"] == "1"
        assert provider.effects.calls["rejected"] == 1

        code, out, err = await _cli(config, "dlq", "list", "--service", SERVICE)
        assert code == 0, err
        assert event.id in out
        assert "PermanentError" in out

        provider.effects.fail_permanent.clear()  # the handler's problem is fixed
        code, out, err = await _cli(config, "dlq", "replay", "--service", SERVICE, "--id", event.id)
        assert code == 0, err
        assert f"replayed {event.id}" in out
        await eventually(lambda: event.id in provider.effects.applied, timeout=15)
        # A second replay of the same letter is acknowledged as already done.
        duplicates = _count("hookline_worker_records_total", outcome="duplicate")
        code, _, err = await _cli(config, "dlq", "replay", "--service", SERVICE, "--all")
        assert code == 0, err
        await eventually(
            lambda: _count("hookline_worker_records_total", outcome="duplicate") == duplicates + 1,
            timeout=15,
        )
    finally:
        await worker.stop()
    assert provider.effects.calls["rejected"] == 2
    assert provider.effects.repeated_keys == 0


async def test_dlq_show_with_an_unknown_id_says_so(broker, tmp_path):
    """Bad input to dlq gives one clear line and a non-zero exit."""
    settings = worker_settings(broker.bootstrap_servers)
    code, _out, err = await _cli(
        _config(tmp_path, settings), "dlq", "show", "--service", SERVICE, "--id", "nope"
    )
    assert code == 1
    assert err.strip() == "hookline: no dead letter with id nope"
