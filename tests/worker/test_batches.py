"""A fetch's records settled on one runner without a hop per record (Lanes batches,
Fate.settle_now): the slow path's guarantees hold on the fast path too."""

from __future__ import annotations

import asyncio
import contextvars
import gc
from collections import defaultdict

from hookline.bus.topics import Topics
from hookline.envelope import CloudEvent
from hookline.errors import RetryableError
from hookline.worker.handlers import HandlerContext, HandlerRegistry
from hookline.worker.registry import WorkerSpec
from hookline.worker.runtime import Worker
from tests.worker.support import (
    EFFECT,
    SERVICE,
    command,
    committed,
    eventually,
    produce,
    worker_settings,
)

KEYS = [f"k{i}" for i in range(6)]
PER_KEY = 40


async def _all_committed(broker, worker: Worker, topic: str, ends: dict[int, int]) -> bool:
    offsets = await committed(broker.bootstrap_servers, worker.group_id, topic, 3)
    return all(offsets.get(p, 0) == end for p, end in ends.items())


async def test_a_record_failing_amid_a_settled_fetch_is_retried_before_its_key_goes_on(broker):
    """Handlers that return at once (the fast path) with one failing in the middle: that one
    is retried in place, the records after it on its key wait for it, other keys do not."""
    settings = worker_settings(
        broker.bootstrap_servers, concurrency=4, inline_retries=3, inline_backoff_ms=300
    )
    topic = Topics(settings.kafka.topic_prefix).commands(SERVICE)
    calls: list[tuple[str, int]] = []
    done: dict[str, list[int]] = defaultdict(list)
    failed_once: set[str] = set()
    failing = {(KEYS[0], 5), (KEYS[3], 17)}

    async def handler(event: CloudEvent, ctx: HandlerContext) -> None:
        key, seq = event.subject or "", event.data["seq"]
        calls.append((key, seq))
        if (key, seq) in failing and key not in failed_once:
            failed_once.add(key)
            raise RetryableError("once")
        done[key].append(seq)

    spec = WorkerSpec(SERVICE, [topic], HandlerRegistry({EFFECT: handler}))
    worker = Worker(settings, spec)
    events = [command(key, seq) for seq in range(PER_KEY) for key in KEYS]
    await worker.start()
    try:
        ends = await produce(broker.bootstrap_servers, topic, events)
        await eventually(lambda: sum(map(len, done.values())) == len(events))
        await eventually(lambda: _all_committed(broker, worker, topic, ends))
    finally:
        await worker.stop()
    # Every key's records took effect in offset order, the failed one once it succeeded.
    assert {key: done[key] for key in KEYS} == {key: list(range(PER_KEY)) for key in KEYS}
    for key, seq in failing:
        mine = [s for k, s in calls if k == key]
        assert mine == [*range(seq + 1), seq, *range(seq + 1, PER_KEY)]
    # The retry waited 300 ms; the other keys went on meanwhile (they did not queue behind
    # the failed record on the runner that had the batch).
    first_fail = calls.index((KEYS[0], 5))
    retry = calls.index((KEYS[0], 5), first_fail + 1)
    others = {k for k, _ in calls[first_fail + 1 : retry]}
    assert others - {KEYS[0]}, "other keys waited for the failing record's retry"


async def test_waiting_handlers_amid_a_batch_keep_order_task_context_and_concurrency(broker):
    """Some handlers wait, most return at once: each handler runs in one task from start to
    end with what it set in its context, per key in offset order, at most `concurrency`
    at a time."""
    concurrency = 3
    settings = worker_settings(broker.bootstrap_servers, concurrency=concurrency)
    topic = Topics(settings.kafka.topic_prefix).commands(SERVICE)
    done: dict[str, list[int]] = defaultdict(list)
    mine: contextvars.ContextVar[int] = contextvars.ContextVar("mine")
    running = most = 0
    broken: list[str] = []

    async def handler(event: CloudEvent, ctx: HandlerContext) -> None:
        nonlocal running, most
        seq = event.data["seq"]
        running += 1
        most = max(most, running)
        try:
            task = asyncio.current_task()
            mine.set(seq)
            if seq % 4 == 1:
                await asyncio.sleep(0.003 * (seq % 3))
            if asyncio.current_task() is not task:
                broken.append(f"{event.subject}/{seq} moved to another task")
            if mine.get(None) != seq:
                broken.append(f"{event.subject}/{seq} lost its context")
            done[event.subject or ""].append(seq)
        finally:
            running -= 1

    spec = WorkerSpec(SERVICE, [topic], HandlerRegistry({EFFECT: handler}))
    worker = Worker(settings, spec)
    events = [command(key, seq) for seq in range(PER_KEY) for key in KEYS]
    await worker.start()
    try:
        ends = await produce(broker.bootstrap_servers, topic, events)
        await eventually(lambda: sum(map(len, done.values())) == len(events))
        await eventually(lambda: _all_committed(broker, worker, topic, ends))
    finally:
        await worker.stop()
    assert broken == []
    assert {key: done[key] for key in KEYS} == {key: list(range(PER_KEY)) for key in KEYS}
    assert 1 < most <= concurrency
    # A started worker froze the start-up heap: full collections no longer walk it.
    assert gc.get_freeze_count() > 0


async def test_a_copy_of_a_running_command_waits_for_its_lease_and_is_not_run_again(broker):
    """The fast path writes no lease for a handler that finishes without waiting; one that
    waits holds it, so a copy of the same command (another key, so another lane) in the same
    fetches neither runs beside it nor after it."""
    settings = worker_settings(broker.bootstrap_servers, concurrency=8)
    topic = Topics(settings.kafka.topic_prefix).commands(SERVICE)
    runs: list[str] = []
    running: set[str] = set()
    overlapped: list[str] = []

    async def handler(event: CloudEvent, ctx: HandlerContext) -> None:
        if event.id in running:
            overlapped.append(event.id)
        running.add(event.id)
        try:
            await asyncio.sleep(0.2)
            runs.append(event.id)
        finally:
            running.discard(event.id)

    spec = WorkerSpec(SERVICE, [topic], HandlerRegistry({EFFECT: handler}))
    worker = Worker(settings, spec)
    originals = [command(f"orig-{i}", i) for i in range(20)]
    copies = [event.model_copy(update={"subject": f"copy-{i}", "partitionkey": f"copy-{i}"})
              for i, event in enumerate(originals)]  # fmt: skip
    await worker.start()
    try:
        ends = await produce(broker.bootstrap_servers, topic, originals + copies)
        await eventually(lambda: _all_committed(broker, worker, topic, ends))
    finally:
        await worker.stop()
    assert overlapped == []
    assert sorted(runs) == sorted(event.id for event in originals)
