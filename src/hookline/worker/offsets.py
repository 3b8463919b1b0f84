"""The one place that decides what may be committed for a partition.

Records finish out of order (different keys run concurrently); the committable
position is the offset just after the longest finished prefix, so a commit
never skips an unfinished record.
"""

from __future__ import annotations

from collections import deque

from aiokafka import TopicPartition


class PartitionOffsets:
    """Offsets of one partition fetched during one assignment, and how far they are finished."""

    __slots__ = ("_done", "_pending", "active", "committable", "committed", "revoked", "tp")

    def __init__(self, tp: TopicPartition, committed: int | None = None) -> None:
        self.tp = tp
        self._pending: deque[int] = deque()
        self._done: set[int] = set()
        self.committable: int | None = None
        self.committed = committed
        # Records of this partition whose handler is running now.
        self.active = 0
        # Set when the partition was taken away; late finishes no longer count.
        self.revoked = False

    def add(self, offset: int) -> None:
        self._pending.append(offset)

    def extend(self, offsets: list[int]) -> None:
        """:meth:`add` for a fetch's offsets of this partition, in order."""
        self._pending.extend(offsets)

    def finish(self, offset: int) -> None:
        pending = self._pending
        if not pending or pending[0] != offset:
            self._done.add(offset)
            return
        pending.popleft()
        last = offset
        done = self._done
        while pending and pending[0] in done:
            last = pending.popleft()
            done.discard(last)
        self.committable = last + 1

    @property
    def position(self) -> int | None:
        """The first offset not finished yet (for lag), when known."""
        if self.committable is not None:
            return self.committable
        return self._pending[0] if self._pending else self.committed

    @property
    def outstanding(self) -> int:
        """Records fetched and not finished yet."""
        return len(self._pending) - len(self._done)

    def to_commit(self) -> int | None:
        """The position to commit now, or None when nothing new finished."""
        if self.committable is None or self.committable == self.committed:
            return None
        return self.committable
