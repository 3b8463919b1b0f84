"""Follow every hookline topic and wait for the records a scenario expects."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer

from hookline.bus.codec import to_record
from hookline.bus.connection import client_options, start_producer
from hookline.config.models import HooklineSettings, bootstrap
from hookline.envelope import CloudEvent, make_event
from hookline.errors import HooklineError

Match = Callable[[dict[str, Any]], bool]


class StepTimeout(HooklineError):
    """The loop did not produce what the scenario waited for in time."""


@dataclass
class Step:
    label: str
    detail: str
    elapsed: float


@dataclass
class Run:
    """One scenario run: publishes commands, waits for events, records the steps."""

    settings: HooklineSettings
    report: Callable[[Step], None]
    timeout: float = 30.0
    steps: list[Step] = field(default_factory=list)
    _seen: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def __aenter__(self) -> Run:
        servers, embedded = bootstrap(self.settings.kafka)
        prefix = self.settings.kafka.topic_prefix
        self._consumer = AIOKafkaConsumer(
            **client_options(self.settings.kafka, servers),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
        )
        self._consumer.subscribe(pattern=rf"^{prefix}\.(events|commands|dlq)\..*")
        try:
            await self._consumer.start()
        except Exception as exc:
            await self._consumer.stop()
            raise HooklineError(
                f"cannot reach Kafka at {servers}; is `hookline run` running?"
            ) from exc
        self._producer = await start_producer(self.settings.kafka, servers, embedded=embedded)
        # Be sure partitions are assigned (and positioned) before the first command goes out.
        deadline = time.monotonic() + 10
        while not self._consumer.assignment() and time.monotonic() < deadline:
            await self._consumer.getmany(timeout_ms=100)
        for partition in self._consumer.assignment():
            await self._consumer.position(partition)
        self._task = asyncio.create_task(self._follow())
        self.started = time.perf_counter()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._producer.stop()
        await self._consumer.stop()

    async def _follow(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for record in records:
                    try:
                        event = json.loads(record.value)
                    except (TypeError, json.JSONDecodeError):
                        continue
                    if isinstance(event, dict):
                        self._seen.append((record.topic, event))
            if batch:
                self._arrived.set()

    def step(self, label: str, detail: str) -> None:
        step = Step(label, detail, time.perf_counter() - self.started)
        self.steps.append(step)
        self.report(step)

    async def command(
        self, type_: str, data: dict[str, Any], subject: str | None = None
    ) -> CloudEvent:
        identifier = str(uuid.uuid4())
        event = make_event(
            id=identifier,
            source="/hookline/demo",
            type=type_,
            subject=subject or identifier,
            data={**data, "command_id": identifier},
        )
        service = type_.split(".")[0]
        service = {"charging": "reservation"}.get(service, service)
        topic = f"{self.settings.kafka.topic_prefix}.commands.{service}"
        record = to_record(event, topic)
        await self._producer.send_and_wait(
            topic, record.value, key=record.key, headers=record.headers
        )
        self.step(f"→ {type_}", f"published on {topic}")
        return event

    async def expect(
        self, label: str, match: Match, detail: Callable[[dict[str, Any]], str]
    ) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        index = 0
        while True:
            while index < len(self._seen):
                _, event = self._seen[index]
                index += 1
                if match(event):
                    self.step(label, detail(event))
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StepTimeout(f"no {label} within {self.timeout:.0f}s")
            self._arrived.clear()
            try:
                async with asyncio.timeout(min(remaining, 0.5)):
                    await self._arrived.wait()
            except TimeoutError:
                pass


def of(type_: str, **fields: Any) -> Match:
    """Match an event by type and ``data`` fields (dotted keys go into nested data)."""

    def match(event: dict[str, Any]) -> bool:
        if event.get("type") != type_:
            return False
        data = event.get("data") or {}
        for key, want in fields.items():
            value: Any = data
            for part in key.split("__"):
                value = value.get(part) if isinstance(value, dict) else None
            if value != want:
                return False
        return True

    return match
