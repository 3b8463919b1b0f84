"""One delivery's whole chain, read back from Kafka: ``hookline trace ID``.

Every record hookline writes carries ``correlationid`` (the delivery it
belongs to) and ``causationid`` (what directly caused it; schemas/README.md).
A trace finds the record an id names (an event or command id, a provider
event id, a request id, a command id in ``data``), takes its correlation id,
gathers every record with it from the events, commands, retry, dead-letter and
``audit.http`` topics, and hangs each under its cause:

    webhook event → command → HTTP call (audit record) / result event
    → callback (a webhook event caused by the result) → command → …

A retried or dead-lettered record keeps its command's id and value, so it
hangs under that command with its reason. Reading is bounded as every admin
view is (:mod:`.reading`), then by time (``since``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hookline.admin.reading import DEFAULT_TAIL, Stored, read_tail
from hookline.bus.admin import list_topics
from hookline.bus.topics import Topics
from hookline.config.models import HooklineSettings
from hookline.worker.parking import H_ERROR_CLASS, H_ERROR_MESSAGE, H_REASON, H_RETRY_TIER

__all__ = ["Hop", "Trace", "find", "kind_of", "line", "read_records", "trace_topics"]

WEBHOOK, EVENT, COMMAND, HTTP, RETRY, DEAD_LETTER = (
    "webhook",
    "event",
    "command",
    "http",
    "retry",
    "dead letter",
)
_INGRESS_SOURCE = "/hookline/sources/"


@dataclass
class Hop:
    """One record of the chain and the records it caused."""

    envelope: dict[str, Any]
    stored: Stored
    kind: str
    children: list[Hop] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.envelope.get("id", ""))

    def attribute(self, name: str) -> str | None:
        value = self.envelope.get(name)
        return str(value) if value is not None else None

    @property
    def data(self) -> dict[str, Any]:
        data = self.envelope.get("data")
        return data if isinstance(data, dict) else {}

    @property
    def when_ms(self) -> int:
        """When it happened: an HTTP call when it was made, anything else when Kafka stored it."""
        if self.kind == HTTP:
            try:
                moment = datetime.fromisoformat(str(self.data.get("at")).replace("Z", "+00:00"))
                return int(moment.timestamp() * 1000)
            except ValueError:
                pass
        return self.stored.timestamp

    @property
    def coordinates(self) -> dict[str, Any]:
        return {
            "topic": self.stored.topic,
            "partition": self.stored.partition,
            "offset": self.stored.offset,
        }

    def detail(self) -> str:
        """What a person wants to read on the hop's line."""
        data = self.data
        if self.kind == HTTP:
            status = data.get("status")
            words = [f"{data.get('method')} {data.get('path')}", f"→ {status or '-'}"]
            words.append(str(data.get("outcome")))
            if data.get("attempts", 1) and int(data.get("attempts") or 1) > 1:
                words.append(f"after {data.get('attempts')} attempts")
            return " ".join(words) + f" ({data.get('provider')})"
        if self.kind in (DEAD_LETTER, RETRY):
            reason = self.stored.meta(H_REASON) or self.stored.meta(H_RETRY_TIER) or ""
            error = self.stored.meta(H_ERROR_CLASS) or ""
            message = (self.stored.meta(H_ERROR_MESSAGE) or "")[:160]
            return f"{reason}: {error} {message}".strip()
        source = self.attribute("source") or ""
        if self.kind == WEBHOOK:
            request = self.attribute("requestid")
            tail = f", request {request}" if request else ""
            return f"from source {source.removeprefix(_INGRESS_SOURCE)}{tail}"
        subject = self.attribute("subject")
        return f"subject {subject}" if subject else source

    def as_dict(self, root_ms: int) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "type": self.attribute("type"),
            "time": _iso(self.when_ms),
            "latency_ms": self.when_ms - root_ms,
            "kafka": self.coordinates,
            "correlationid": self.attribute("correlationid"),
            "causationid": self.attribute("causationid"),
            "detail": self.detail(),
            "children": [child.as_dict(root_ms) for child in self.children],
        }


def line(hop: Hop, depth: int, root_ms: int) -> str:
    """One hop as the tree prints it."""
    stored = hop.stored
    where = f"{stored.topic}[{stored.partition}]@{stored.offset}"
    latency = (hop.when_ms - root_ms) / 1000
    indent = "   " * depth + ("└─ " if depth else "")
    label = f"{hop.kind} {hop.attribute('type') or ''}".strip()
    at = _iso(hop.when_ms)[11:]
    return f"{indent}{label}  +{latency:.3f}s  {at}  {where}  {hop.detail()}"


