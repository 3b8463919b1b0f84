"""Lock-free metrics expose exactly what prometheus_client's own would for the same updates."""

from __future__ import annotations

import random

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram

from hookline.observability.loop_metrics import LoopCounter, LoopHistogram

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.1, 1.0)


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in registry.collect()
        for s in family.samples
        if not s.name.endswith("_created")
    }


def test_counter_and_histogram_match_prometheus_client() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    counter = LoopCounter("t_requests_total", "Requests.", ["source", "outcome"], registry=ours)
    reference_counter = Counter(
        "t_requests_total", "Requests.", ["source", "outcome"], registry=theirs
    )
    histogram = LoopHistogram(
        "t_latency_seconds", "Latency.", ["source"], registry=ours, buckets=BUCKETS
    )
    reference_histogram = Histogram(
        "t_latency_seconds", "Latency.", ["source"], registry=theirs, buckets=BUCKETS
    )
    rng = random.Random(7)
    values = [
        *BUCKETS,
        0.0,
        5.0,
        *(rng.uniform(0, 0.2) for _ in range(500)),
    ]  # bounds themselves included
    for i, value in enumerate(values):
        source = "ab"[i % 2]
        histogram.labels(source).observe(value)
        reference_histogram.labels(source).observe(value)
        counter.labels(source, "accepted" if value < 0.1 else "error").inc()
        reference_counter.labels(source, "accepted" if value < 0.1 else "error").inc()
    counter.labels("a", "accepted").inc(2.5)
    reference_counter.labels("a", "accepted").inc(2.5)
    ours_samples, theirs_samples = samples(ours), samples(theirs)
    assert ours_samples.keys() == theirs_samples.keys()
    for key, value in theirs_samples.items():
        assert ours_samples[key] == pytest.approx(value), key


def test_bad_use_is_refused() -> None:
    registry = CollectorRegistry()
    counter = LoopCounter("t_total", "T.", ["a"], registry=registry)
    with pytest.raises(ValueError, match="non-negative"):
        counter.labels("x").inc(-1)
    with pytest.raises(ValueError, match="takes labels"):
        counter.labels("x", "y")
    with pytest.raises(ValueError, match="finite bucket"):
        LoopHistogram("t_seconds", "T.", ["a"], registry=registry, buckets=[float("inf")])
