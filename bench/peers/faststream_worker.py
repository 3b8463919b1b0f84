"""The FastStream worker peer: the at-least-once work hookline's worker does, written the
way FastStream's documentation shows it.

Manual ack (the offset is committed only after the handler returns: FastStream's
``AckPolicy.MANUAL`` commits per message), an async decoder into a pydantic model
(FastStream hands an ``application/cloudevents+json`` value over as raw bytes, and
a sync decoder would run in a thread pool per message) and a no-op handler.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from pydantic import BaseModel, ConfigDict, Field


class Event(BaseModel):
    """The CloudEvent a user would declare: the envelope's required fields and the data."""

    model_config = ConfigDict(extra="allow")

    specversion: str
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    subject: str | None = None
    time: datetime
    data: Any = None


async def decode(message: StreamMessage[Any]) -> Event:
    return Event.model_validate_json(message.body)


async def run(bootstrap: str, topic: str, count: int) -> tuple[float, float]:
    """Records/s and CPU µs per record, timed from the first record to the last."""
    broker = KafkaBroker(bootstrap, logger=None)
    done = asyncio.Event()
    seen = 0
    started = [0.0, 0.0]
    result = (0.0, 0.0)

    @broker.subscriber(
        topic,
        group_id=f"faststream-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        decoder=decode,
    )
    async def handle(event: Event, message: KafkaMessage) -> None:
        nonlocal seen, result
        if not seen:
            started[:] = [time.perf_counter(), time.process_time()]
        await message.ack()
        seen += 1
        if seen == count:
            wall = time.perf_counter() - started[0]
            cpu = time.process_time() - started[1]
            result = (count / wall, cpu / count * 1e6)
            done.set()

    await broker.start()
    try:
        await done.wait()
    finally:
        await broker.stop()
    return result
