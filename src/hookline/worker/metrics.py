"""Worker metrics, in the process-wide registry (observability.metrics.REGISTRY)."""

from __future__ import annotations

from bisect import bisect_left

from prometheus_client import Counter, Gauge, Histogram

from hookline.observability.metrics import REGISTRY

OUTCOMES = ("handled", "duplicate", "skipped", "retried", "dead_lettered")

CONSUMED = Counter(
    "hookline_worker_records_consumed_total",
    "Records fetched by a worker, by service and topic.",
    ["service", "topic"],
    registry=REGISTRY,
)
FINISHED = Counter(
    "hookline_worker_records_total",
    "Records finished, by service and outcome: handled, duplicate (already done, handler "
    "not called), skipped (no handler for the type), retried (parked on a retry tier), "
    "dead_lettered.",
    ["service", "outcome"],
    registry=REGISTRY,
)
RETRIED = Counter(
    "hookline_worker_retries_total",
    "Records parked on a retry tier, by service and tier.",
    ["service", "tier"],
    registry=REGISTRY,
)
INLINE_RETRIES = Counter(
    "hookline_worker_inline_retries_total",
    "Handler attempts repeated in place after a retryable failure.",
    ["service"],
    registry=REGISTRY,
)
DEAD_LETTERED = Counter(
    "hookline_worker_dead_letters_total",
    "Records written to the dead-letter topic, by service and reason.",
    ["service", "reason"],
    registry=REGISTRY,
)
HANDLER_SECONDS = Histogram(
    "hookline_worker_handler_seconds",
    "Handler latency per attempt, by service and outcome.",
    ["service", "outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
IN_FLIGHT = Gauge(
    "hookline_worker_in_flight",
    "Handlers running now, by service.",
    ["service"],
    registry=REGISTRY,
)
BUFFERED = Gauge(
    "hookline_worker_buffered_records",
    "Records fetched but not finished, by service.",
    ["service"],
    registry=REGISTRY,
)
LAG = Gauge(
    "hookline_worker_consumer_lag",
    "Records behind the partition's high watermark (from fetch responses) not yet committed.",
    ["service", "topic", "partition"],
    registry=REGISTRY,
)
COMMITS = Counter(
    "hookline_worker_commits_total",
    "Offset commits, by service and result.",
    ["service", "result"],
    registry=REGISTRY,
)
LAST_TURN = Gauge(
    "hookline_worker_last_turn_timestamp_seconds",
    "Unix time the worker's fetch loop last began a turn (it turns at least every poll "
    "timeout, so an old value means a stalled loop).",
    ["service"],
    registry=REGISTRY,
)
PAUSED = Gauge(
    "hookline_worker_paused_partitions",
    "Partitions paused for back-pressure or waiting retry records.",
    ["service"],
    registry=REGISTRY,
)


class BatchedHistogram:
    """Observations counted locally and added to one histogram child on :meth:`flush`.

    ``Histogram.observe`` takes a lock and walks the buckets on every call, a visible
    share of the per-record cost; the runtime flushes once per fetch loop turn, so the
    exported histogram lags by at most that long. It relies on prometheus_client's
    ``_upper_bounds``/``_buckets``/``_sum`` (unchanged for years)."""

    __slots__ = ("_bounds", "_child", "_counts", "_sum")

    def __init__(self, child: Histogram) -> None:
        self._child = child
        self._bounds = list(child._upper_bounds)
        self._counts = [0] * len(self._bounds)
        self._sum = 0.0

    def observe(self, amount: float) -> None:
        # The first bucket whose upper bound is >= amount, as Histogram.observe does.
        self._counts[bisect_left(self._bounds, amount)] += 1
        self._sum += amount

    def flush(self) -> None:
        counts = self._counts
        if not any(counts):
            return
        buckets = self._child._buckets
        for i, count in enumerate(counts):
            if count:
                buckets[i].inc(count)
                counts[i] = 0
        self._child._sum.inc(self._sum)
        self._sum = 0.0
