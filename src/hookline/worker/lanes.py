"""Per-key lanes: one key's records run one after another, different keys concurrently.

A fixed pool of ``concurrency`` runner tasks takes work from a ready queue: a lane
(one key's queued records), or a fetch's batch of one partition. A lane goes back
to the end of the queue after each record, so one busy key cannot starve the
others.

A batch is run record by record by one runner, with no task hop or queueing per
record: a record whose handler finishes without waiting is settled right there.
The first record whose handler waits (or fails, or whose key already has queued
work) gets a lane of its own; on waiting, the rest of the batch goes back to the
front of the queue for the next free runner, and this runner stays with the
handler that waits. So a handler runs from start to end in one task, per-key order
holds (a record joins its key's lane when one exists), and no more than
``concurrency`` handlers are in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterable

from aiokafka.structs import ConsumerRecord

from hookline.worker.offsets import PartitionOffsets


class Work:
    __slots__ = ("offsets", "record")

    def __init__(self, offsets: PartitionOffsets, record: ConsumerRecord[bytes, bytes]) -> None:
        self.offsets = offsets
        self.record = record


class _Batch:
    """One fetch's records of one partition, from ``start`` on not yet taken."""

    __slots__ = ("offsets", "records", "start")

    def __init__(
        self, offsets: PartitionOffsets, records: list[ConsumerRecord[bytes, bytes]]
    ) -> None:
        self.offsets = offsets
        self.records = records
        self.start = 0


LaneKey = tuple[PartitionOffsets, Hashable]
# Settles a record itself (returns None) or returns what to await to settle it.
Run = Callable[[PartitionOffsets, ConsumerRecord[bytes, bytes]], Awaitable[None] | None]


class Lanes:
    """Schedules :class:`Work` by (partition assignment, record key)."""

    def __init__(self, concurrency: int, run: Run) -> None:
        self._concurrency = concurrency
        self._run = run
        self._lanes: dict[LaneKey, deque[Work]] = {}
        # A plain deque plus idle runners' futures, not an asyncio.Queue: the queue's
        # Python-level bookkeeping was a visible share of the per-record cost.
        self._ready: deque[LaneKey | _Batch] = deque()
        self._idle: deque[asyncio.Future[None]] = deque()
        self._busy: set[LaneKey] = set()
        self._runners: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._runners = [
            asyncio.create_task(self._runner(), name=f"hookline-lane-{i}")
            for i in range(self._concurrency)
        ]

    def submit(self, work: Work) -> None:
        key = self._key(work.offsets, work.record)
        lane = self._lanes.get(key)
        if lane is not None:
            lane.append(work)
            return
        self._lanes[key] = deque((work,))
        self._ready.append(key)
        if self._idle:
            self._wake()

    def submit_batch(
        self, offsets: PartitionOffsets, records: list[ConsumerRecord[bytes, bytes]]
    ) -> None:
        """Queue a fetch's records of one partition (in offset order) to run as one batch."""
        if records:
            self._ready.append(_Batch(offsets, records))
            if self._idle:
                self._wake()

    @staticmethod
    def _key(offsets: PartitionOffsets, record: ConsumerRecord[bytes, bytes]) -> LaneKey:
        # A record without a key promises no order: it gets a lane of its own.
        return (offsets, record.key if record.key is not None else record.offset)

    def drop(self, partitions: Iterable[PartitionOffsets]) -> int:
        """Remove not-yet-started work of these partitions; returns how many records."""
        wanted = set(partitions)
        dropped = 0
        for key in [k for k in self._lanes if k[0] in wanted]:
            lane = self._lanes[key]
            keep = 1 if key in self._busy else 0
            # Dropped records stay pending in their offsets: they are never committed here.
            dropped += len(lane) - keep
            if keep:
                while len(lane) > 1:
                    lane.pop()
            else:
                del self._lanes[key]
        ready = self._ready
        kept = [item for item in ready if not (isinstance(item, _Batch) and item.offsets in wanted)]
        for item in ready:
            if isinstance(item, _Batch) and item.offsets in wanted:
                dropped += len(item.records) - item.start
        ready.clear()
        ready.extend(kept)
        return dropped

    def _take_batch(self, batch: _Batch) -> tuple[LaneKey, Awaitable[None]] | None:
        """Run the batch's records until one must be awaited: that one's lane key and what to
        await (the rest of the batch is back at the front of the queue), or None when every
        record was settled or queued behind its key."""
        lanes, run, offsets, records = self._lanes, self._run, batch.offsets, batch.records
        for index in range(batch.start, len(records)):
            record = records[index]
            key = (offsets, record.key if record.key is not None else record.offset)
            lane = lanes.get(key)
            if lane is not None:
                lane.append(Work(offsets, record))  # behind its key's earlier records
                continue
            pending = run(offsets, record)
            if pending is None:
                continue
            lanes[key] = deque((Work(offsets, record),))
            self._busy.add(key)
            if index + 1 < len(records):
                # At the front: the next runner goes on with this fetch before any later one.
                batch.start = index + 1
                self._ready.appendleft(batch)
                if self._idle:
                    self._wake()
            return key, pending
        return None

    async def _runner(self) -> None:
        lanes, ready, busy, run, idle = self._lanes, self._ready, self._busy, self._run, self._idle
        loop = asyncio.get_running_loop()
        while True:
            if not ready:
                waiter = loop.create_future()
                idle.append(waiter)
                try:
                    await waiter
                finally:
                    if not waiter.done():
                        waiter.cancel()
                continue
            item = ready.popleft()
            pending: Awaitable[None] | None = None
            if isinstance(item, _Batch):
                taken = self._take_batch(item)
                if taken is None:
                    continue
                key, pending = taken
                lane = lanes[key]
            else:
                key = item
                found = lanes.get(key)
                if not found:
                    continue  # dropped while waiting in the queue
                lane = found
                busy.add(key)
            try:
                # run settles the record itself when nothing in it waits, and returns None:
                # no coroutine, no await per record on the common path.
                if pending is None:
                    head = lane[0]
                    pending = run(head.offsets, head.record)
                if pending is not None:
                    await pending
            finally:
                busy.discard(key)
                lane.popleft()
                if lane:
                    # No wake-up: this runner takes the next ready lane itself, and every
                    # other ready lane already woke a runner when it was submitted.
                    ready.append(key)
                elif lanes.get(key) is lane:
                    del lanes[key]

    def _wake(self) -> None:
        idle = self._idle
        while idle:
            waiter = idle.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def close(self) -> None:
        """Cancel the runners (and with them any handler still running)."""
        for task in self._runners:
            task.cancel()
        for task in self._runners:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._runners = []
