"""The one place that decides a record's fate: handled, retry tier, or dead letter.

For each record: decode the CloudEvent, find its handler, take the idempotency
lease for its id, run the handler (retrying in place a few times), then mark the
id done, or park the record on the next retry tier, or in the DLQ. Every
record ends in exactly one outcome, and each outcome is counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable, Generator, Sequence
from contextvars import Context, copy_context
from dataclasses import dataclass
from types import CoroutineType
from typing import Any

import structlog
from aiokafka.structs import ConsumerRecord
from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from hookline.bus.codec import Record
from hookline.bus.topics import Topics
from hookline.config.models import HooklineSettings
from hookline.envelope import CloudEvent
from hookline.errors import PermanentError, PublishError, RetryableError
from hookline.http.audit import CALLS
from hookline.observability import tracing
from hookline.observability.context import HANDLING
from hookline.worker import metrics
from hookline.worker.audit import TRAIL, Trail
from hookline.worker.decode import decode_event
from hookline.worker.handlers import Emitter, Handler, HandlerContext, HandlerRegistry
from hookline.worker.idempotency import DONE, IdempotencyStore, MemoryIdempotencyStore
from hookline.worker.parking import (
    Failure,
    Tier,
    Tiers,
    dead_letter_record,
    history,
    now_rfc3339,
    retry_record,
)
from hookline.worker.registry import ExhaustedHook

log = structlog.get_logger("hookline.worker")

# msgspec for the common shape, the model's own validator for the rest (worker/decode.py).
_decode = decode_event

Publish = Callable[[Sequence[Record]], Awaitable[object]]

HANDLED = "handled"
DUPLICATE = "duplicate"
SKIPPED = "skipped"
RETRIED = "retried"
DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True)
class _Attempted:
    error: BaseException
    permanent: bool
    retry_after: float | None


class _Resume:
    """The rest of an awaitable whose first step already ran in ``context`` and yielded
    ``yielded``: awaiting this forwards what the awaiting task sends or throws, as
    ``yield from`` would, and runs each step in that same context (whichever task awaits)."""

    __slots__ = ("_context", "_steps", "_yielded")

    def __init__(self, steps: Generator[Any, Any, Any], yielded: object, context: Context) -> None:
        self._steps = steps
        self._yielded = yielded
        self._context = context

    def __await__(self) -> Generator[Any, Any, None]:
        steps, value, run = self._steps, self._yielded, self._context.run
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                steps.close()
                raise
            except BaseException as exc:  # cancellation goes into the handler, as with await
                try:
                    value = run(steps.throw, exc)
                except StopIteration:
                    return
            else:
                try:
                    value = run(steps.send, sent)
                except StopIteration:
                    return


class Started:
    """A first attempt that :meth:`Fate.settle_now` began and could not finish without
    waiting (its handler awaited something, failed, or left provider calls to audit):
    :meth:`Fate.finish` takes it from there, with the lease, context and trail it set up."""

    __slots__ = ("context", "event", "failed", "handler", "rest", "started", "token", "trail")

    def __init__(
        self,
        event: CloudEvent,
        handler: Handler,
        token: str,
        context: Context,
        started: float,
        trail: Trail | None,
    ) -> None:
        self.event = event
        self.handler = handler
        self.token = token
        # The contextvars.Context the attempt runs in (HANDLING, CALLS, TRAIL set in it).
        self.context = context
        self.started = started
        self.trail = trail
        self.rest: _Resume | None = None
        self.failed: _Attempted | None = None


class _Leases:
    """Keeps the leases of running handlers alive: one sweep every third of the lease renews
    those older than that, so a fast handler costs no timer at all."""

    def __init__(self, store: IdempotencyStore, lease: float) -> None:
        self._store = store
        self._lease = lease
        self.held: dict[str, tuple[str, float]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._sweep(), name="hookline-leases")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _sweep(self) -> None:
        interval = self._lease / 3
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for key, (token, since) in list(self.held.items()):
                if now - since < interval:
                    continue
                try:
                    if not await self._store.renew(key, token, self._lease):
                        log.warning("worker.lease_lost", event_id=key)
                except Exception as exc:  # the next sweep may work; the handler must go on
                    log.warning("worker.lease_renew_failed", event_id=key, error=type(exc).__name__)


class Fate:
    """Runs one record to its outcome for one service."""

    def __init__(
        self,
        *,
        service: str,
        handlers: HandlerRegistry,
        store: IdempotencyStore,
        tiers: Tiers,
        dlq_topic: str,
        publish: Publish,
        emit: Emitter,
        settings: HooklineSettings,
        topics: Topics,
        on_exhausted: ExhaustedHook | None = None,
        audit_topic: str | None = None,
    ) -> None:
        self.service = service
        # Where the handler's outbound provider calls are recorded (None: not recorded).
        self._audit_topic = audit_topic
        self._on_exhausted = on_exhausted
        self._handlers = handlers
        self._store = store
        self._tiers = tiers
        self._dlq_topic = dlq_topic
        self._publish = publish
        self._emit = emit
        self._settings = settings
        self._topics = topics
        worker = settings.worker
        self._lease = worker.idempotency_lease_seconds
        self._ttl = float(worker.idempotency_ttl_seconds)
        self._inline_retries = worker.inline_retries
        self._backoff = worker.inline_backoff_ms / 1000
        self._inline_max = worker.inline_max_wait_ms / 1000
        self._finished = {o: metrics.FINISHED.labels(service, o) for o in metrics.OUTCOMES}
        self._latency_ok = metrics.BatchedHistogram(metrics.HANDLER_SECONDS.labels(service, "ok"))
        self._latency_failed = metrics.BatchedHistogram(
            metrics.HANDLER_SECONDS.labels(service, "failed")
        )
        self._running = 0
        metrics.IN_FLIGHT.labels(service).set_function(lambda: self._running)
        self.leases = _Leases(store, self._lease)
        # Lease tokens: unique per attempt, cheap to make.
        self._owner = uuid.uuid4().hex[:12]
        self._tokens = itertools.count()
        self._inline_counter = metrics.INLINE_RETRIES.labels(service)
        self._counts = dict.fromkeys(metrics.OUTCOMES, 0)
        # The in-process store answers without waiting: call it without a coroutine.
        self._local = store if isinstance(store, MemoryIdempotencyStore) else None
        self._token_prefix = f"{self._owner}-"
        self._tier_topics = frozenset(tiers.topics)
        self._handler_for = handlers.lookup

    @property
    def settles_now(self) -> bool:
        """Whether :meth:`settle_now` can take first deliveries (an in-process store, tracing
        off); otherwise every record goes through :meth:`settle`."""
        return self._local is not None and not tracing.ENABLED

    def settle_now(self, record: ConsumerRecord[bytes, bytes]) -> str | Started | None:
        """The common path without a coroutine: decode, the in-process lease, the handler's
        first step driven here, the done mark. Returns the outcome when the record is settled
        (the handler finished without waiting, or there was nothing to run); a
        :class:`Started` for :meth:`finish` when the handler waits, fails or left calls to
        audit; None when nothing has started and :meth:`settle` must take the record (a
        Redis store, tracing on, a retry tier's record, an undecodable value, a held lease).

        Nothing here waits, so no other task runs between the lease and the done mark of a
        record settled here: the lease sweep, the in-flight gauge and a revocation's count of
        running records cannot tell it from one that ran through :meth:`settle`."""
        local = self._local
        value = record.value
        if local is None or value is None or tracing.ENABLED:
            return None
        if record.topic in self._tier_topics:
            return None
        try:
            event: CloudEvent = _decode(value)
        except (ValueError, ValidationError):
            return None  # settle decodes it again and dead-letters it with the reason
        handler = self._handler_for(event.type)
        if handler is None:
            log.info("worker.skipped", event_id=event.id, type=event.type, reason="no handler")
            self._counts[SKIPPED] += 1
            return SKIPPED
        event_id = event.id
        busy = local.peek_now(event_id)
        if busy is not None:
            if busy is DONE:
                log.debug("worker.duplicate", event_id=event_id, type=event.type)
                self._counts[DUPLICATE] += 1
                return DUPLICATE
            return None  # another attempt holds the lease: settle waits for it
        # The attempt runs in a context of its own, so a handler that waits can be taken on
        # by a lane runner (another task) with what it and the runtime set still in place.
        attempt_context = copy_context()
        started = time.perf_counter()
        trail, outcome = attempt_context.run(self._first_step, handler, event)
        if outcome is None and (trail is None or len(trail.calls) == trail.written):
            # Finished without waiting: nothing else ran since the peek, so the lease is
            # never written (no other attempt could have seen it); the id is done now.
            self._latency_ok.observe(time.perf_counter() - started)
            local.done_now(event_id, self._ttl)
            self._counts[HANDLED] += 1
            return HANDLED
        # It waits, failed, or has calls to audit: take the lease before anything else runs.
        token = self._token_prefix + str(next(self._tokens))
        local.hold_now(event_id, token, self._lease)
        begun = Started(event, handler, token, attempt_context, started, trail)
        if isinstance(outcome, _Attempted):
            begun.failed = outcome
        elif outcome is not None:
            steps, yielded = outcome
            begun.rest = _Resume(steps, yielded, attempt_context)
        return begun

    def _first_step(
        self, handler: Handler, event: CloudEvent
    ) -> tuple[Trail | None, _Attempted | tuple[Generator[Any, Any, Any], object] | None]:
        """Run in the attempt's own context: set what the handler's calls read, run the
        handler up to its first wait. Returns the trail and None (it finished), how it
        failed, or its steps and what it waits for."""
        context = HandlerContext(event, 1, self._settings, self._topics, self._emit)
        # The handler's log lines (http.call included) name the command they serve.
        HANDLING.set((event.id, event.type, event.requestid))
        trail = None
        if self._audit_topic is not None:
            trail = Trail(self.service, self._audit_topic, event, 1)
            CALLS.set(trail.calls)
            TRAIL.set(trail)
        awaitable = handler(event, context)
        # A coroutine is driven as it is; any other awaitable (a future, say) by its iterator.
        steps: Generator[Any, Any, Any] = (
            awaitable  # type: ignore[assignment]
            if awaitable.__class__ is CoroutineType
            else awaitable.__await__()
        )
        try:
            yielded = steps.send(None)
        except StopIteration:
            return trail, None
        except Exception as exc:
            # Here, so the log line still names the command, as the async path's does.
            return trail, self._failure(exc, event, 1)
        return trail, (steps, yielded)

    async def finish(self, record: ConsumerRecord[bytes, bytes], begun: Started) -> str:
        """Take a first attempt :meth:`settle_now` began to its outcome, as :meth:`settle`
        would have after the same first step (the lease is renewed from here on, and the
        attempt counts as in flight while its handler runs)."""
        event = begun.event
        event_id = event.id
        held = self.leases.held
        held[event_id] = (begun.token, time.monotonic())
        try:
            failed = begun.failed
            rest = begun.rest
            trail = begun.trail
            if rest is not None:
                self._running += 1
                try:
                    await rest
                except Exception as exc:
                    failed = begun.context.run(self._failure, exc, event, 1)
                except BaseException:
                    trail = None  # cancelled (a shutdown): nothing is written now
                    raise
                finally:
                    self._running -= 1
                    if trail is not None and len(trail.calls) > trail.written:
                        await self._audit(trail)
            elif trail is not None and len(trail.calls) > trail.written:
                await self._audit(trail)
            counts = self._counts
            if failed is None:
                self._latency_ok.observe(time.perf_counter() - begun.started)
                await self._store.complete(event_id, self._ttl)
                counts[HANDLED] += 1
                return HANDLED
            self._latency_failed.observe(time.perf_counter() - begun.started)
            # settle_now takes only first deliveries, never a retry tier's records.
            outcome = await self._failed(record, event, begun.handler, begun.token, None, 1, failed)
            counts[outcome] += 1
            return outcome
        finally:
            held.pop(event_id, None)

    async def settle(self, record: ConsumerRecord[bytes, bytes]) -> str:
        # The common path (decoded, handler found, lease taken, first attempt succeeds) is
        # written out in this one coroutine on purpose: every extra frame, await and metric
        # update here costs per record (see docs/worker.md, Throughput).
        counts = self._counts
        value = record.value
        try:
            if value is None:
                raise ValueError("tombstone record has no CloudEvent")
            event: CloudEvent = _decode(value)
        except (ValueError, ValidationError) as exc:
            outcome = await self._undecodable(record, exc)
            counts[outcome] += 1
            return outcome
        handler = self._handlers.get(event.type)
        if handler is None:
            log.info("worker.skipped", event_id=event.id, type=event.type, reason="no handler")
            counts[SKIPPED] += 1
            return SKIPPED
        event_id = event.id
        token = f"{self._owner}-{next(self._tokens)}"
        local = self._local
        if local is not None:
            begun = local.begin_now(event_id, token, self._lease)
        else:
            begun = await self._store.begin(event_id, token, self._lease)
        while begun.state != "acquired":
            if begun.state == "done":
                log.debug("worker.duplicate", event_id=event_id, type=event.type)
                counts[DUPLICATE] += 1
                return DUPLICATE
            # Another attempt holds the lease (a live worker, or a crashed one whose lease
            # has not expired): wait for it instead of running the effect in parallel.
            await asyncio.sleep(min(max(begun.retry_in, 0.02), 0.5))
            begun = await self._store.begin(event_id, token, self._lease)
        held = self.leases.held
        held[event_id] = (token, time.monotonic())
        try:
            # Only records from retry tiers carry a history; commands start at attempt 1.
            tier_now = self._tiers.of_topic(record.topic)
            attempt = history(record)[0] + 1 if tier_now is not None else 1
            started = time.perf_counter()
            failed = await self._invoke(handler, event, attempt)
            if failed is None:
                self._latency_ok.observe(time.perf_counter() - started)
                if local is not None:
                    local.complete_now(event_id, self._ttl)
                else:
                    await self._store.complete(event_id, self._ttl)
                counts[HANDLED] += 1
                return HANDLED
            self._latency_failed.observe(time.perf_counter() - started)
            outcome = await self._failed(record, event, handler, token, tier_now, attempt, failed)
            counts[outcome] += 1
            return outcome
        finally:
            held.pop(event_id, None)

    def flush_metrics(self) -> None:
        """Move outcome counts and handler latencies into Prometheus (the runtime calls this
        once per fetch loop turn: one update per outcome and bucket instead of per record)."""
        counts = self._counts
        for outcome, count in counts.items():
            if count:
                self._finished[outcome].inc(count)
                counts[outcome] = 0
        self._latency_ok.flush()
        self._latency_failed.flush()

    async def _undecodable(self, record: ConsumerRecord[bytes, bytes], exc: Exception) -> str:
        attempts, first, topic, partition, offset = history(record)
        failure = Failure(
            type(exc).__name__,
            str(exc),
            attempts,
            first or now_rfc3339(),
            topic,
            partition,
            offset,
        )
        log.warning(
            "worker.undecodable",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error=type(exc).__name__,
        )
        await self._park(
            dead_letter_record(record, self.service, failure, self._dlq_topic, "undecodable")
        )
        metrics.DEAD_LETTERED.labels(self.service, "undecodable").inc()
        return DEAD_LETTERED

    async def _failed(
        self,
        record: ConsumerRecord[bytes, bytes],
        event: CloudEvent,
        handler: Callable[[CloudEvent, HandlerContext], Awaitable[None]],
        token: str,
        tier_now: Tier | None,
        attempt: int,
        result: _Attempted | None,
    ) -> str:
        """After a failed attempt: retry in place, park on a retry tier, or dead-letter."""
        first_failure: str | None = None
        inline = 0
        while True:
            if result is None:
                await self._store.complete(event.id, self._ttl)
                return HANDLED
            _, first, original_topic, original_partition, original_offset = history(record)
            first_failure = first_failure or first or now_rfc3339()
            bound = log.bind(
                event_id=event.id,
                type=event.type,
                key=event.key,
                attempt=attempt,
                error=type(result.error).__name__,
                detail=str(result.error)[:500],
            )
            if not result.permanent:
                wait = result.retry_after
                if wait is None:
                    wait = self._backoff * (2**inline)
                if inline < self._inline_retries and wait <= self._inline_max:
                    inline += 1
                    self._inline_counter.inc()
                    bound.info("worker.retry_inline", wait_seconds=round(wait, 3))
                    await asyncio.sleep(wait)
                    attempt += 1
                    result = await self._attempt(event, handler, attempt)
                    continue
            await self._store.release(event.id, token)
            failure = Failure(
                type(result.error).__name__,
                str(result.error),
                attempt,
                first_failure,
                original_topic,
                original_partition,
                original_offset,
            )
            tier = None
            if not result.permanent:
                tier = self._tiers.next(tier_now, result.retry_after)
            if tier is None:
                reason = "permanent" if result.permanent else "retries_exhausted"
                if not result.permanent and self._on_exhausted is not None:
                    await self._exhausted(event, attempt, result.error)
                await self._park(
                    dead_letter_record(record, self.service, failure, self._dlq_topic, reason)
                )
                metrics.DEAD_LETTERED.labels(self.service, reason).inc()
                bound.warning("worker.dead_lettered", reason=reason, topic=self._dlq_topic)
                return DEAD_LETTERED
            delay = max(tier.delay, result.retry_after or 0.0)
            await self._park(retry_record(record, self.service, failure, tier, delay))
            metrics.RETRIED.labels(self.service, tier.name).inc()
            bound.info("worker.retry_parked", tier=tier.name, delay_seconds=delay)
            return RETRIED

    async def _exhausted(self, event: CloudEvent, attempt: int, error: BaseException) -> None:
        assert self._on_exhausted is not None
        context = HandlerContext(event, attempt, self._settings, self._topics, self._emit)
        try:
            await self._on_exhausted(event, context, error)
        except Exception as exc:
            # The record still goes to the DLQ; a failing hook must not keep it cycling.
            log.warning("worker.exhausted_hook_failed", event_id=event.id, error=type(exc).__name__)

    async def _attempt(
        self,
        event: CloudEvent,
        handler: Callable[[CloudEvent, HandlerContext], Awaitable[None]],
        attempt: int,
    ) -> _Attempted | None:
        started = time.perf_counter()
        result = await self._invoke(handler, event, attempt)
        elapsed = time.perf_counter() - started
        (self._latency_ok if result is None else self._latency_failed).observe(elapsed)
        return result

    async def _invoke(
        self,
        handler: Callable[[CloudEvent, HandlerContext], Awaitable[None]],
        event: CloudEvent,
        attempt: int,
    ) -> _Attempted | None:
        """Run the handler once: None when it returned, else what its failure means."""
        context = HandlerContext(event, attempt, self._settings, self._topics, self._emit)
        # The handler's log lines (http.call included) name the command they serve.
        handling = HANDLING.set((event.id, event.type, event.requestid))
        trail = auditing = None
        if self._audit_topic is not None:
            trail = Trail(self.service, self._audit_topic, event, attempt)
            auditing = (CALLS.set(trail.calls), TRAIL.set(trail))
        self._running += 1
        try:
            if not tracing.ENABLED:
                await handler(event, context)
                return None
            with tracing.span(
                f"process {event.type}",
                kind=SpanKind.CONSUMER,
                traceparent=event.traceparent,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.operation.type": "process",
                    "messaging.message.id": event.id,
                    "messaging.kafka.message.key": event.key,
                    "cloudevents.event_type": event.type,
                    "hookline.attempt": attempt,
                },
            ) as current:
                try:
                    await handler(event, context)
                except Exception as exc:
                    tracing.mark_error(current, exc)
                    raise
            return None
        except Exception as exc:
            return self._failure(exc, event, attempt)
        except BaseException:
            # Cancelled (a shutdown): nothing is written now; the record is handled again.
            trail = None
            raise
        finally:
            self._running -= 1
            HANDLING.reset(handling)
            if auditing is not None:
                CALLS.reset(auditing[0])
                TRAIL.reset(auditing[1])
            # Most attempts have nothing left to write: no coroutine for them.
            if trail is not None and len(trail.calls) > trail.written:
                await self._audit(trail)

    async def _audit(self, trail: Trail) -> None:
        """Write the calls the attempt made after its last emit; Kafka away: logged, the
        handler's outcome stands (the calls are done whatever the trail says)."""
        records = trail.take()
        if not records:
            return
        try:
            await self._publish(records)
        except PublishError as exc:
            log.warning("worker.audit_failed", event_id=trail.command.id, calls=len(records),
                        error=str(exc))  # fmt: skip

    def _failure(self, exc: Exception, event: CloudEvent, attempt: int) -> _Attempted:
        if isinstance(exc, PermanentError):
            return _Attempted(exc, True, None)
        if isinstance(exc, RetryableError):
            return _Attempted(exc, False, exc.retry_after)
        # Not one of ours: treat as retryable, but keep the traceback for whoever fixes it.
        # Called from the except clause, so the traceback is still the current exception.
        log.exception(
            "worker.handler_crashed",
            event_id=event.id,
            type=event.type,
            key=event.key,
            attempt=attempt,
            error=type(exc).__name__,
        )
        return _Attempted(exc, False, None)

    async def _park(self, record: Record) -> None:
        """Write to a retry/DLQ topic; keep trying while Kafka is away (never drop a record)."""
        wait = 0.2
        while True:
            try:
                await self._publish([record])
                return
            except PublishError as exc:
                log.warning(
                    "worker.park_failed", topic=record.topic, error=str(exc), wait_seconds=wait
                )
                await asyncio.sleep(wait)
                wait = min(wait * 2, 5.0)
