"""The circuit breaker: stop calling a provider that keeps failing.

closed ──(N consecutive failures, or failure ratio over a window)──▶ open
open ──(recovery_seconds)──▶ half_open: up to ``half_open_probes`` calls go through
half_open ──(``half_open_probes`` successes)──▶ closed;  ──(any failure)──▶ open

The breaker counts retryable outcomes (5xx, 429, 408, timeouts, connection
errors) and authentication failures. Business 4xx answers show the provider is
up; they count as successes. Each attempt counts, so retries feed the breaker.

State lives in a :class:`BreakerStore`: in process (:class:`MemoryBreakerStore`)
or in Redis, shared by all replicas (:mod:`hookline.http.breaker_redis`).
"""

from __future__ import annotations

import collections
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

import structlog

from hookline.config.models import BreakerSettings
from hookline.errors import CircuitOpenError
from hookline.http import metrics
from hookline.http.clock import SYSTEM_CLOCK, Clock

log = structlog.get_logger("hookline.http")

State = Literal["closed", "open", "half_open"]
CLOSED: State = "closed"
OPEN: State = "open"
HALF_OPEN: State = "half_open"

_STATE_VALUE = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


@dataclass(frozen=True)
class Admission:
    """The store's answer to "may this call go through?"."""

    admitted: bool
    state: State
    retry_in: float = 0.0  # when not admitted: seconds until a call may be tried
    probe: bool = False  # admitted as one of the half-open probes


@dataclass(frozen=True)
class Snapshot:
    """A breaker's state for ``GET /admin/breakers``."""

    name: str
    state: State
    consecutive_failures: int
    retry_in_seconds: float | None
    failure_threshold: int
    recovery_seconds: float
    shared: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class BreakerStore(Protocol):
    """Where a breaker keeps its state; every method is one atomic step."""

    shared: bool

    async def acquire(self) -> Admission: ...

    async def record(self, success: bool, probe: bool) -> State:
        """Record an outcome; returns the state afterwards."""

    async def snapshot(self) -> tuple[State, int, float | None]:
        """(state, consecutive failures, seconds until half-open when open)."""

    async def reset(self) -> None: ...

    async def aclose(self) -> None: ...


class MemoryBreakerStore:
    """Breaker state in this process."""

    shared = False

    def __init__(self, settings: BreakerSettings, clock: Clock = SYSTEM_CLOCK) -> None:
        self.settings = settings
        self.clock = clock
        self._state: State = CLOSED
        self._failures = 0
        self._open_until = 0.0
        self._probes = 0
        self._probe_started = 0.0
        self._successes = 0
        self._window: collections.deque[tuple[float, bool]] = collections.deque()

    async def acquire(self) -> Admission:
        now = self.clock.monotonic()
        if self._state == OPEN:
            if now < self._open_until:
                return Admission(False, OPEN, self._open_until - now)
            self._state, self._probes, self._successes = HALF_OPEN, 0, 0
        if self._state == HALF_OPEN:
            lease = self.settings.recovery_seconds
            if self._probes >= self.settings.half_open_probes:
                # Probes that never reported (a cancelled call) give their slot back after a lease.
                if now - self._probe_started < lease:
                    return Admission(False, HALF_OPEN, lease - (now - self._probe_started))
                self._probes = 0
            self._probes += 1
            self._probe_started = now
            return Admission(True, HALF_OPEN, probe=True)
        return Admission(True, CLOSED)

    async def record(self, success: bool, probe: bool) -> State:
        now = self.clock.monotonic()
        if self._state == OPEN:
            return OPEN  # a late answer from before the breaker opened
        if self._state == HALF_OPEN:
            if probe:
                self._probes = max(0, self._probes - 1)
            if not success:
                self._trip(now)
            else:
                self._successes += 1
                if self._successes >= self.settings.half_open_probes:
                    self._close()
            return self._state
        self._window.append((now, not success))
        horizon = now - self.settings.window_seconds
        while self._window and self._window[0][0] <= horizon:
            self._window.popleft()
        if success:
            self._failures = 0
            return CLOSED
        self._failures += 1
        if self._failures >= self.settings.failure_threshold or self._ratio_exceeded():
            self._trip(now)
        return self._state

    def _ratio_exceeded(self) -> bool:
        ratio = self.settings.failure_ratio
        calls = len(self._window)
        if ratio is None or calls < self.settings.minimum_calls:
            return False
        failed = sum(1 for _, bad in self._window if bad)
        return failed / calls >= ratio

    def _trip(self, now: float) -> None:
        self._state = OPEN
        self._open_until = now + self.settings.recovery_seconds
        self._probes = self._successes = 0

    def _close(self) -> None:
        self._state = CLOSED
        self._failures = self._probes = self._successes = 0
        self._window.clear()

    async def snapshot(self) -> tuple[State, int, float | None]:
        now = self.clock.monotonic()
        if self._state == OPEN:
            if now < self._open_until:
                return OPEN, self._failures, self._open_until - now
            return HALF_OPEN, self._failures, None
        return self._state, self._failures, None

    async def reset(self) -> None:
        self._close()

    async def aclose(self) -> None:
        return None


