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


class StepFailed(HooklineError):
    """Something the scenario started failed: a failure event or a dead letter arrived."""


# Result types that end a command (or a message) in failure.
FAILURE_SUFFIXES = (".command.failed", ".message.failed")
_REASON_HEADER = "hookline-dlq-reason"


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
    # The commands this run published: whatever their chains lead to is the run's.
    _ours: set[str] = field(default_factory=set)
    _reasons: dict[tuple[str, str], str] = field(default_factory=dict)
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
                        for key, value in record.headers or ():
                            if key == _REASON_HEADER:
                                reason = value.decode(errors="replace")
                                self._reasons[(record.topic, str(event.get("id")))] = reason
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
        self._ours.add(identifier)
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
                topic, event = self._seen[index]
                index += 1
                self._fail_on(topic, event)
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

    def _is_ours(self, event: dict[str, Any]) -> bool:
        data = event.get("data")
        command = data.get("command_id") if isinstance(data, dict) else None
        ids = (event.get("id"), event.get("correlationid"), event.get("causationid"), command)
        return any(i in self._ours for i in ids if i is not None)

    def _fail_on(self, topic: str, event: dict[str, Any]) -> None:
        """Raise :class:`StepFailed` at once when ``event`` is a failure of this run's chains."""
        type_ = str(event.get("type", ""))
        dead = ".dlq." in topic
        if not (dead or type_.endswith(FAILURE_SUFFIXES)) or not self._is_ours(event):
            return
        if dead:
            # The command's own failure result says more than its dead letter: prefer it.
            failed = next(
                (e for t, e in self._seen if ".dlq." not in t
                 and str(e.get("type", "")).endswith(FAILURE_SUFFIXES)
                 and event.get("id") in (e.get("causationid"), (e.get("data") or {}).get("command_id"))),
                None,
            )  # fmt: skip
            if failed is not None:
                topic, event, type_, dead = "", failed, str(failed.get("type", "")), False
        raw = event.get("data")
        data: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if dead:
            reason = self._reasons.get((topic, str(event.get("id")))) or "dead-lettered"
            label, detail = f"✗ dead letter {type_}", f"{reason} on {topic}"
        else:
            found = data.get("error")
            error: dict[str, Any] = found if isinstance(found, dict) else {}
            message = data.get("message") or error.get("message") or data.get("reason") or ""
            code = data.get("error_code") or error.get("code") or ""
            label, detail = f"✗ {type_}", f"{code} {message}".strip()
        self.step(label, detail)
        what = f"dead letter {type_}" if dead else type_
        raise StepFailed(f"{what}: {detail} (see: hookline trace {event.get('id')})")


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
