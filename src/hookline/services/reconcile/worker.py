"""The ``reconcile`` worker: keeps the open entities and runs a pass every ``interval_seconds``.

It consumes ``events.sms``, ``events.colt``, ``events.charging`` and
``events.reservation`` (results that start an entity, reports and notifications
that move or finish it) and ``commands.colt`` (the
contacts an order was submitted with, which Colt's status answer lacks), in its
own consumer group, and publishes what a pass finds with its own producer.
"""

from __future__ import annotations

import contextlib

from hookline.bus.codec import to_record
from hookline.bus.connection import start_producer_waiting
from hookline.bus.publisher import Publisher
from hookline.bus.topics import Topics
from hookline.config.models import HooklineSettings, bootstrap
from hookline.envelope import CloudEvent
from hookline.services.reconcile.engine import Reconciler
from hookline.worker.handlers import HandlerContext, HandlerRegistry
from hookline.worker.registry import WorkerSpec

TRACKED = (
    "sms.message.accepted",
    "sms.message.queued",
    "sms.message.sent",
    "sms.message.delivered",
    "sms.message.undelivered",
    "colt.order.submit",
    "colt.order.submitted",
    "colt.order.state_changed",
    "charging.command.succeeded",
    "charging.session.started",
    "charging.session.progress",
    "charging.session.completed",
    "charging.session.failed",
    "reservation.command.succeeded",
    "reservation.booking.created",
    "reservation.booking.modified",
    "reservation.booking.cancelled",
    "reservation.booking.reminder",
)


class LazyPublisher:
    """A producer started on the first publish (the worker's own is not shared with jobs)."""

    def __init__(self, settings: HooklineSettings) -> None:
        self.settings = settings
        self._publisher: Publisher | None = None

    async def __call__(self, event: CloudEvent, topic: str) -> None:
        if self._publisher is None:
            kafka = self.settings.kafka
            servers, embedded = bootstrap(kafka)
            producer = await start_producer_waiting(kafka, servers, embedded=embedded)
            self._publisher = Publisher(producer, timeout=kafka.request_timeout_ms / 1000)
            self._publisher.start()
        await self._publisher.publish([to_record(event, topic)])

    async def aclose(self) -> None:
        if self._publisher is not None:
            producer = self._publisher.producer
            await self._publisher.stop()
            if producer is not None:
                with contextlib.suppress(Exception):
                    await producer.stop()
            self._publisher = None


async def create_worker(settings: HooklineSettings) -> WorkerSpec:
    publisher = LazyPublisher(settings)
    reconciler = Reconciler(settings, publish=publisher)
    topics = Topics(settings.kafka.topic_prefix)
    handlers = HandlerRegistry()

    async def track(event: CloudEvent, context: HandlerContext) -> None:
        await reconciler.track(event)

    for event_type in TRACKED:
        handlers.register(event_type, track)

    async def close() -> None:
        await reconciler.aclose()
        await publisher.aclose()

    periodic = reconciler.config.interval_seconds > 0 and reconciler.specs
    return WorkerSpec(
        service="reconcile",
        topics=[
            topics.events("sms"),
            topics.events("colt"),
            topics.events("charging"),
            topics.events("reservation"),
            topics.commands("colt"),
        ],
        handlers=handlers,
        close=close,
        background=[reconciler.run_forever] if periodic else [],
    )
