"""Publishing with acknowledgement: many callers, one batch per partition per round.

Each request's records wait in a queue; one task drains the queue into one
aiokafka batch per (topic, partition) and resolves every waiting caller from
its batch's acknowledgement. The batch grows with the load by itself, which is
what makes ``acks=all`` affordable per request (PLATFORM.md: per-message
sends saturate the event loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import murmur2

from hookline.bus.codec import Record
from hookline.errors import PublishError

log = structlog.get_logger("hookline.bus")


# Where Kafka stored a record: (partition, offset), from the batch's acknowledgement.
Stored = tuple[int, int]


class _Pending:
    __slots__ = ("future", "record")

    def __init__(self, record: Record, future: asyncio.Future[Stored]) -> None:
        self.record = record
        self.future = future


@functools.lru_cache(maxsize=8192)
def _key_hash(key: bytes) -> int:
    # aiokafka's murmur2 is pure Python (~6 us for a 36-byte key); keys such as
    # subjects repeat, so their hashes are kept.
    return int(murmur2(key)) & 0x7FFFFFFF


def partition_for(key: bytes | None, partitions: Sequence[int], fallback: int) -> int:
    """Java-client-compatible murmur2 partitioning, so keys land where other clients put them."""
    if key is None:
        return partitions[fallback % len(partitions)]
    index = _key_hash(key)
    return partitions[index % len(partitions)]


class Publisher:
    """Writes records and returns only after Kafka acknowledged all of them."""

    def __init__(
        self,
        producer: AIOKafkaProducer | None,
        *,
        timeout: float,
        max_pending: int = 50_000,
        max_rounds_in_flight: int = 2,
    ) -> None:
        self._producer = producer
        self._timeout = timeout
        self._max_pending = max_pending
        self._queue: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sweeper: asyncio.Task[None] | None = None
        # (deadline, future) in publish order; the sweeper fails the overdue ones.
        self._deadlines: deque[tuple[float, asyncio.Future[Stored]]] = deque()
        self._sweep_interval = min(0.05, timeout / 4)
        self._round = 0
        # While a round is on the wire, new requests queue up and travel together
        # in the next one: the batch grows with the load instead of each
        # request becoming its own tiny batch.
        self._rounds = asyncio.Semaphore(max_rounds_in_flight)

    @property
    def producer(self) -> AIOKafkaProducer | None:
        """The started producer; None while Kafka has not answered yet (start-up without it)."""
        return self._producer

    def attach(self, producer: AIOKafkaProducer) -> None:
        """Begin publishing through ``producer`` (started in the background once Kafka answered)."""
        self._producer = producer

    def start(self) -> None:
        if self._task is None:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.create_task(self._drain(), name="hookline-publisher")
            self._sweeper = asyncio.create_task(self._sweep(), name="hookline-publish-deadlines")

    async def _sweep(self) -> None:
        """Fail writes past their deadline: one timer for all requests, not one per request."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._sweep_interval)
            now = loop.time()
            deadlines = self._deadlines
            while deadlines and (deadlines[0][1].done() or deadlines[0][0] <= now):
                _, future = deadlines.popleft()
                if not future.done():
                    future.set_exception(
                        PublishError("Kafka did not acknowledge the write in time")
                    )

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._loop = None
        for pending in self._queue:
            if not pending.future.done():
                pending.future.set_exception(PublishError("publisher stopped"))
        self._queue.clear()

    async def publish(
        self, records: Sequence[Record], timeout: float | None = None
    ) -> list[Stored]:
        """Return once every record is acknowledged, with where each was stored (partition,
        offset), in order; raise :class:`PublishError` otherwise."""
        if self._producer is None:
            raise PublishError("Kafka has not been reachable since start-up")
        if len(self._queue) >= self._max_pending:
            raise PublishError("too many writes waiting for Kafka")
        # The loop the drain task runs on: asyncio.get_running_loop() costs a
        # getpid syscall per call on CPython 3.11, dear under a VM.
        loop = self._loop or asyncio.get_running_loop()
        deadline = loop.time() + (self._timeout if timeout is None else timeout)
        futures = []
        for record in records:
            future: asyncio.Future[Stored] = loop.create_future()
            self._queue.append(_Pending(record, future))
            self._deadlines.append((deadline, future))
            futures.append(future)
        self._wakeup.set()
        try:
            # One record (the ingress's case) is awaited directly: gather would add a future.
            if len(futures) == 1:
                return [await futures[0]]
            return list(await asyncio.gather(*futures))
        except KafkaError as exc:
            raise PublishError(f"Kafka rejected the write: {type(exc).__name__}") from exc

    async def _partitions(self, producer: AIOKafkaProducer, topic: str) -> list[int]:
        known = producer.client.cluster.partitions_for_topic(topic)
        if not known:
            known = await producer.partitions_for(topic)
        return sorted(known)

    async def _drain(self) -> None:
        while True:
            await self._wakeup.wait()
            await self._rounds.acquire()
            self._wakeup.clear()
            batch, self._queue = self._queue, []
            batch = [p for p in batch if not p.future.done()]
            if not batch:
                self._rounds.release()
                continue
            acks: list[asyncio.Future[Any]] = []
            try:
                acks = await self._send_round(batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # every waiter must hear about any failure
                log.warning("bus.publish_round_failed", error=type(exc).__name__, detail=str(exc))
                failure = exc if isinstance(exc, KafkaError) else PublishError(str(exc))
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(failure)
                        pending.future.exception()  # a caller that timed out never reads it
            self._release_when_done(acks)

    def _release_when_done(self, acks: list[asyncio.Future[Any]]) -> None:
        if not acks:
            self._rounds.release()
            return
        remaining = len(acks)

        def one_done(_: asyncio.Future[Any]) -> None:
            nonlocal remaining
            remaining -= 1
            if remaining == 0:
                self._rounds.release()

        for ack in acks:
            ack.add_done_callback(one_done)

    async def _send_round(self, batch: list[_Pending]) -> list[asyncio.Future[Any]]:
        self._round += 1
        producer = self._producer
        assert producer is not None  # publish() queues nothing before a producer is attached
        groups: dict[tuple[str, int], list[_Pending]] = {}
        partitions: dict[str, list[int]] = {}
        for pending in batch:
            topic = pending.record.topic
            if topic not in partitions:
                partitions[topic] = await self._partitions(producer, topic)
            part = partition_for(pending.record.key, partitions[topic], self._round)
            groups.setdefault((topic, part), []).append(pending)
        now_ms = int(time.time() * 1000)
        acks: list[asyncio.Future[Any]] = []
        for (topic, part), members in groups.items():
            builder = producer.create_batch()
            in_builder: list[_Pending] = []
            for pending in members:
                rec = pending.record
                if (
                    builder.append(
                        key=rec.key, value=rec.value, timestamp=now_ms, headers=rec.headers
                    )
                    is None
                ):
                    acks.append(await self._submit(producer, builder, topic, part, in_builder))
                    builder, in_builder = producer.create_batch(), []
                    if (
                        builder.append(
                            key=rec.key, value=rec.value, timestamp=now_ms, headers=rec.headers
                        )
                        is None
                    ):
                        pending.future.set_exception(PublishError("record larger than a batch"))
                        continue
                in_builder.append(pending)
            if in_builder:
                acks.append(await self._submit(producer, builder, topic, part, in_builder))
        return acks

    async def _submit(
        self,
        producer: AIOKafkaProducer,
        builder: Any,
        topic: str,
        partition: int,
        members: list[_Pending],
    ) -> asyncio.Future[Any]:
        ack: asyncio.Future[Any] = await producer.send_batch(builder, topic, partition=partition)

        def resolve(done: asyncio.Future[Any]) -> None:
            error = None if done.cancelled() else done.exception()
            # The batch's metadata names its base offset; its records follow in order.
            base = -1 if done.cancelled() or error is not None else done.result().offset
            for index, pending in enumerate(members):
                if pending.future.done():
                    continue
                if done.cancelled():
                    pending.future.set_exception(PublishError("write cancelled"))
                elif error is not None:
                    pending.future.set_exception(error)
                else:
                    pending.future.set_result((partition, base + index))

        ack.add_done_callback(resolve)
        return ack