class CircuitBreaker:
    """One provider's breaker: asks its store, raises :class:`CircuitOpenError`, reports changes."""

    def __init__(
        self,
        name: str,
        settings: BreakerSettings,
        store: BreakerStore | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.name = name
        self.settings = settings
        self.clock = clock
        self.store: BreakerStore = (
            store if store is not None else MemoryBreakerStore(settings, clock)
        )
        self._known: State = CLOSED
        self._open_until = 0.0  # monotonic, from the last answer that said "open"
        metrics.BREAKER_STATE.labels(name).set(0)

    @property
    def state(self) -> State:
        """The last known state (no I/O); an open breaker past its cool-down reads half_open."""
        if self._known == OPEN and self.clock.monotonic() >= self._open_until:
            return HALF_OPEN
        return self._known

    def fail_fast(self) -> None:
        """Raise at once when the last known state is open; the store has the final word later."""
        # A shared breaker may have been reset by another replica: ask the store instead.
        if self._known == OPEN and not self.store.shared:
            remaining = self._open_until - self.clock.monotonic()
            if remaining > 0:
                raise self._open_error(remaining)

    async def allow(self) -> Admission:
        """Admit a call or raise :class:`CircuitOpenError` with ``retry_after``."""
        admission = await self.store.acquire()
        self._observe(admission.state, admission.retry_in if admission.state == OPEN else None)
        if not admission.admitted:
            raise self._open_error(admission.retry_in)
        return admission

    async def record(self, admission: Admission, success: bool) -> None:
        state = await self.store.record(success, admission.probe)
        # Only a transition starts a cool-down; a late answer must not extend the current one.
        opened = state == OPEN and self._known != OPEN
        self._observe(state, self.settings.recovery_seconds if opened else None)

    async def snapshot(self) -> Snapshot:
        state, failures, retry_in = await self.store.snapshot()
        self._observe(state, retry_in)
        return Snapshot(
            name=self.name,
            state=state,
            consecutive_failures=failures,
            retry_in_seconds=None if retry_in is None else round(retry_in, 3),
            failure_threshold=self.settings.failure_threshold,
            recovery_seconds=self.settings.recovery_seconds,
            shared=self.store.shared,
        )

    async def reset(self) -> None:
        await self.store.reset()
        self._observe(CLOSED, None)
        log.info("http.breaker_reset", provider=self.name)

    async def aclose(self) -> None:
        await self.store.aclose()

    def _open_error(self, retry_in: float) -> CircuitOpenError:
        return CircuitOpenError(
            f"circuit breaker for {self.name} is open",
            retry_after=max(retry_in, 0.0),
            code="CIRCUIT_OPEN",
        )

    def _observe(self, state: State, retry_in: float | None) -> None:
        if state == OPEN and retry_in is not None:
            self._open_until = self.clock.monotonic() + retry_in
        if state != self._known:
            log.warning(
                "http.breaker_state_changed", provider=self.name, previous=self._known, state=state
            )
            metrics.BREAKER_TRANSITIONS.labels(self.name, state).inc()
            self._known = state
        metrics.BREAKER_STATE.labels(self.name).set(_STATE_VALUE[state])
