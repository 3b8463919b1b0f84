"""When and where a watch's next check travels (``colt.service.watch``).

A watch keeps no state in the worker: each pending check is a
``colt.service.watch_check`` record in Kafka carrying the whole watch (the
original command, check number, due time, deadline, alerts so far). So a
worker that restarts, or another replica, simply picks the record up again.

The wait between checks uses the retry tiers as delay lines: a check due in
more than the shortest tier travels on the longest tier that does not
overshoot (``hookline.retry.colt.<tier>``, whose consumer holds a record until
its timestamp + the tier's delay); once the rest of the wait is shorter than
the shortest tier it comes back to ``commands.colt`` and the handler sleeps
the remainder (at most the shortest tier, 10 s by default) and runs the
check there, so a failing check gets the full retry budget of a command.
Record ids derive from the watch id and check number, so a redelivered record
yields the same next record and the idempotency store drops the repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hookline.messages.colt import WatchContinuation
from hookline.worker.parking import parse_duration


@dataclass(frozen=True)
class Step:
    """What to do with a pending check now."""

    kind: Literal["check", "hop", "return"]
    wait: float = 0.0  # "check": seconds to sleep first
    tier: str | None = None  # "hop": the retry tier to travel on


class Schedule:
    """Decides each pending check's next step from the configured retry tiers."""

    def __init__(self, tier_names: list[str]) -> None:
        self.tiers = sorted(((parse_duration(n), n) for n in tier_names), key=lambda t: t[0])
        self.shortest = self.tiers[0][0] if self.tiers else 0.0

    def step(self, pending: WatchContinuation, now: float) -> Step:
        remaining = pending.due_at - now
        if remaining > self.shortest and self.tiers:
            _, name = max(t for t in self.tiers if t[0] <= remaining)
            return Step("hop", tier=name)
        if pending.via_tier:
            return Step("return")
        return Step("check", wait=max(remaining, 0.0))
