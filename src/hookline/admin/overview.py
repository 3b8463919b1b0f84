"""The overview: per source, what arrived and what was refused over 5 min, 1 h and 24 h;
consumer lag per worker, dead letters per service, breakers (docs/console.md#overview).

Accepted events are counted from the event topics and rejections from the
rejected-requests topic (both survive a restart and count every replica);
duplicates are never written, so they come from this ingress process's tally.
Lag comes from the workers' gauges when they run in this process
(``hookline run``), and is unknown otherwise.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hookline.admin import dead_letters
from hookline.admin.events import Found, scan
from hookline.admin.operations import breakers
from hookline.admin.rejected import UNKNOWN_SOURCE, Rejection, recent_rejections
from hookline.admin.tally import OutcomeTally
from hookline.config.models import HooklineSettings
from hookline.envelope import source_uri
from hookline.http.breaker import Snapshot
from hookline.http.registry import BreakerRegistry
from hookline.observability.metrics import REGISTRY

# (label, seconds, bars): the three windows the charts show.
WINDOWS = (("5 min", 300, 10), ("1 h", 3600, 12), ("24 h", 86_400, 24))
_LAG_METRIC = "hookline_worker_consumer_lag"


@dataclass
class Window:
    label: str
    seconds: int
    accepted: list[int]
    duplicate: list[int]
    rejected: list[int]
    reasons: dict[str, int] = field(default_factory=dict)

    def totals(self) -> dict[str, int]:
        return {
            "accepted": sum(self.accepted),
            "duplicate": sum(self.duplicate),
            "rejected": sum(self.rejected),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "seconds": self.seconds,
            **self.totals(),
            "reasons": self.reasons,
            "series": {
                "accepted": self.accepted,
                "duplicate": self.duplicate,
                "rejected": self.rejected,
            },
        }


@dataclass
class Overview:
    sources: dict[str, list[Window]]
    lag: dict[str, int] | None
    dead_letters: dict[str, dict[str, int]]
    breakers: list[Snapshot]

    def as_dict(self) -> dict[str, Any]:
        return {
            "sources": {name: [w.as_dict() for w in ws] for name, ws in self.sources.items()},
            "consumer_lag": self.lag,
            "dead_letters": self.dead_letters,
            "breakers": [b.as_dict() for b in self.breakers],
        }


def _bucket(age: float, seconds: int, bars: int) -> int | None:
    """The bar an age falls in (oldest first); a clock a little ahead counts as newest."""
    if age >= seconds:
        return None
    return bars - 1 - int(max(age, 0) // (seconds / bars))


def windows_for(
    name: str,
    accepted_ms: list[int],
    rejected: list[Rejection],
    tally: OutcomeTally | None,
    now: float,
) -> list[Window]:
    """The three windows of one source from its events' and rejections' times."""
    rejected_at = [(datetime.fromisoformat(r.time).timestamp(), r.reason) for r in rejected]
    result = []
    for label, seconds, bars in WINDOWS:
        window = Window(label, seconds, [0] * bars, [0] * bars, [0] * bars)
        for ms in accepted_ms:
            index = _bucket(now - ms / 1000, seconds, bars)
            if index is not None:
                window.accepted[index] += 1
        for at, reason in rejected_at:
            index = _bucket(now - at, seconds, bars)
            if index is not None:
                window.rejected[index] += 1
                window.reasons[reason] = window.reasons.get(reason, 0) + 1
        if tally is not None:
            window.duplicate = tally.series(seconds, bars, now).get(
                (name, "duplicate"), window.duplicate
            )
        result.append(window)
    return result


def consumer_lag() -> dict[str, int] | None:
    """Records not yet committed per worker service, from this process's gauges (None: no worker here)."""
    lag: dict[str, int] = {}
    for metric in REGISTRY.collect():
        if metric.name != _LAG_METRIC:
            continue
        for sample in metric.samples:
            service = sample.labels.get("service", "?")
            lag[service] = lag.get(service, 0) + int(sample.value)
    return lag or None


def _accepted_by_source(settings: HooklineSettings, found: list[Found]) -> dict[str, list[int]]:
    uris = {source_uri(name): name for name in settings.sources}
    by_source: dict[str, list[int]] = {name: [] for name in settings.sources}
    for record in found:
        name = uris.get(record.attribute("source") or "")
        if name is not None:
            by_source[name].append(record.timestamp)
    return by_source


async def overview(
    settings: HooklineSettings,
    servers: str,
    registry: BreakerRegistry,
    tally: OutcomeTally | None,
    now: float,
) -> Overview:
    """Everything the overview page shows, read concurrently."""
    found, rejected, letters, snapshots = await asyncio.gather(
        scan(settings, servers, "events"),
        recent_rejections(settings, servers, per_source=1000),
        dead_letters.letters(settings, servers),
        breakers(settings, registry),
    )
    accepted = _accepted_by_source(settings, found)
    names = [
        *settings.sources,
        *([UNKNOWN_SOURCE] if any(r.source == UNKNOWN_SOURCE for r in rejected) else []),
    ]
    per_source = {
        name: windows_for(
            name, accepted.get(name, []), [r for r in rejected if r.source == name], tally, now
        )
        for name in names
    }
    dead: dict[str, dict[str, int]] = {}
    for entry in letters:
        counts = dead.setdefault(entry.letter.service, {"waiting": 0, "replayed": 0})
        counts["replayed" if entry.mark else "waiting"] += 1
    return Overview(per_source, consumer_lag(), dead, snapshots)
