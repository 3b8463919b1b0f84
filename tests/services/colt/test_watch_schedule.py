"""A watch's pending check hops on retry tiers while far off, then runs from commands.colt."""

from __future__ import annotations

import pytest

from hookline.messages.colt import ServiceWatch, WatchContinuation
from hookline.services.colt.watch import Schedule

WATCH = ServiceWatch(service_id="SVC-1", interval_seconds=300, max_checks=3)


def pending(due_in: float, via_tier: bool = False) -> WatchContinuation:
    return WatchContinuation(
        watch=WATCH, watch_command_id="w", check=2, due_at=1000.0 + due_in, via_tier=via_tier
    )


@pytest.mark.parametrize(
    ("due_in", "via_tier", "kind", "tier", "wait"),
    [
        (300, False, "hop", "1m", 0),  # never overshoot: the longest tier not beyond the wait
        (700, True, "hop", "10m", 0),
        (45, True, "hop", "10s", 0),
        (8, True, "return", None, 0),  # back to commands.colt to run with a full retry budget
        (8, False, "check", None, 8),  # short rest: sleep it in the handler
        (-5, False, "check", None, 0),  # overdue: run now
    ],
)
def test_steps(due_in: float, via_tier: bool, kind: str, tier: str | None, wait: float) -> None:
    """The step depends only on the time left and where the record travelled."""
    step = Schedule(["10s", "1m", "10m"]).step(pending(due_in, via_tier), now=1000.0)
    assert (step.kind, step.tier, step.wait) == (kind, tier, wait)


def test_unbounded_watch_is_refused() -> None:
    """A watch needs max_checks or duration_seconds."""
    with pytest.raises(ValueError, match="duration_seconds or max_checks"):
        ServiceWatch(service_id="SVC-1", interval_seconds=60)
