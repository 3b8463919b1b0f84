"""What the worker tests share: settings, a handler that calls the provider, producing, offsets."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from hookline.bus.codec import to_record
from hookline.bus.topics import Topics
from hookline.config.models import HooklineSettings
from hookline.envelope import CloudEvent, make_event
from hookline.errors import PermanentError, RetryableError
from hookline.worker.handlers import HandlerContext, HandlerRegistry
from hookline.worker.registry import WorkerSpec

EFFECT = "test.effect"
SERVICE = "testsvc"


def worker_settings(bootstrap: str, **worker: Any) -> HooklineSettings:
    """Fast-rebalancing settings with a topic prefix of its own, so tests never share topics."""
    base: dict[str, Any] = {
        "session_timeout_ms": 1500,
        "heartbeat_interval_ms": 300,
        "commit_interval_ms": 100,
        "shutdown_grace_seconds": 5,
        "revocation_grace_seconds": 2,
        "retry_tiers": ["1s", "2s"],
        "inline_retries": 0,
        "inline_backoff_ms": 10,
        "idempotency_lease_seconds": 3,
    }
    base.update(worker)
    return HooklineSettings.model_validate(
        {
            "kafka": {
                "bootstrap_servers": bootstrap,
                "topic_prefix": f"w{uuid.uuid4().hex[:10]}",
                "partitions": 3,
                "request_timeout_ms": 5000,
                "idempotence": "off",  # the embedded broker cannot do it
            },
            "worker": base,
        }
    )


def command(entity: str, seq: int, **data: Any) -> CloudEvent:
    return make_event(
        source="/tests/worker", type=EFFECT, subject=entity, data={"seq": seq, **data}
    )


class ProviderHandler:
    """Sends one effect per command to the stand-in provider, with the idempotency key."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = httpx.AsyncClient(timeout=10)

    async def __call__(self, event: CloudEvent, ctx: HandlerContext) -> None:
        body = {"entity": event.subject, **event.data}
        try:
            response = await self.client.post(
                f"{self.url}/effects", json=body, headers={"Idempotency-Key": ctx.idempotency_key}
            )
        except httpx.TransportError as exc:
            raise RetryableError(f"provider unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise RetryableError(f"provider answered {response.status_code}")
        if response.status_code >= 400:
            raise PermanentError(f"provider rejected: {response.status_code}")

    async def close(self) -> None:
        await self.client.aclose()


def provider_spec(settings: HooklineSettings, url: str, **handlers: Any) -> WorkerSpec:
    handler = ProviderHandler(url)
    registry = HandlerRegistry({EFFECT: handler, **handlers})
    topic = Topics(settings.kafka.topic_prefix).commands(SERVICE)
    return WorkerSpec(SERVICE, [topic], registry, close=handler.close)


async def produce(bootstrap: str, topic: str, events: list[CloudEvent]) -> dict[int, int]:
    """Write events (acks=all); returns the end offset per partition."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = []
        for event in events:
            record = to_record(event, topic)
            futures.append(
                await producer.send(topic, record.value, key=record.key, headers=record.headers)
            )
        ends: dict[int, int] = {}
        for meta in await asyncio.gather(*futures):
            ends[meta.partition] = max(ends.get(meta.partition, 0), meta.offset + 1)
        return ends
    finally:
        await producer.stop()


async def committed(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        result = {}
        for partition in range(partitions):
            offset = await consumer.committed(TopicPartition(topic, partition))
            result[partition] = offset if offset is not None else 0
        return result
    finally:
        await consumer.stop()


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], timeout: float = 30.0, every: float = 0.05
) -> None:
    """Wait until ``check`` holds; fail with the timeout otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(every)


ROOT = Path(__file__).resolve().parents[2]


def start_worker_process(
    config: Path, log: Path, worker: str = "tests.worker.crash_worker:build"
) -> subprocess.Popen[bytes]:
    """``hookline worker WORKER`` as its own process (HOOKLINE_* not inherited), output to ``log``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hookline", "--config", str(config), "worker", worker],
            cwd=ROOT,
            stdout=out,
            stderr=out,
            env=env,
        )


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 10 s, and reap it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
