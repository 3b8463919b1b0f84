"""Loop metrics after share(): values before and after, other processes' series, gauge modes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# Run in a fresh interpreter: share() switches the whole process, which must not leak into the suite.
SCRIPT = r"""
import json, os, sys
from pathlib import Path
from prometheus_client import CollectorRegistry
from hookline.observability.cells import CellWriter
from hookline.observability.loop_metrics import LoopCounter, LoopGauge, LoopHistogram, share

directory = Path(sys.argv[1])
registry = CollectorRegistry()
counter = LoopCounter("t_requests_total", "R.", ["source"], registry=registry)
histogram = LoopHistogram("t_seconds", "S.", ["source"], registry=registry, buckets=[0.1, 1.0])
latest = LoopGauge("t_last_seconds", "L.", ["source"], registry=registry)
ready = LoopGauge("t_ready", "U.", [], registry=registry, across_processes="min_live")
held = counter.labels("a")
held.inc(2)                      # before share(): migrated into the shared cells
histogram.labels("a").observe(0.05)
share(directory)
held.inc(3)                      # a reference taken before share() keeps counting
counter.labels("b").inc()
histogram.labels("a").observe(0.5)
latest.labels("a").set(100.0)
ready.set(1.0)
# An exited process (pid 2**22 + 7 is never used) that counted and set gauges too.
gone = CellWriter(directory, pid=2**22 + 7)
cells, at = gone.allocate("t_requests", ("a",), 1, 0.0)
cells[at] = 10
cells, at = gone.allocate("t_seconds", ("a",), 4, 0.0)
cells[at + 2], cells[at + 3] = 1, 7.0      # one observation above 1.0, sum 7
cells, at = gone.allocate("t_last_seconds", ("a",), 1, 0.0)
cells[at] = 250.0
cells, at = gone.allocate("t_ready", (), 1, 0.0)
cells[at] = 0.0
# A running process (the test's own) whose readiness gauge reads 0.5.
running = CellWriter(directory, pid=os.getppid())
cells, at = running.allocate("t_ready", (), 1, 0.0)
cells[at] = 0.5
print(json.dumps({
    f"{s.name}{json.dumps(s.labels, sort_keys=True)}": s.value
    for family in registry.collect() for s in family.samples if not s.name.endswith("_created")
}))
"""


def test_shared_families_sum_counters_and_histograms_and_pick_gauges(tmp_path: Path) -> None:
    """Counts from before share(), from held children and from an exited process add up; a
    timestamp gauge takes the maximum over every process, a readiness gauge the minimum over live ones."""
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, check=True
    )
    samples = json.loads(result.stdout)
    assert samples['t_requests_total{"source": "a"}'] == 15
    assert samples['t_requests_total{"source": "b"}'] == 1
    assert samples['t_seconds_bucket{"le": "0.1", "source": "a"}'] == 1
    assert samples['t_seconds_bucket{"le": "1.0", "source": "a"}'] == 2
    assert samples['t_seconds_bucket{"le": "+Inf", "source": "a"}'] == 3
    assert samples['t_seconds_count{"source": "a"}'] == 3
    assert samples['t_seconds_sum{"source": "a"}'] == 7.55
    assert samples['t_last_seconds{"source": "a"}'] == 250.0
    assert samples["t_ready{}"] == 0.5


def test_every_ingress_metric_is_shared_across_serve_processes() -> None:
    """Each metric family the ingress owns is a loop family, so `serve --workers N` adds it up."""
    import hookline.ingress.app  # noqa: F401  (registers everything the ingress process exports)
    from hookline.observability.loop_metrics import LoopCounter, LoopGauge, LoopHistogram
    from hookline.observability.metrics import REGISTRY

    # prometheus_client keeps name → collector privately; no public listing exists.
    collectors = REGISTRY._names_to_collectors
    owned = {
        name: collector
        for name, collector in collectors.items()
        if name.startswith(("hookline_ingress_", "hookline_events_", "hookline_kafka_"))
    }
    assert "hookline_ingress_requests" in owned
    not_shared = sorted(
        name
        for name, collector in owned.items()
        if not isinstance(collector, LoopCounter | LoopGauge | LoopHistogram)
    )
    assert not not_shared, f"per-process only under serve --workers N: {not_shared}"
