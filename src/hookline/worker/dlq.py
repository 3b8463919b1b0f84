"""Dead letters: read them back from ``<prefix>.dlq.<service>`` and re-inject them.

A replay writes the original key and value (so the CloudEvent keeps its id and
idempotency still applies) without hookline's failure headers, to the record's
original topic or to one you name.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from hookline.bus.admin import list_topics
from hookline.bus.codec import Record, from_value, header
from hookline.bus.connection import client_options, start_producer
from hookline.bus.publisher import Publisher
from hookline.bus.topics import Topics
from hookline.config.models import HooklineSettings
from hookline.envelope import CloudEvent
from hookline.worker import parking


@dataclass
class DeadLetter:
    service: str
    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    event: CloudEvent | None = None

    def meta(self, name: str) -> str | None:
        raw = header(self.headers, name)
        return raw.decode(errors="replace") if raw is not None else None

    @property
    def id(self) -> str:
        if self.event is not None:
            return self.event.id
        return self.meta("ce_id") or f"{self.topic}:{self.partition}:{self.offset}"

    @property
    def original(self) -> str | None:
        topic = self.meta(parking.H_ORIGINAL_TOPIC)
        if topic is None:
            return None
        partition = self.meta(parking.H_ORIGINAL_PARTITION)
        offset = self.meta(parking.H_ORIGINAL_OFFSET)
        return f"{topic}[{partition}]@{offset}"

    def summary(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "id": self.id,
            "type": self.event.type if self.event else None,
            "key": self.key.decode(errors="replace") if self.key is not None else None,
            "reason": self.meta(parking.H_REASON),
            "error_class": self.meta(parking.H_ERROR_CLASS),
            "error_message": self.meta(parking.H_ERROR_MESSAGE),
            "attempts": self.meta(parking.H_ATTEMPTS),
            "first_failure": self.meta(parking.H_FIRST_FAILURE),
            "dead_lettered_at": self.meta(parking.H_DEAD_LETTERED),
            "original": self.original,
            "dlq": f"{self.topic}[{self.partition}]@{self.offset}",
        }


async def dlq_topics(
    settings: HooklineSettings, servers: str, service: str | None
) -> dict[str, str]:
    """Existing dead-letter topics by service name (one, or all of them)."""
    topics = Topics(settings.kafka.topic_prefix)
    if service is not None:
        return {service: topics.dlq(service)}
    start = topics.dlq("")
    names = await list_topics(settings.kafka, servers)
    return {name[len(start) :]: name for name in sorted(names) if name.startswith(start)}


async def read(
    settings: HooklineSettings,
    servers: str,
    topics_by_service: dict[str, str],
    *,
    idle_seconds: float = 2.0,
) -> list[DeadLetter]:
    """Every record on these topics, oldest first per partition (no group, nothing committed)."""
    service_of = {topic: service for service, topic in topics_by_service.items()}
    consumer = AIOKafkaConsumer(
        **client_options(settings.kafka, servers), group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    letters: list[DeadLetter] = []
    try:
        await (
            consumer.topics()
        )  # loads metadata for every topic, so partitions_for_topic knows them
        partitions = []
        for topic in service_of:
            for partition in sorted(consumer.partitions_for_topic(topic) or ()):
                partitions.append(TopicPartition(topic, partition))
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        loop = asyncio.get_running_loop()
        quiet_until = loop.time() + idle_seconds
        while loop.time() < quiet_until:
            batch = await consumer.getmany(timeout_ms=200)
            for tp, records in batch.items():
                for record in records:
                    letters.append(_letter(service_of[tp.topic], record))
            if batch:
                quiet_until = loop.time() + idle_seconds
            # The fetch high watermark is right on every broker we run against (end_offsets
            # is not, see PLATFORM.md): stop as soon as every partition is read to it.
            if await _at_end(consumer, partitions):
                break
    finally:
        await consumer.stop()
    return letters


async def _at_end(consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> bool:
    for tp in partitions:
        highwater = consumer.highwater(tp)
        if highwater is None or await consumer.position(tp) < highwater:
            return False
    return True


def _letter(service: str, record: Any) -> DeadLetter:
    event: CloudEvent | None
    try:
        event = from_value(record.value)
    except (ValueError, ValidationError):
        event = None
    return DeadLetter(
        service=service,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp=record.timestamp,
        key=record.key,
        value=record.value,
        headers=list(record.headers or ()),
        event=event,
    )


def replay_record(letter: DeadLetter, to_topic: str | None) -> Record:
    """The record a replay writes; raises ValueError when no target topic is known."""
    topic = to_topic or letter.meta(parking.H_ORIGINAL_TOPIC)
    if not topic:
        raise ValueError(f"dead letter {letter.id} names no original topic; use --to-topic")
    return Record(topic, letter.key, letter.value or b"", parking.replay_headers(letter.headers))


async def replay(
    settings: HooklineSettings, servers: str, records: list[Record], *, embedded: bool
) -> None:
    """Write the replayed records (acks=all)."""
    producer = await start_producer(settings.kafka, servers, embedded=embedded)
    publisher = Publisher(producer, timeout=settings.kafka.request_timeout_ms / 1000)
    publisher.start()
    try:
        await publisher.publish(records)
    finally:
        await publisher.stop()
        await producer.stop()
