"""Open entities and what reconciliation did, for the operator (docs/reconcile.md).

``GET /admin/reconcile/open`` and the console's Reconciliation page read the
same open-entity store as the ``reconcile`` worker and this process's
reconciliation counters (``hookline_reconcile_*``; present only where the
worker runs in this process, as under ``hookline run``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from redis.exceptions import RedisError

from hookline.errors import HooklineError
from hookline.observability.metrics import REGISTRY
from hookline.providers.reconcile import AGE_BUCKETS, Entity, age_bucket
from hookline.worker.open_entities import OpenStore

__all__ = [
    "AGE_BUCKETS",
    "Counters",
    "OpenEntities",
    "OpenRow",
    "StoreUnavailable",
    "age_bucket",
    "counters",
    "open_entities",
]

# At most this many entities in one answer, oldest first (the counts cover all).
LIMIT = 500

_EVENTS = "hookline_reconcile_events_total"
_STALE = "hookline_reconcile_stale_total"
_CHECKS = "hookline_reconcile_checks_total"


class StoreUnavailable(HooklineError):
    """The open-entity store did not answer (Redis away, a file not readable)."""


@dataclass(frozen=True)
class OpenRow:
    """One open entity as shown: ages in seconds at the time of the answer."""

    provider: str
    kind: str
    entity_id: str
    subject: str
    status: str
    opened_at: float
    age_seconds: float
    quiet_seconds: float
    checks: int
    # Seconds since the provider last answered "no change" (None: never asked).
    checked_seconds_ago: float | None = None

    def as_dict(self) -> dict[str, Any]:
        row = asdict(self)
        del row["opened_at"]
        return row


@dataclass
class OpenEntities:
    """Every open entity counted by provider and age bucket; the oldest listed."""

    total: int
    by_provider: dict[str, int]
    by_age: dict[str, dict[str, int]]  # provider -> bucket -> count (every bucket present)
    entities: list[OpenRow]  # oldest first, of the chosen provider, at most ``limit``
    matching: int  # how many the listed ones were chosen from

    def as_dict(self) -> dict[str, Any]:
        return {
            "open": self.total,
            "by_provider": self.by_provider,
            "by_age": self.by_age,
            "entities": [row.as_dict() for row in self.entities],
        }


def _row(entity: Entity, now: float) -> OpenRow:
    return OpenRow(
        provider=entity.provider,
        kind=entity.kind,
        entity_id=entity.entity_id,
        subject=entity.subject,
        status=entity.status,
        opened_at=entity.opened_at,
        age_seconds=round(now - entity.opened_at, 1),
        quiet_seconds=round(now - entity.last_news_at, 1),
        checks=entity.checks,
        checked_seconds_ago=round(now - entity.checked_at, 1) if entity.checked_at else None,
    )


def summarize(
    entities: Iterable[Entity], now: float, provider: str | None = None, limit: int = LIMIT
) -> OpenEntities:
    everything = list(entities)
    by_provider: dict[str, int] = {}
    by_age: dict[str, dict[str, int]] = {}
    for entity in everything:
        by_provider[entity.provider] = by_provider.get(entity.provider, 0) + 1
        buckets = by_age.setdefault(entity.provider, {name: 0 for name, _ in AGE_BUCKETS})
        buckets[age_bucket(now - entity.opened_at)] += 1
    chosen = sorted(
        (e for e in everything if provider is None or e.provider == provider),
        key=lambda e: (e.opened_at, e.key),
    )
    return OpenEntities(
        total=len(everything),
        by_provider=dict(sorted(by_provider.items())),
        by_age=dict(sorted(by_age.items())),
        entities=[_row(e, now) for e in chosen[:limit]],
        matching=len(chosen),
    )


async def open_entities(
    store: OpenStore, now: float, provider: str | None = None, limit: int = LIMIT
) -> OpenEntities:
    """What the store holds open; :class:`StoreUnavailable` when it does not answer."""
    try:
        entities = await store.all()
    except (RedisError, OSError, sqlite3.Error) as exc:
        raise StoreUnavailable(
            f"The open-entity store is unreachable ({type(exc).__name__})"
        ) from exc
    return summarize(entities, now, provider, limit)


@dataclass
class Counters:
    """This process's reconciliation counters since it started, per provider."""

    events: dict[str, dict[str, int]] = field(default_factory=dict)  # published, duplicate
    stale: dict[str, int] = field(default_factory=dict)
    checks: dict[str, dict[str, int]] = field(default_factory=dict)  # changed, unchanged, ...

    def providers(self) -> list[str]:
        return sorted({*self.events, *self.stale, *self.checks})

    def totals(self) -> dict[str, int]:
        """Over every provider: reconciled events published and duplicate, stale entities."""
        return {
            "published": sum(e.get("published", 0) for e in self.events.values()),
            "duplicate": sum(e.get("duplicate", 0) for e in self.events.values()),
            "stale": sum(self.stale.values()),
        }


def counters() -> Counters | None:
    """The ``hookline_reconcile_*`` counters of this process; None when no reconcile worker
    was ever loaded here (a separate ``hookline serve``: its counters live in the worker)."""
    found = Counters()
    registered = False
    for metric in REGISTRY.collect():
        # A counter's family drops "_total"; its samples keep it.
        if metric.name + "_total" not in (_EVENTS, _STALE, _CHECKS):
            continue
        registered = True
        for sample in metric.samples:
            if sample.name == _STALE:
                provider = sample.labels["provider"]
                found.stale[provider] = found.stale.get(provider, 0) + int(sample.value)
            elif sample.name in (_EVENTS, _CHECKS):
                table = found.events if sample.name == _EVENTS else found.checks
                outcomes = table.setdefault(sample.labels["provider"], {})
                outcome = sample.labels["outcome"]
                outcomes[outcome] = outcomes.get(outcome, 0) + int(sample.value)
    return found if registered else None
