"""Reading what hookline wrote, straight from the broker."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic


async def create_topics(bootstrap: str, names: list[str], partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    finally:
        await admin.close()


async def consume_all(
    bootstrap: str, topic: str, *, expect: int | None = None, timeout: float = 5.0
) -> list[Any]:
    """Every record on ``topic`` from the beginning: until ``expect`` arrived, or quiet for a while."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for part in batch.values():
                records.extend(part)
            if expect is not None and len(records) >= expect:
                # one more short read so that extra (unexpected) records are seen too
                for part in (await consumer.getmany(timeout_ms=300)).values():
                    records.extend(part)
                break
            if expect is None and not batch and records:
                break
    finally:
        await consumer.stop()
    return records
