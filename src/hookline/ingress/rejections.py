"""Recording refused webhook requests without slowing accepted ones (docs/console.md).

:meth:`RejectionRecorder.observe` runs in the webhook endpoint's ``finally``
for every request: it counts the outcome (the overview's charts) and, for a
refusal only, queues a masked record. One background task hands queued
records to the ingress's publisher, where they travel in the same batches as
events; nothing on a request's path waits for Kafka. A full queue drops the
record and counts it (``hookline_ingress_rejections_dropped_total``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import structlog
from aiokafka.errors import KafkaError
from starlette.types import Scope

from hookline.admin.rejected import REJECTED_OUTCOMES, UNKNOWN_SOURCE, rejection_record
from hookline.admin.tally import OutcomeTally
from hookline.bus.codec import Record
from hookline.bus.publisher import Publisher
from hookline.config.models import ServerSettings
from hookline.errors import PublishError
from hookline.ingress.client_ip import client_address
from hookline.observability.loop_metrics import LoopCounter
from hookline.observability.metrics import REGISTRY

log = structlog.get_logger("hookline.ingress")

# How long the recorder waits to learn the topic's partitions before dropping a batch.
TOPIC_LOOKUP_SECONDS = 5.0
# Where the endpoint leaves what only it knows about a refusal: (reason code, body).
REJECTION_DETAIL = "hookline.rejection"

# Loop counters: with `serve --workers N` the processes share them (observability.cells).
DROPPED = LoopCounter(
    "hookline_ingress_rejections_dropped_total",
    "Rejected requests not recorded because the recording queue was full.",
    [],
    registry=REGISTRY,
)
RECORDED = LoopCounter(
    "hookline_ingress_rejections_recorded_total",
    "Rejected requests written to the rejected-requests topic.",
    [],
    registry=REGISTRY,
)


class RejectionRecorder:
    """Counts every outcome; queues refused requests for the rejected-requests topic."""

    def __init__(
        self,
        *,
        topic: str,
        server: ServerSettings,
        publisher: Publisher,
        tally: OutcomeTally,
        max_queue: int = 10_000,
        batch: int = 500,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.topic = topic
        self.server = server
        self.publisher = publisher
        self.tally = tally
        self._queue: deque[Record] = deque()
        self._max_queue = max_queue
        self._batch = batch
        self._clock = clock
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._retry_lookup_at = 0.0

    def observe(self, source: str, outcome: str, scope: Scope, status: int) -> None:
        """Count the outcome; queue a record when it refused the request (never blocks)."""
        known = outcome != "unknown_source"
        self.tally.count(source if known else UNKNOWN_SOURCE, outcome)
        if outcome not in REJECTED_OUTCOMES:
            return
        if len(self._queue) >= self._max_queue:
            DROPPED.inc()
            return
        try:
            record = self._record(source if known else UNKNOWN_SOURCE, outcome, scope, status)
        except Exception:  # a refusal is answered whatever happens to its record
            log.warning("ingress.rejection_unrecorded", source=source, exc_info=True)
            return
        self._queue.append(record)
        self._wakeup.set()

    def _record(self, source: str, outcome: str, scope: Scope, status: int) -> Record:
        state: dict[str, Any] = scope.get("state") or {}
        code, body = state.get(REJECTION_DETAIL, (None, None))
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        peer = scope.get("client")
        forwarded = ",".join(v for k, v in headers if k.lower() == "x-forwarded-for") or None
        address = client_address(peer[0] if peer else None, forwarded, self.server.trusted_proxies)
        return rejection_record(
            self.topic,
            source=source,
            reason=outcome,
            detail=code,
            status=status,
            client=str(address) if address is not None else None,
            method=scope["method"],
            path=scope.get("root_path", "") + scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body if self.server.keep_rejected_bodies else None,
            at=self._clock(),
        )

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="hookline-rejections")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _topic_known(self) -> bool:
        """Whether the producer knows the topic's partitions. Asked here, in this task: the
        publisher would otherwise look a missing topic up inside a round that carries
        accepted events too, and hold them up while the lookup waits."""
        producer = self.publisher.producer
        if producer is None:
            return False
        if producer.client.cluster.partitions_for_topic(self.topic):
            return True
        now = self._clock()
        if now < self._retry_lookup_at:
            return False
        try:
            await asyncio.wait_for(producer.partitions_for(self.topic), TOPIC_LOOKUP_SECONDS)
        except (TimeoutError, KafkaError):
            self._retry_lookup_at = now + TOPIC_LOOKUP_SECONDS * 12
            log.warning("ingress.rejections_topic_missing", topic=self.topic)
            return False
        return True

    async def _drain(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                records = [self._queue.popleft() for _ in range(min(self._batch, len(self._queue)))]
                if not await self._topic_known():
                    DROPPED.inc(len(records))  # `hookline topics create` makes the topic
                    continue
                try:
                    await self.publisher.publish(records)
                except PublishError as exc:
                    # Kafka away: these are lost (counted); the webhooks answer 503 meanwhile.
                    DROPPED.inc(len(records))
                    log.warning(
                        "ingress.rejections_unpublished", count=len(records), error=str(exc)
                    )
                else:
                    RECORDED.inc(len(records))
