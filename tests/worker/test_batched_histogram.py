"""The batched handler-latency histogram exports exactly what per-call observe would."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram

from hookline.worker.metrics import BatchedHistogram

BUCKETS = (0.001, 0.01, 0.1)
VALUES = (0.0005, 0.001, 0.002, 0.01, 0.05, 0.5, 3.0)


def _samples(registry: CollectorRegistry, name: str) -> dict[tuple[str, str], float]:
    return {
        (s.name.removeprefix(name), s.labels.get("le", "")): s.value
        for metric in registry.collect()
        if metric.name == name
        for s in metric.samples
        if not s.name.endswith("_created")
    }


def test_flush_matches_observe_bucket_for_bucket() -> None:
    """After flush the buckets, count and sum equal those of direct observe calls."""
    registry = CollectorRegistry()
    direct = Histogram("direct", "d", ["x"], buckets=BUCKETS, registry=registry)
    batched = Histogram("batched", "b", ["x"], buckets=BUCKETS, registry=registry)
    local = BatchedHistogram(batched.labels("1"))
    for value in VALUES:
        direct.labels("1").observe(value)
        local.observe(value)
    assert _samples(registry, "batched")[("_count", "")] == 0
    local.flush()
    assert _samples(registry, "batched") == _samples(registry, "direct")
    local.flush()  # nothing new: flushing again adds nothing
    assert _samples(registry, "batched") == _samples(registry, "direct")
