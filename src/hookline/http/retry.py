"""The retry policy as data: when to try again, and after how long.

``delay = full_jitter(min(max_delay, base_delay × 2^(attempt−1)))``, or with a
per-status base from ``retry.status_delays_ms`` (key ``0`` = network errors and
timeouts) ``upward_jitter(status_base × 2^(attempt−1))`` uncapped: that is a wait
the provider documents (the Colt guide's table), so it is a minimum and jitter
only adds to it (up to a fifth), never goes below. A server hint replaces the computed delay:
``Retry-After`` (seconds or HTTP date) on any retryable answer, and on a 429
``X-RateLimit-Reset`` (epoch seconds; Colt sends it lowercase), at least 1 s as
in the Colt guide.

A delay longer than ``inline_max_delay_ms``, or one that would end past the
call's deadline, is not waited for: the error is raised at once with
``retry_after`` set, so the worker parks the command on a retry tier.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx

from hookline.config.models import RetrySettings

# Methods that may be repeated without changing the outcome (RFC 9110 §9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})

NETWORK = 0  # the status_delays_ms key for connection errors and timeouts

# Epoch-seconds reset values are large; small ones are deltas (some APIs send those).
_EPOCH_THRESHOLD = 1_000_000_000


def full_jitter(cap: float) -> float:
    """A uniformly random delay in [0, cap] (the AWS "full jitter" scheme)."""
    return random.uniform(0.0, cap) if cap > 0 else 0.0  # noqa: S311 - not for security


def upward_jitter(floor: float) -> float:
    """A uniformly random delay in [floor, 1.2 × floor]: a documented wait, spread upward only."""
    return floor + random.uniform(0.0, floor / 5) if floor > 0 else 0.0  # noqa: S311


@dataclass(frozen=True)
class Decision:
    """Whether to try again, after how long, and why (a log/metric label)."""

    retry: bool
    delay: float
    reason: str


@dataclass(frozen=True)
class RetryPolicy:
    """One provider's retry rules, read from its :class:`RetrySettings`."""

    max_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 30.0
    inline_max_delay: float = 10.0
    deadline: float = 60.0
    status_delays: Mapping[int, float] = field(default_factory=dict)
    jitter: Callable[[float], float] = full_jitter
    # For documented waits (status_delays): they are minimums, so jitter only adds.
    floor_jitter: Callable[[float], float] = upward_jitter

    @classmethod
    def from_settings(cls, settings: RetrySettings) -> RetryPolicy:
        return cls(
            max_attempts=settings.max_attempts,
            base_delay=settings.base_delay_ms / 1000,
            max_delay=settings.max_delay_ms / 1000,
            inline_max_delay=settings.inline_max_delay_ms / 1000,
            deadline=settings.deadline_seconds,
            status_delays={k: v / 1000 for k, v in settings.status_delays_ms.items()},
        )

    def backoff(self, attempt: int, status: int | None) -> float:
        """The jittered delay after failed attempt number ``attempt`` (1-based)."""
        key = NETWORK if status is None else status
        if key in self.status_delays:
            # A per-status delay is the provider's documented schedule (Colt: 30 s, 60 s): a
            # minimum that max_delay does not cut; inline_max_delay and the deadline decide
            # whether it is waited for inline or parked on a retry tier (never shorter).
            return self.floor_jitter(_doubled(self.status_delays[key], attempt, float("inf")))
        return self.jitter(_doubled(self.base_delay, attempt, self.max_delay))

    def delay(
        self, attempt: int, status: int | None, headers: httpx.Headers | None, now: float
    ) -> float:
        """The server's hint when it gave one, else the backoff."""
        hint = server_hint(status, headers, now) if headers is not None else None
        return hint if hint is not None else self.backoff(attempt, status)

    def decide(
        self,
        *,
        attempt: int,
        retryable: bool,
        may_repeat: bool,
        status: int | None,
        headers: httpx.Headers | None,
        now: float,
        remaining: float,
    ) -> Decision:
        """Decide after failed attempt ``attempt``; ``remaining`` is the time left until the deadline."""
        if not retryable:
            return Decision(False, 0.0, "not_retryable")
        delay = self.delay(attempt, status, headers, now)
        if not may_repeat:
            return Decision(False, delay, "not_idempotent")
        if attempt >= self.max_attempts:
            return Decision(False, delay, "attempts_exhausted")
        if delay > self.inline_max_delay:
            return Decision(False, delay, "delay_over_inline_max")
        if delay >= remaining:
            return Decision(False, delay, "deadline")
        return Decision(True, delay, "retry")


def _doubled(base: float, attempt: int, cap: float) -> float:
    """``base × 2^(attempt−1)``, at most ``cap``."""
    try:
        return min(cap, base * float(2 ** (attempt - 1)))
    except OverflowError:
        return cap


def parse_retry_after(value: str, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now`` (wall time); None when unparseable."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


def parse_reset(value: str, now: float) -> float | None:
    """``X-RateLimit-Reset`` as seconds from ``now``: epoch seconds, or a delta when small."""
    try:
        reset = float(value.strip())
    except ValueError:
        return None
    wait = reset - now if reset >= _EPOCH_THRESHOLD else reset
    return max(wait, 1.0)


def server_hint(status: int | None, headers: httpx.Headers, now: float) -> float | None:
    """The wait the provider asked for, if any."""
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        hint = parse_retry_after(retry_after, now)
        if hint is not None:
            return hint
    if status == 429:
        reset = headers.get("x-ratelimit-reset")
        if reset is not None:
            return parse_reset(reset, now)
    return None
