"""Reconciliation metrics: open entities by provider and age, reconciled events, stale entities."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from hookline.observability.metrics import REGISTRY

# Age buckets of open entities (seconds since they started), upper bounds.
AGE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("5m", 300.0),
    ("1h", 3600.0),
    ("1d", 86_400.0),
    ("older", float("inf")),
)

OPEN = Gauge(
    "hookline_reconcile_open_entities",
    "Entities started and not seen finish, by provider and age bucket (at the last pass).",
    ["provider", "age"],
    registry=REGISTRY,
)
EVENTS = Counter(
    "hookline_reconcile_events_total",
    "State changes found through a status API: published, or duplicate (the callback came first).",
    ["provider", "outcome"],
    registry=REGISTRY,
)
STALE = Counter(
    "hookline_reconcile_stale_total",
    "Entities still open after give_up_after_seconds (a *.stale event each).",
    ["provider"],
    registry=REGISTRY,
)
CHECKS = Counter(
    "hookline_reconcile_checks_total",
    "Status calls by provider and outcome (changed, unchanged, error, skipped).",
    ["provider", "outcome"],
    registry=REGISTRY,
)


def age_bucket(age: float) -> str:
    return next(name for name, bound in AGE_BUCKETS if age <= bound)
