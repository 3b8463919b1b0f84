"""Reconciliation metrics: open entities by provider and age, reconciled events, stale entities."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from hookline.observability.metrics import REGISTRY
from hookline.providers.reconcile import AGE_BUCKETS, age_bucket

__all__ = ["AGE_BUCKETS", "CHECKS", "EVENTS", "OPEN", "STALE", "age_bucket"]

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
