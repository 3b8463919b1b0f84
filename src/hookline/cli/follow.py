"""``send --follow``: the stored record and everything it causes, printed as it arrives.

The follower reads every topic a chain can reach (:func:`hookline.admin.trace.trace_topics`)
from the moment it started, which is before the delivery is sent, so nothing
the delivery causes can slip past; it prints the records of one correlation id,
indented under their cause, until the chain has been quiet for a while.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from hookline.admin.reading import Stored
from hookline.admin.trace import DEAD_LETTER, HTTP, RETRY, Hop, kind_of, line, trace_topics
from hookline.bus.connection import client_options
from hookline.bus.topics import Topics
from hookline.config.models import HooklineSettings


class Follower:
    """Reads the chain topics from now on; :meth:`follow` prints one correlation's records."""

    def __init__(self, settings: HooklineSettings, servers: str) -> None:
        self._settings = settings
        self._servers = servers
        self._prefix = Topics(settings.kafka.topic_prefix).prefix
        self._consumer = AIOKafkaConsumer(
            **client_options(settings.kafka, servers),
            group_id=None,
            enable_auto_commit=False,
            fetch_max_wait_ms=100,
        )

    async def __aenter__(self) -> Follower:
        await self._consumer.start()
        try:
            await self._consumer.topics()
            partitions = [
                TopicPartition(topic, number)
                for topic in await trace_topics(self._settings, self._servers)
                for number in sorted(self._consumer.partitions_for_topic(topic) or ())
            ]
            self._consumer.assign(partitions)
            # The embedded broker may answer an end a little early after batched writes:
            # then a few older records are read too, and dropped by their correlation id.
            await self._consumer.seek_to_end(*partitions)
            for tp in partitions:
                await self._consumer.position(tp)
        except BaseException:
            await self._consumer.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    def include(self, topic: str, partition: int, offset: int) -> None:
        """Read this partition from ``offset`` (the delivery's own record, stored already)."""
        tp = TopicPartition(topic, partition)
        if tp in self._consumer.assignment():
            self._consumer.seek(tp, offset)

    async def follow(
        self, correlation: str, quiet_seconds: float, show: Callable[[str], None]
    ) -> int:
        """Print each record of ``correlation`` until none arrived for ``quiet_seconds``."""
        depth: dict[str, int] = {}
        kinds: dict[str, str] = {}
        root_ms: int | None = None
        printed = 0
        loop = asyncio.get_running_loop()
        quiet_until = loop.time() + quiet_seconds
        while loop.time() < quiet_until:
            batch = await self._consumer.getmany(timeout_ms=200)
            # One fetch spans partitions in no particular order: the write time puts a
            # cause before what it caused.
            for record in sorted(
                (r for records in batch.values() for r in records), key=lambda r: r.timestamp
            ):
                hop = self._hop(record)
                if hop is None or (hop.attribute("correlationid") or hop.id) != correlation:
                    continue
                # A retried or dead-lettered record is the command itself, parked.
                parked = hop.kind in (DEAD_LETTER, RETRY)
                parent = hop.id if parked else hop.attribute("causationid")
                level = depth.get(parent or "", -1) + 1
                if not parked and hop.kind != HTTP:
                    depth.setdefault(hop.id, level)
                    kinds.setdefault(hop.id, f"{hop.kind} {hop.attribute('type')}")
                root_ms = hop.when_ms if root_ms is None else root_ms
                # Arrival order interleaves branches: each line names its cause.
                cause = kinds.get(parent or "")
                show(line(hop, level, root_ms) + (f"  ← {cause}" if cause else ""))
                printed += 1
                quiet_until = loop.time() + quiet_seconds
        return printed

    def _hop(self, record: Any) -> Hop | None:
        stored = Stored(
            record.topic,
            record.partition,
            record.offset,
            record.timestamp,
            record.key,
            record.value,
            list(record.headers or ()),
        )
        try:
            envelope = json.loads(record.value or b"")
        except ValueError:
            return None
        if not isinstance(envelope, dict) or "id" not in envelope:
            return None
        kind = kind_of(stored, envelope, self._prefix)
        return Hop(envelope, stored, kind) if kind is not None else None
