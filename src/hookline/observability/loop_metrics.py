"""Counters and histograms for the hottest paths, updated without locks.

prometheus_client guards every value with a lock and files a histogram
observation by walking its buckets in Python; the four updates the ingress
makes per request cost ~4 us (measured in-process: 23.6 → 19.8 us per request
with them stubbed), ~6 % of a request. hookline updates its metrics only from
its event loop's thread (it starts no threads), so plain additions are exact.
The values are exposed through the same registry as ordinary counter and
histogram families, with prometheus_client's names and bucket labels.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, TypeVar

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

# prometheus_client's own bucket label format (untyped upstream).
_le: Callable[[float], str] = floatToGoString


_Child = TypeVar("_Child")


class CounterChild:
    __slots__ = ("created", "value")

    def __init__(self) -> None:
        self.value = 0.0
        self.created = time.time()

    def inc(self, amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError("Counters can only be incremented by non-negative amounts.")
        self.value += amount


class HistogramChild:
    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # per bucket, not cumulative; the last is +Inf
        self.sum = 0.0

    def observe(self, amount: float) -> None:
        # A value equal to a bound belongs to that bucket (le), as in prometheus_client.
        self.counts[bisect_left(self.bounds, amount)] += 1
        self.sum += amount


class _Family(Collector, Generic[_Child]):
    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        registry: CollectorRegistry,
        child: Callable[[], _Child],
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._child = child
        self._children: dict[tuple[str, ...], _Child] = {}
        registry.register(self)

    def labels(self, *values: object) -> _Child:
        if len(values) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {values!r}")
        key = tuple(str(v) for v in values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._child()
        return child


class LoopCounter(_Family[CounterChild]):
    """A labelled counter: ``labels(*values).inc(n)``."""

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], registry: CollectorRegistry
    ) -> None:
        super().__init__(
            name.removesuffix("_total"), documentation, labelnames, registry, CounterChild
        )

    def describe(self) -> Iterable[CounterMetricFamily]:
        yield CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)

    def collect(self) -> Iterable[CounterMetricFamily]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for key, child in list(self._children.items()):
            family.add_metric(key, child.value, created=child.created)
        yield family


class LoopHistogram(_Family[HistogramChild]):
    """A labelled histogram with fixed buckets: ``labels(*values).observe(x)``."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        registry: CollectorRegistry,
        buckets: Sequence[float],
    ) -> None:
        bounds = tuple(sorted(float(b) for b in buckets if b != float("inf")))
        if not bounds:
            raise ValueError("a histogram needs at least one finite bucket")
        self._bounds = bounds
        super().__init__(
            name, documentation, labelnames, registry, lambda: HistogramChild(bounds)
        )

    def describe(self) -> Iterable[HistogramMetricFamily]:
        yield HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)

    def collect(self) -> Iterable[HistogramMetricFamily]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        names = [_le(b) for b in self._bounds] + ["+Inf"]
        for key, child in list(self._children.items()):
            total, buckets = 0, []
            for name, count in zip(names, list(child.counts), strict=True):
                total += count
                buckets.append((name, float(total)))
            family.add_metric(key, buckets, child.sum)
        yield family
