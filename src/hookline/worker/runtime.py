"""The consumer runtime: fetch, schedule by key, settle, commit, rebalance, shut down.

One :class:`Worker` is one consumer-group member for one service. It fetches
from the service's topics and its retry tiers, runs records through per-key
lanes (order per key, concurrency across keys), and commits per partition only
the finished prefix. Back-pressure pauses partitions; a retry record that is not
due yet pauses its partition until it is (no busy polling, other partitions go on).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Coroutine, Iterable
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata

from hookline.bus.admin import create_topics
from hookline.bus.chain import ChainIndex, Link, open_index
from hookline.bus.codec import Record, to_record
from hookline.bus.connection import client_options, start_producer_waiting
from hookline.bus.publisher import Publisher
from hookline.bus.topics import Topics
from hookline.config.models import HooklineSettings, bootstrap
from hookline.envelope import CloudEvent
from hookline.observability.metrics import EVENTS_PUBLISHED
from hookline.worker import metrics
from hookline.worker.audit import TRAIL
from hookline.worker.fate import Fate, Started
from hookline.worker.idempotency import (
    IdempotencyStore,
    MemoryIdempotencyStore,
    RedisIdempotencyStore,
)
from hookline.worker.lanes import Lanes, Work
from hookline.worker.offsets import PartitionOffsets
from hookline.worker.parking import Tiers, due_ms
from hookline.worker.registry import WorkerSpec

log = structlog.get_logger("hookline.worker")

POLL_TIMEOUT_MS = 200
# How long a full buffer may last before its partitions are paused.
PAUSE_AFTER_SECONDS = 1.0


_heap_frozen = False


def _freeze_start_up_heap() -> None:
    """Move every object alive once a worker has started (modules, classes, settings,
    clients) into the collector's permanent generation, once per process.

    Fetched records live long enough to reach the oldest generation, so full collections
    come every few tens of thousands of records, and each walked the whole start-up heap:
    1–2.5 µs per record in bench/worker.py (docs/worker.md, Throughput), about 0.1 µs
    after this. Objects frozen here are still freed by reference counting; only a cycle
    among them that becomes garbage later is never collected. One full collection first,
    so no start-up garbage is kept."""
    global _heap_frozen
    if _heap_frozen:
        return
    _heap_frozen = True
    gc.collect()
    gc.freeze()


def open_store(settings: HooklineSettings, service: str) -> IdempotencyStore:
    """Redis when ``redis_url`` is set (shared by replicas), else in-process."""
    namespace = f"{settings.kafka.topic_prefix}:idem:{service}"
    if settings.redis_url is not None:
        return RedisIdempotencyStore.from_url(settings.redis_url, namespace)
    return MemoryIdempotencyStore()


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: Worker) -> None:
        self._worker = worker

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self._worker._revoke(list(revoked))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        self._worker._assign(list(assigned))


class Worker:
    """One consumer-group member running one :class:`WorkerSpec`; start it, later stop it."""

    def __init__(
        self,
        settings: HooklineSettings,
        spec: WorkerSpec,
        *,
        bootstrap_servers: str | None = None,
        embedded: bool | None = None,
        store: IdempotencyStore | None = None,
        ensure_topics: bool = True,
    ) -> None:
        self.settings = settings
        self.spec = spec
        servers, is_embedded = bootstrap(settings.kafka)
        self.bootstrap_servers = bootstrap_servers or servers
        self._embedded = is_embedded if embedded is None else embedded
        self.topics = Topics(settings.kafka.topic_prefix)
        self.service = spec.service
        self.group_id = spec.group_id or f"{self.topics.prefix}.worker.{spec.service}"
        tiers = settings.worker.retry_tiers
        self.tiers = Tiers.build(tiers, {t: self.topics.retry(spec.service, t) for t in tiers})
        self.dlq_topic = self.topics.dlq(spec.service)
        self._store = store
        self._owns_store = store is None
        self._ensure_topics = ensure_topics
        self._background: list[asyncio.Task[None]] = []
        # When the fetch loop last began a turn (liveness: a turn takes at most a poll
        # timeout, or the back-pressure wait).
        self.last_turn = time.monotonic()
        config = settings.worker
        self._cap = config.max_buffered_records
        self._half = self._cap // 2
        self._grace = config.shutdown_grace_seconds
        self._revocation_grace = config.revocation_grace_seconds
        self._commit_interval = config.commit_interval_ms / 1000
        self._assigned: dict[TopicPartition, PartitionOffsets] = {}
        self._delayed: dict[TopicPartition, asyncio.TimerHandle] = {}
        self._outstanding = 0
        self._full = False
        self._stopping = False
        self._progress = asyncio.Event()  # set whenever a record finishes
        self._room = asyncio.Event()  # set when the buffer has drained to half
        self._task: asyncio.Task[None] | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._publisher: Publisher | None = None
        self._lanes: Lanes | None = None
        self._fate: Fate | None = None
        self._buffered = metrics.BUFFERED.labels(spec.service)
        self._paused = metrics.PAUSED.labels(spec.service)
        metrics.LAST_TURN.labels(spec.service).set_function(
            lambda: time.time() - (time.monotonic() - self.last_turn)
        )
        self._consumed: dict[str, object] = {}
        # Result events name the entities they created; callbacks about them join their chain.
        self._chain: ChainIndex | None = None
        self._results_prefix = f"{self.topics.prefix}.events."

    @property
    def consumed_topics(self) -> list[str]:
        return list(dict.fromkeys([*self.spec.topics, *self.tiers.topics]))

    async def start(self) -> None:
        settings = self.settings
        # Kafka may come up after the worker (a cluster starting, a broker
        # restarting): wait for it with a log line per attempt, not exit.
        producer = await start_producer_waiting(
            settings.kafka, self.bootstrap_servers, embedded=self._embedded
        )
        if self._ensure_topics:
            try:
                await self._create_topics()
            except BaseException:
                await producer.stop()
                raise
        self._publisher = Publisher(producer, timeout=settings.kafka.request_timeout_ms / 1000)
        self._publisher.start()
        if self._store is None:
            self._store = open_store(settings, self.service)
        self._chain = open_index(settings)
        self._fate = Fate(
            service=self.service,
            handlers=self.spec.handlers,
            store=self._store,
            tiers=self.tiers,
            dlq_topic=self.dlq_topic,
            publish=self._publisher.publish,
            emit=self._emit,
            settings=settings,
            topics=self.topics,
            on_exhausted=self.spec.on_exhausted,
            audit_topic=self.topics.audit_http,
        )
        config = settings.worker
        self._consumer = AIOKafkaConsumer(
            **client_options(settings.kafka, self.bootstrap_servers),
            group_id=self.group_id,
            enable_auto_commit=False,  # offsets are committed only for finished records
            auto_offset_reset="earliest",
            session_timeout_ms=config.session_timeout_ms,
            heartbeat_interval_ms=config.heartbeat_interval_ms,
            rebalance_timeout_ms=config.session_timeout_ms
            + int(config.revocation_grace_seconds * 1000),
            max_poll_records=config.max_poll_records,
            fetch_max_wait_ms=config.fetch_max_wait_ms,
        )
        self._consumer.subscribe(topics=self.consumed_topics, listener=_Rebalance(self))
        try:
            await self._consumer.start()
        except BaseException:
            await self._publisher.stop()
            await producer.stop()
            raise
        self._lanes = Lanes(config.concurrency, self._start)
        self._lanes.start()
        self._fate.leases.start()
        self._task = asyncio.create_task(self._poll(), name=f"hookline-worker-{self.service}")
        self._background = [
            asyncio.create_task(job(), name=f"hookline-{self.service}-{i}")
            for i, job in enumerate(self.spec.background)
        ]
        _freeze_start_up_heap()
        log.info(
            "worker.started",
            service=self.service,
            group=self.group_id,
            topics=self.consumed_topics,
            concurrency=config.concurrency,
        )

    async def _create_topics(self) -> None:
        names = [*self.spec.topics, *self.tiers.topics, self.dlq_topic, self.topics.audit_http]
        try:
            results = await create_topics(self.settings.kafka, self.bootstrap_servers, names)
        except KafkaError as exc:
            log.warning("worker.topics_not_created", error=type(exc).__name__)
            return
        for result in results:
            if not result.ok:
                log.warning("worker.topic_not_created", topic=result.topic, error=result.error)

    async def _emit(self, event: CloudEvent, topic: str) -> None:
        assert self._publisher is not None
        record = to_record(event, topic)
        trail = TRAIL.get()
        audit = trail.take() if trail is not None else None
        if not audit:
            await self._publisher.publish([record])
        else:
            # The handler's provider calls so far are queued first, so they travel in the
            # same round, before the result they led to; an audit write that fails is
            # logged and does not fail the emit.
            written, emitted = await asyncio.gather(
                self._publisher.publish(audit),
                self._publisher.publish([record]),
                return_exceptions=True,
            )
            if isinstance(emitted, BaseException):
                raise emitted
            if isinstance(written, BaseException):
                log.warning("worker.audit_failed", event_id=event.causationid, error=str(written))
        EVENTS_PUBLISHED.labels(topic).inc()
        subject, chain = event.subject, self._chain
        if subject and chain is not None and topic.startswith(self._results_prefix):
            await chain.remember(subject, Link(event.correlationid or event.id, event.id))

    async def publish(self, records: list[Record]) -> None:
        """Write records with this worker's producer (acks=all)."""
        assert self._publisher is not None
        await self._publisher.publish(records)

    # ---- fetching -------------------------------------------------------------------------

    async def _poll(self) -> None:
        consumer = self._consumer
        lanes = self._lanes
        fate = self._fate
        assert consumer is not None and lanes is not None and fate is not None
        max_poll = self.settings.worker.max_poll_records
        next_commit = time.monotonic() + self._commit_interval
        while not self._stopping:
            self.last_turn = time.monotonic()
            if self._outstanding >= self._cap and not self._full:
                # Full: stop asking for records first (aiokafka keeps at most one fetched
                # batch per partition meanwhile); pause the partitions only when it lasts,
                # because pausing throws the fetched batches away.
                self._room.clear()
                try:
                    async with asyncio.timeout(PAUSE_AFTER_SECONDS):
                        await self._room.wait()
                except TimeoutError:
                    self._full = True
                continue
            self._refresh_pauses()
            room = max(1, min(max_poll, self._cap - self._outstanding))
            try:
                batch = await consumer.getmany(timeout_ms=POLL_TIMEOUT_MS, max_records=room)
            except KafkaError as exc:
                log.warning("worker.fetch_failed", service=self.service, error=type(exc).__name__)
                await asyncio.sleep(0.5)
                continue
            self._take(batch)
            self._buffered.set(self._outstanding)
            fate.flush_metrics()
            if time.monotonic() >= next_commit:
                await self._commit(list(self._assigned.values()))
                self._report_lag()
                next_commit = time.monotonic() + self._commit_interval

    def _take(self, batch: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> None:
        """Hand fetched records to the lanes (retry records only once they are due)."""
        consumer, lanes, fate = self._consumer, self._lanes, self._fate
        assert consumer is not None and lanes is not None and fate is not None
        now_ms = time.time() * 1000
        for tp, records in batch.items():
            offsets = self._assigned.get(tp)
            if offsets is None:
                continue
            tier = self.tiers.of_topic(tp.topic)
            if tier is None:
                # Nothing to wait for: the whole fetch is taken at once. Offsets are added
                # before any record can finish (no runner runs until this returns).
                offsets.extend([record.offset for record in records])
                if fate.settles_now:
                    # One runner takes the fetch's records one after another and settles
                    # those whose handler does not wait right there (Lanes, Fate.settle_now).
                    lanes.submit_batch(offsets, records)
                else:
                    submit = lanes.submit
                    for record in records:
                        submit(Work(offsets, record))
                self._outstanding += len(records)
                metrics.CONSUMED.labels(self.service, tp.topic).inc(len(records))
                continue
            taken = 0
            for record in records:
                due = due_ms(record, tier)
                if due > now_ms:
                    # Not due: rewind to it and pause this partition until it is.
                    consumer.seek(tp, record.offset)
                    self._delay(tp, due / 1000)
                    break
                offsets.add(record.offset)
                lanes.submit(Work(offsets, record))
                taken += 1
            if taken:
                self._outstanding += taken
                metrics.CONSUMED.labels(self.service, tp.topic).inc(taken)

    def _delay(self, tp: TopicPartition, due: float) -> None:
        old = self._delayed.pop(tp, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        wait = max(0.0, due - time.time())
        self._delayed[tp] = loop.call_later(wait, self._undelay, tp)
        self._refresh_pauses()

    def _undelay(self, tp: TopicPartition) -> None:
        self._delayed.pop(tp, None)
        self._refresh_pauses()

    def _refresh_pauses(self) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        if self._full and self._outstanding <= self._cap // 2:
            self._full = False
        assigned = consumer.assignment()
        want = set(assigned) if (self._full or self._stopping) else set(self._delayed) & assigned
        current = consumer.paused()
        pause = want - current
        resume = current - want
        if pause:
            consumer.pause(*pause)
        if resume:
            consumer.resume(*resume)
        if pause or resume:
            self._paused.set(len(want))

    # ---- running ------------------------------------------------------------------------------

    def _start(
        self, offsets: PartitionOffsets, record: ConsumerRecord[bytes, bytes]
    ) -> Coroutine[Any, Any, None] | None:
        """Settle the record here when nothing in it waits (the common path: see
        Fate.settle_now); else the coroutine the lane runner awaits to settle it."""
        fate = self._fate
        assert fate is not None
        try:
            begun = fate.settle_now(record)
        except Exception as exc:  # nothing ran that could have an effect: settle starts over
            log.warning("worker.settle_failed", service=self.service, error=repr(exc))
            begun = None
        if not isinstance(begun, str):
            return self._run(offsets, record, begun)
        # Settled without an await: never counted active, so no _progress to signal.
        offsets.finish(record.offset)
        self._outstanding -= 1
        if self._outstanding <= self._half:
            if self._full:
                self._refresh_pauses()
            self._room.set()
        return None

    async def _run(
        self,
        offsets: PartitionOffsets,
        record: ConsumerRecord[bytes, bytes],
        begun: Started | None = None,
    ) -> None:
        fate = self._fate
        assert fate is not None
        offsets.active += 1
        try:
            wait = 0.2
            while True:
                try:
                    if begun is not None:
                        started, begun = begun, None
                        await fate.finish(record, started)
                    else:
                        await fate.settle(record)
                    break
                except Exception as exc:  # the store or Kafka failed, not the handler: try again
                    if offsets.revoked:
                        log.warning(
                            "worker.abandoned", service=self.service, error=type(exc).__name__
                        )
                        return
                    log.exception(
                        "worker.settle_failed",
                        service=self.service,
                        topic=record.topic,
                        partition=record.partition,
                        offset=record.offset,
                        error=type(exc).__name__,
                    )
                    await asyncio.sleep(wait)
                    wait = min(wait * 2, 5.0)
        finally:
            offsets.active -= 1
            self._outstanding -= 1
            self._progress.set()
        offsets.finish(record.offset)
        if self._outstanding <= self._cap // 2:
            if self._full:
                self._refresh_pauses()
            self._room.set()

    # ---- commits and rebalancing ----------------------------------------------------------------

    async def _commit(self, partitions: list[PartitionOffsets]) -> None:
        consumer = self._consumer
        assert consumer is not None
        positions = {}
        for offsets in partitions:
            position = offsets.to_commit()
            if position is not None:
                positions[offsets.tp] = (offsets, position)
        if not positions:
            return
        try:
            await consumer.commit(
                {tp: OffsetAndMetadata(pos, "") for tp, (_, pos) in positions.items()}
            )
        except KafkaError as exc:
            # A rebalance is under way; the revocation handler commits what finished.
            metrics.COMMITS.labels(self.service, "failed").inc()
            log.warning("worker.commit_failed", service=self.service, error=type(exc).__name__)
            return
        for offsets, position in positions.values():
            offsets.committed = position
        metrics.COMMITS.labels(self.service, "ok").inc()

    def _report_lag(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        # Lag from the high watermark of fetch responses: on the embedded broker
        # end_offsets is wrong after batched writes (PLATFORM.md), fetch highwater is right.
        for tp, offsets in self._assigned.items():
            highwater = consumer.highwater(tp)
            position = offsets.position
            if highwater is None or position is None:
                continue
            metrics.LAG.labels(self.service, tp.topic, str(tp.partition)).set(
                max(0, highwater - position)
            )

    def _assign(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            if tp not in self._assigned:
                self._assigned[tp] = PartitionOffsets(tp)
        log.info(
            "worker.assigned",
            service=self.service,
            partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in partitions),
        )

    async def _revoke(self, partitions: list[TopicPartition]) -> None:
        gone = [self._assigned.pop(tp) for tp in partitions if tp in self._assigned]
        for tp in partitions:
            handle = self._delayed.pop(tp, None)
            if handle is not None:
                handle.cancel()
        if not gone:
            return
        await self._release(gone, self._grace if self._stopping else self._revocation_grace)
        log.info(
            "worker.revoked",
            service=self.service,
            partitions=sorted(f"{o.tp.topic}:{o.tp.partition}" for o in gone),
        )

    async def _release(self, gone: list[PartitionOffsets], grace: float) -> None:
        """Stop work on these partitions: drop what has not started, let running work finish
        within ``grace``, commit what finished. Work still running after that is abandoned:
        its offsets are not committed, so the next owner gets those records again (and the
        idempotency lease keeps it from running them in parallel)."""
        assert self._lanes is not None
        self._outstanding -= self._lanes.drop(gone)
        deadline = time.monotonic() + grace
        while any(o.active for o in gone):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._progress.wait()
        await self._commit(gone)
        for offsets in gone:
            offsets.revoked = True
            if offsets.active:
                log.warning(
                    "worker.in_flight_abandoned",
                    service=self.service,
                    topic=offsets.tp.topic,
                    partition=offsets.tp.partition,
                    running=offsets.active,
                )

    # ---- stopping -------------------------------------------------------------------------------

    async def stop(self) -> None:
        """Stop fetching, finish in-flight work within the grace period, commit, leave the group."""
        if self._task is None:
            return
        self._stopping = True
        task, self._task = self._task, None
        try:
            await task
        except Exception:
            log.exception("worker.fetch_loop_failed", service=self.service)
        self._refresh_pauses()
        gone = list(self._assigned.values())
        self._assigned.clear()
        for handle in self._delayed.values():
            handle.cancel()
        self._delayed.clear()
        await self._release(gone, self._grace)
        assert self._lanes is not None and self._consumer is not None
        await self._lanes.close()
        if self._fate is not None:
            self._fate.flush_metrics()
            await self._fate.leases.stop()
        await self._consumer.stop()
        if self._publisher is not None:
            await self._publisher.stop()
            if self._publisher.producer is not None:
                await self._publisher.producer.stop()
        if self._store is not None and self._owns_store:
            await self._store.close()
        if self._chain is not None:
            await self._chain.close()
            self._chain = None
        await self._stop_background()
        if self.spec.close is not None:
            await self.spec.close()
        log.info("worker.stopped", service=self.service)

    async def _stop_background(self) -> None:
        jobs, self._background = self._background, []
        for job in jobs:
            job.cancel()
        for job in jobs:
            try:
                await job
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("worker.background_job_failed", service=self.service)

    def problem(self, stall_seconds: float) -> str | None:
        """Why this worker is not alive, or None: its fetch loop ended or stopped turning."""
        task = self._task
        if task is None:
            return "not running"
        if task.done():
            return "fetch loop ended"
        stalled = time.monotonic() - self.last_turn
        if stalled > stall_seconds:
            return f"fetch loop has not turned for {stalled:.0f}s"
        return None

    async def wait(self) -> None:
        """Return when the fetch loop ends (after :meth:`stop`, or when it failed)."""
        if self._task is not None:
            await asyncio.shield(self._task)
