"""Each provider's recent success rate (docs/providers/sms.md: 15 minutes, below 80 % → last).

Counted per worker process: an accepted send is a success; a provider-caused
failure (5xx after retries, auth or account error, a failover-eligible delivery
report) is a failure. Recipient and content errors say nothing about the
provider and are not counted.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class SuccessTracker:
    def __init__(
        self,
        window_seconds: float,
        *,
        threshold: float,
        min_samples: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window = window_seconds
        self._threshold = threshold
        self._min_samples = min_samples
        self._clock = clock
        self._outcomes: dict[str, deque[tuple[float, bool]]] = {}
        # Successes in each window, kept as outcomes come and go: a window holds every send
        # of the last 15 minutes (180 000 at 200/s), and the rate is read on every send.
        self._successes: dict[str, int] = {}

    def record(self, provider: str, ok: bool) -> None:
        self._outcomes.setdefault(provider, deque()).append((self._clock(), ok))
        if ok:
            self._successes[provider] = self._successes.get(provider, 0) + 1

    def _trim(self, provider: str) -> deque[tuple[float, bool]]:
        outcomes = self._outcomes.setdefault(provider, deque())
        horizon = self._clock() - self._window
        gone = 0
        while outcomes and outcomes[0][0] < horizon:
            gone += outcomes.popleft()[1]
        if gone:
            self._successes[provider] -= gone
        return outcomes

    def rate(self, provider: str) -> float | None:
        """Share of successes in the window; ``None`` while there are too few outcomes."""
        outcomes = self._trim(provider)
        if len(outcomes) < self._min_samples:
            return None
        return self._successes.get(provider, 0) / len(outcomes)

    def healthy(self, provider: str) -> bool:
        rate = self.rate(provider)
        return rate is None or rate >= self._threshold