def _iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def kind_of(stored: Stored, envelope: dict[str, Any], prefix: str) -> str | None:
    """What a record is in a chain, by its topic (None: not part of one)."""
    topic = stored.topic
    if topic.startswith(f"{prefix}.dlq."):
        return DEAD_LETTER
    if topic.startswith(f"{prefix}.retry."):
        return RETRY
    if topic == f"{prefix}.audit.http":
        return HTTP
    if topic.startswith(f"{prefix}.commands."):
        return COMMAND
    if topic.startswith(f"{prefix}.events."):
        source = str(envelope.get("source", ""))
        return WEBHOOK if source.startswith(_INGRESS_SOURCE) else EVENT
    return None


@dataclass
class Trace:
    """The chain's roots (a delivery's events), each with everything it led to."""

    correlation_id: str
    roots: list[Hop]

    @property
    def root_ms(self) -> int:
        return min((root.when_ms for root in self.roots), default=0)

    def walk(self) -> list[tuple[int, Hop]]:
        """(depth, hop), depth first, children in time order."""
        out: list[tuple[int, Hop]] = []

        def visit(hop: Hop, depth: int) -> None:
            out.append((depth, hop))
            for child in hop.children:
                visit(child, depth + 1)

        for root in self.roots:
            visit(root, 0)
        return out

    def as_dict(self) -> dict[str, Any]:
        root = self.root_ms
        return {
            "correlationid": self.correlation_id,
            "root_time": _iso(root) if self.roots else None,
            "hops": len(self.walk()),
            "roots": [hop.as_dict(root) for hop in self.roots],
        }


async def trace_topics(settings: HooklineSettings, servers: str) -> list[str]:
    """Every topic a chain can reach: events, commands, retry tiers, dead letters, audit.http."""
    topics = Topics(settings.kafka.topic_prefix)
    wanted = tuple(f"{topics.prefix}.{k}." for k in ("events", "commands", "retry", "dlq"))
    names = await list_topics(settings.kafka, servers)
    return sorted(n for n in names if n.startswith(wanted) or n == topics.audit_http)


async def read_records(
    settings: HooklineSettings, servers: str, since: datetime | None, tail: int = DEFAULT_TAIL
) -> list[Hop]:
    """Every CloudEvent on those topics stored at or after ``since``, as unlinked hops."""
    prefix = Topics(settings.kafka.topic_prefix).prefix
    stored = await read_tail(
        settings.kafka, servers, await trace_topics(settings, servers), tail=tail
    )
    floor = int(since.timestamp() * 1000) if since is not None else 0
    hops = []
    for record in stored:
        if record.timestamp < floor:
            continue
        try:
            envelope = json.loads(record.value or b"")
        except ValueError:
            continue
        if not isinstance(envelope, dict) or "id" not in envelope:
            continue
        kind = kind_of(record, envelope, prefix)
        if kind is not None:
            hops.append(Hop(envelope, record, kind))
    return hops


def _names(hop: Hop, wanted: str) -> bool:
    return wanted in (
        hop.id,
        hop.attribute("providereventid"),
        hop.attribute("requestid"),
        hop.attribute("correlationid"),
        str(hop.data.get("command_id")) if hop.data.get("command_id") is not None else None,
    )


def find(hops: list[Hop], wanted: str) -> Trace | None:
    """The chain of the record ``wanted`` names, or None when no record does."""
    target = next(
        (h for h in sorted(hops, key=lambda h: h.stored.timestamp) if _names(h, wanted)), None
    )
    if target is None:
        return None
    correlation = target.attribute("correlationid") or target.id
    members = [h for h in hops if (h.attribute("correlationid") or h.id) == correlation]
    # Within one millisecond a call comes before the result it led to.
    members.sort(key=lambda h: (h.when_ms, h.kind != HTTP, h.stored.offset))
    # The main record of an id is the one on an events or commands topic, the first stored.
    main: dict[str, Hop] = {}
    for hop in members:
        if hop.kind in (WEBHOOK, EVENT, COMMAND) and hop.id not in main:
            main[hop.id] = hop
    roots: list[Hop] = []
    for hop in members:
        if hop.kind in (WEBHOOK, EVENT, COMMAND):
            if main.get(hop.id) is not hop:
                continue  # a repeat of a record already shown (a redelivered emit)
            parent = main.get(hop.attribute("causationid") or "")
        elif hop.kind == HTTP:
            parent = main.get(hop.attribute("causationid") or "")
        else:  # a retry or dead letter carries the record that failed
            parent = main.get(hop.id)
        if parent is None or parent is hop:
            roots.append(hop)
        else:
            parent.children.append(hop)
    return Trace(correlation, roots)
