"""Which providers may carry a message, and in which order (docs/sms.md#failover-rules-in-plain-words).

Pure: the caller passes in what it knows about each provider's breaker,
limiter and success rate.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from hookline.messages.phone import is_taiwan


@dataclass(frozen=True)
class ProviderHealth:
    """What the router needs to know about one provider right now."""

    breaker_open: bool = False
    admits: bool = True  # the rate limiter can admit a call within the configured wait
    healthy: bool = True  # recent success rate at or above the threshold


@dataclass(frozen=True)
class Route:
    providers: list[str]  # to try, in order
    blocked: list[str]  # untried but skipped now (breaker open, limiter full): may work later


def eligible(to: str, priority: Sequence[str], taiwan_only: Collection[str]) -> list[str]:
    """Rule 1: +886 numbers may use every provider; others only the international ones."""
    if is_taiwan(to):
        return list(priority)
    return [p for p in priority if p not in taiwan_only]


def order(
    to: str,
    *,
    priority: Sequence[str],
    taiwan_only: Collection[str],
    configured: Collection[str],
    preferred: str | None = None,
    tried: Collection[str] = (),
    health: Callable[[str], ProviderHealth] = lambda _: ProviderHealth(),
) -> Route:
    """Rule 2: preferred first; skip open breakers and full limiters; unhealthy ones last."""
    candidates = [
        p for p in eligible(to, priority, taiwan_only) if p in configured and p not in tried
    ]
    if preferred in candidates:
        candidates.remove(preferred)
        candidates.insert(0, preferred)
    states = {p: health(p) for p in candidates}
    usable = [p for p in candidates if not states[p].breaker_open and states[p].admits]
    return Route(
        providers=[p for p in usable if states[p].healthy]
        + [p for p in usable if not states[p].healthy],
        blocked=[p for p in candidates if p not in usable],
    )
