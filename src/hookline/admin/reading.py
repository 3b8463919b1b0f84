"""Reading topics back for the operator's views: group-less, nothing committed, bounded.

Every view reads what it shows from Kafka itself (the events, the rejected
requests, the dead letters, the replay marks), so it survives a restart with a
real Kafka. A read takes at most ``tail`` records per partition, the newest
ones: the embedded broker stores retention but does not enforce it, and a real
Kafka's topic may hold more than a page should walk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition

from hookline.bus.codec import Headers, header
from hookline.bus.connection import client_options
from hookline.config.models import KafkaSettings

# Newest records read per partition unless the caller says otherwise.
DEFAULT_TAIL = 20_000


@dataclass(slots=True)
class Stored:
    """One record as it sits on a topic."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: Headers = field(default_factory=list)

    @property
    def coordinates(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"

    def meta(self, name: str) -> str | None:
        raw = header(self.headers, name)
        return raw.decode(errors="replace") if raw is not None else None


async def read_tail(
    kafka: KafkaSettings,
    servers: str,
    topics: Iterable[str],
    *,
    tail: int = DEFAULT_TAIL,
    partition: int | None = None,
    idle_seconds: float = 0.5,
) -> list[Stored]:
    """The newest ``tail`` records of every partition of ``topics`` (missing topics are skipped)."""
    consumer = AIOKafkaConsumer(
        **client_options(kafka, servers),
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
        # Only read to be shown; the CRC pass was most of the read CPU (bench/console_events.py).
        check_crcs=False,
        fetch_max_bytes=16 * 1024 * 1024,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    found: list[Stored] = []
    try:
        await consumer.topics()  # loads metadata, so partitions_for_topic knows every topic
        partitions = [
            TopicPartition(topic, number)
            for topic in dict.fromkeys(topics)
            for number in sorted(consumer.partitions_for_topic(topic) or ())
            if partition is None or number == partition
        ]
        if not partitions:
            return []
        consumer.assign(partitions)
        await _seek_tail(consumer, partitions, tail)
        loop = asyncio.get_running_loop()
        quiet_until = loop.time() + idle_seconds
        while loop.time() < quiet_until:
            batch = await consumer.getmany(timeout_ms=100, max_records=50_000)
            for records in batch.values():
                found.extend(
                    Stored(
                        r.topic,
                        r.partition,
                        r.offset,
                        r.timestamp,
                        r.key,
                        r.value,
                        list(r.headers or ()),
                    )
                    for r in records
                )
            if batch:
                quiet_until = loop.time() + idle_seconds
            if await _at_end(consumer, partitions):
                break
    finally:
        await consumer.stop()
    return found


async def _seek_tail(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition], tail: int
) -> None:
    # end_offsets may answer less than the true end on the embedded broker (PLATFORM.md):
    # then a read starts a little earlier than needed and shows a few more records, never fewer.
    ends = await consumer.end_offsets(partitions)
    starts = await consumer.beginning_offsets(partitions)
    for tp in partitions:
        consumer.seek(tp, max(starts.get(tp, 0), ends.get(tp, 0) - tail))


async def _at_end(consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> bool:
    for tp in partitions:
        highwater = consumer.highwater(tp)
        if highwater is None or await consumer.position(tp) < highwater:
            return False
    return True
