"""Per-key lanes: one key's records run one after another, different keys concurrently.

A fixed pool of ``concurrency`` runner tasks takes lanes from a ready queue; a
lane goes back to the end of the queue after each record, so one busy key
cannot starve the others.
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


LaneKey = tuple[PartitionOffsets, Hashable]


class Lanes:
    """Schedules :class:`Work` by (partition assignment, record key)."""

    def __init__(self, concurrency: int, run: Callable[[Work], Awaitable[None]]) -> None:
        self._concurrency = concurrency
        self._run = run
        self._lanes: dict[LaneKey, deque[Work]] = {}
        # A plain deque plus idle runners' futures, not an asyncio.Queue: the queue's
        # Python-level bookkeeping was a visible share of the per-record cost.
        self._ready: deque[LaneKey] = deque()
        self._idle: deque[asyncio.Future[None]] = deque()
        self._busy: set[LaneKey] = set()
        self._runners: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._runners = [
            asyncio.create_task(self._runner(), name=f"hookline-lane-{i}")
            for i in range(self._concurrency)
        ]

    def submit(self, work: Work) -> None:
        record_key = work.record.key
        # A record without a key promises no order: it gets a lane of its own.
        key: LaneKey = (work.offsets, record_key if record_key is not None else work.record.offset)
        lane = self._lanes.get(key)
        if lane is not None:
            lane.append(work)
            return
        self._lanes[key] = deque((work,))
        self._ready.append(key)
        if self._idle:
            self._wake()

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
        return dropped

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
            key = ready.popleft()
            lane = lanes.get(key)
            if not lane:
                continue  # dropped while waiting in the queue
            busy.add(key)
            try:
                await run(lane[0])
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
