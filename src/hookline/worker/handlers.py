"""Handlers: async callables registered per CloudEvent ``type``.

A handler returns normally (done), raises :class:`~hookline.errors.RetryableError`
(optionally with ``retry_after`` seconds), or raises
:class:`~hookline.errors.PermanentError` (straight to the dead-letter topic).
Any other exception counts as retryable and is logged with its traceback.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from opentelemetry.trace import SpanKind

from hookline.bus.topics import Topics
from hookline.config.models import HooklineSettings
from hookline.envelope import CloudEvent
from hookline.observability import tracing


class Emitter(Protocol):
    async def __call__(self, event: CloudEvent, topic: str) -> None: ...


class HandlerContext:
    """What the runtime hands a handler along with the event, built per attempt."""

    __slots__ = ("_emit", "attempt", "event", "idempotency_key", "settings", "topics")

    def __init__(
        self,
        event: CloudEvent,
        attempt: int,
        settings: HooklineSettings,
        topics: Topics,
        emit: Emitter,
    ) -> None:
        self.event = event
        # 1-based; counts in-place retries and retry-tier passes alike.
        self.attempt = attempt
        # Handlers send it as the Idempotency-Key of their outbound calls, so a crash
        # between the provider's effect and our ``done`` mark is covered by the provider.
        self.idempotency_key = event.id
        self.settings = settings
        self.topics = topics
        self._emit = emit

    async def emit(self, event: CloudEvent, topic: str) -> None:
        """Publish ``event`` (acks=all); returns once Kafka acknowledged it.

        Emitted events are written before the record is marked done, so a crash
        can repeat them, never lose them: give them deterministic ids when the
        consumers downstream should be able to drop repeats.
        """
        # Whatever a handler writes joins the chain of what it handles: caused by it, in
        # the same delivery's correlation (unless the handler said otherwise).
        if event.causationid is None:
            event.causationid = self.event.id
        if event.correlationid is None:
            event.correlationid = self.event.correlationid or self.event.id
        # The webhook request it descends from, so its logs, exemplars and audit records
        # name the request a provider's support can look up (X-Request-ID).
        if event.requestid is None:
            event.requestid = self.event.requestid
        if not tracing.ENABLED:
            await self._emit(event, topic)
            return
        with tracing.span(
            f"send {topic}",
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "send",
                "messaging.destination.name": topic,
                "messaging.message.id": event.id,
                "cloudevents.event_type": event.type,
            },
        ):
            # What the handler writes continues the trace from this send.
            event.traceparent = tracing.current_traceparent(event.traceparent)
            await self._emit(event, topic)


Handler = Callable[[CloudEvent, HandlerContext], Awaitable[None]]


class HandlerRegistry:
    """Which handler acts on which CloudEvent type; unknown types are skipped by the runtime."""

    def __init__(self, handlers: dict[str, Handler] | None = None) -> None:
        self._handlers: dict[str, Handler] = dict(handlers or {})

    def register(self, event_type: str, handler: Handler) -> None:
        if event_type in self._handlers:
            raise ValueError(f"a handler for {event_type!r} is already registered")
        self._handlers[event_type] = handler

    def get(self, event_type: str) -> Handler | None:
        return self._handlers.get(event_type)

    @property
    def lookup(self) -> Callable[[str], Handler | None]:
        """:meth:`get` without a method call of its own (the worker's per-record path);
        it sees handlers registered later too."""
        return self._handlers.get

    def types(self) -> list[str]:
        return sorted(self._handlers)

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._handlers

    def __len__(self) -> int:
        return len(self._handlers)
