"""The ingress's outcomes per source in ten-second slots, for the overview's charts.

Kept in the ingress process (a day of ten-second slots per source and
outcome): duplicates are never written anywhere else, so this is where the
overview learns of them. Counting is one dict update per request.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable

SLOT_SECONDS = 10
# A day of slots: the overview's longest window.
KEPT_SLOTS = 24 * 3600 // SLOT_SECONDS


class OutcomeTally:
    """Counts of ``(source, outcome)`` per ten seconds for the last day."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._slots: dict[int, defaultdict[tuple[str, str], int]] = {}

    def count(self, source: str, outcome: str) -> None:
        slot = int(self._clock()) // SLOT_SECONDS
        bucket = self._slots.get(slot)
        if bucket is None:
            bucket = self._slots[slot] = defaultdict(int)
            self._expire(slot)
        bucket[(source, outcome)] += 1

    def _expire(self, now: int) -> None:
        for slot in [m for m in self._slots if m <= now - KEPT_SLOTS]:
            del self._slots[slot]

    def series(
        self, seconds: int, buckets: int, now: float | None = None
    ) -> dict[tuple[str, str], list[int]]:
        """Per ``(source, outcome)``, counts in ``buckets`` equal slices of the last ``seconds``
        (oldest first); a slot is counted in the slice its start falls into."""
        end = self._clock() if now is None else now
        width = seconds / buckets
        result: dict[tuple[str, str], list[int]] = {}
        for slot, counts in list(self._slots.items()):
            age = end - slot * SLOT_SECONDS
            if age < 0 or age >= seconds:
                continue
            index = buckets - 1 - int(age // width)
            for label, n in counts.items():
                result.setdefault(label, [0] * buckets)[index] += n
        return result
