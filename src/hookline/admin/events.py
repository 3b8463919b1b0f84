"""Events and commands read back from Kafka: search, one event, and its causation chain.

Shared by ``/admin/events``, the console and ``hookline events``. A search
reads the newest records of every ``<prefix>.events.*`` and
``<prefix>.commands.*`` topic (bounded per partition, :mod:`.reading`) and
filters them in memory, newest first.

The chain uses the CloudEvent attributes that say what caused what:
``causationid`` (the reactor sets it on each command it emits, naming the
event) and ``correlationid`` when a producer sets one. A command's outcome
events are found by the command id they carry as subject or ``data.command_id``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hookline.admin.reading import DEFAULT_TAIL, Stored, read_tail
from hookline.bus.admin import list_topics
from hookline.bus.topics import Topics
from hookline.config.models import HooklineSettings
from hookline.observability.masking import mask_any

# How far a chain is followed up and down, and how many records it lists at most.
CHAIN_DEPTH = 6
MAX_CHAIN = 100


@dataclass(frozen=True)
class EventQuery:
    """Every field set must match; ``text`` matches id, provider event id or subject."""

    id: str | None = None
    providereventid: str | None = None
    type: str | None = None
    subject: str | None = None
    source: str | None = None
    text: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    kind: str | None = None  # "events" or "commands"
    limit: int = 50
    offset: int = 0


@dataclass
class Found:
    """One event or command as it sits on its topic; its JSON is parsed when first read."""

    raw: bytes
    topic: str
    partition: int
    offset: int
    timestamp: int
    _envelope: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def envelope(self) -> dict[str, Any]:
        if self._envelope is None:
            try:
                parsed = json.loads(self.raw)
            except ValueError:
                parsed = None
            self._envelope = parsed if isinstance(parsed, dict) and "id" in parsed else {}
        return self._envelope

    @property
    def valid(self) -> bool:
        """A CloudEvent (a JSON object with an id); anything else on the topic is skipped."""
        return bool(self.envelope)

    def contains(self, text: str) -> bool:
        """Whether the raw record holds ``text`` as JSON writes it (a cheap first filter)."""
        return _needle(text) in self.raw

    @property
    def id(self) -> str:
        return str(self.envelope.get("id", ""))

    @property
    def coordinates(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"

    @property
    def kind(self) -> str:
        return "commands" if ".commands." in self.topic else "events"

    def attribute(self, name: str) -> str | None:
        value = self.envelope.get(name)
        return str(value) if value is not None else None

    @property
    def command_id(self) -> str | None:
        data = self.envelope.get("data")
        value = data.get("command_id") if isinstance(data, dict) else None
        return str(value) if value is not None else None

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.attribute("type"),
            "source": self.attribute("source"),
            "subject": mask_any(subject) if (subject := self.attribute("subject")) else None,
            "provider": self.attribute("provider"),
            "providereventid": self.attribute("providereventid"),
            "correlationid": self.attribute("correlationid"),
            "causationid": self.attribute("causationid"),
            "time": self.attribute("time"),
            "kind": self.kind,
            "kafka": {"topic": self.topic, "partition": self.partition, "offset": self.offset},
        }

    def detail(self) -> dict[str, Any]:
        """The row and the whole envelope, masked for display."""
        return {**self.row(), "envelope": mask_any(self.envelope)}


def _needle(text: str) -> bytes:
    # JSON as Python, Java and Go write it: ASCII without quotes or backslashes stays as is.
    # Anything else is looked for by its longest plain run, and matched exactly after parsing.
    plain = max(re.split(r'[^\x20-\x7e]|["\\/]', text), key=len, default="")
    return plain.encode()


def _found(stored: Stored) -> Found | None:
    if not stored.value:
        return None
    return Found(stored.value, stored.topic, stored.partition, stored.offset, stored.timestamp)


async def event_topics(
    settings: HooklineSettings, servers: str, kind: str | None = None
) -> list[str]:
    topics = Topics(settings.kafka.topic_prefix)
    wanted = [f"{topics.prefix}.{k}." for k in ((kind,) if kind else ("events", "commands"))]
    names = await list_topics(settings.kafka, servers)
    return sorted(name for name in names if name.startswith(tuple(wanted)))


async def scan(
    settings: HooklineSettings, servers: str, kind: str | None = None, tail: int = DEFAULT_TAIL
) -> list[Found]:
    """Every event (and command) within the newest ``tail`` records per partition, newest first."""
    stored = await read_tail(
        settings.kafka, servers, await event_topics(settings, servers, kind), tail=tail
    )
    found = [f for f in map(_found, stored) if f is not None]
    found.sort(key=lambda f: (f.timestamp, f.offset), reverse=True)
    return found


def _source_matches(found: Found, source: str) -> bool:
    value = found.attribute("source") or ""
    return value == source or value.endswith(f"/{source}")


def _in_time(found: Found, query: EventQuery) -> bool:
    when = datetime.fromtimestamp(found.timestamp / 1000, UTC)
    return (query.since is None or when >= query.since) and (
        query.until is None or when <= query.until
    )


def _needles(query: EventQuery) -> list[str]:
    """What a matching record's raw bytes must contain (checked before any parsing)."""
    values = (query.id, query.providereventid, query.type, query.subject, query.source, query.text)
    return [value for value in values if value]


def matches(found: Found, query: EventQuery) -> bool:
    """Whether one record passes the query's filters."""
    checks = (
        query.id is None or found.id == query.id,
        query.providereventid is None
        or found.attribute("providereventid") == query.providereventid,
        query.type is None or (found.attribute("type") or "").startswith(query.type),
        query.subject is None or found.attribute("subject") == query.subject,
        query.source is None or _source_matches(found, query.source),
        query.text is None
        or query.text in (found.id, found.attribute("providereventid"), found.attribute("subject")),
    )
    return found.valid and _in_time(found, query) and all(checks)


@dataclass
class Page:
    """One page of search results and how many matched in all."""

    items: list[Found]
    total: int
    scanned: int
    # False for the newest page: only the newest records of each partition were read.
    filtered: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "scanned": self.scanned,
            "filtered": self.filtered,
            "items": [f.row() for f in self.items],
        }


def search_in(found: list[Found], query: EventQuery) -> Page:
    """Matches among ``found`` (newest first). Only records whose bytes hold every filter
    value are parsed; without such filters only the page's records are."""
    needles = [_needle(value) for value in _needles(query)]
    candidates = [
        f for f in found if _in_time(f, query) and all(needle in f.raw for needle in needles)
    ]
    if needles:
        hits = [f for f in candidates if matches(f, query)]
        return Page(hits[query.offset : query.offset + query.limit], len(hits), len(found))
    page: list[Found] = []
    skipped = 0
    for record in candidates:
        if not record.valid:
            skipped += 1
            continue
        if len(page) >= query.offset + query.limit:
            break
        page.append(record)
    return Page(page[query.offset :], len(candidates) - skipped, len(found), filtered=False)


async def search(settings: HooklineSettings, servers: str, query: EventQuery) -> Page:
    """The events and commands matching ``query``, newest first."""
    filtered = _needles(query) or query.since or query.until
    # The newest page needs only the newest records of each partition.
    tail = DEFAULT_TAIL if filtered else max(query.offset + query.limit, 1)
    return search_in(await scan(settings, servers, query.kind, tail=tail), query)


@dataclass
class Chain:
    """What caused an event and what it caused, and its neighbours by subject or id."""

    ancestors: list[Found] = field(default_factory=list)  # nearest first
    descendants: list[tuple[int, Found]] = field(default_factory=list)  # (depth, record)
    related: list[Found] = field(default_factory=list)

    @property
    def exists(self) -> bool:
        return bool(self.ancestors or self.descendants)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ancestors": [f.row() for f in self.ancestors],
            "descendants": [{"depth": d, **f.row()} for d, f in self.descendants],
            "related": [f.row() for f in self.related],
        }


class _Index:
    """Lookups over the scanned records by a value their bytes hold (parsed only on a hit)."""

    def __init__(self, everything: list[Found]) -> None:
        self.everything = everything

    def holding(self, value: str | None) -> list[Found]:
        if not value:
            return []
        needle = _needle(value)
        return [f for f in self.everything if needle in f.raw and f.valid]

    def by_id(self, value: str | None) -> Found | None:
        return next((f for f in self.holding(value) if f.id == value), None)


def _children(of: Found, index: _Index) -> list[Found]:
    kids = []
    for other in index.holding(of.id):
        if other.id == of.id:
            continue
        if other.attribute("causationid") == of.id:
            kids.append(other)
        elif of.kind == "commands" and of.id in (other.attribute("subject"), other.command_id):
            kids.append(other)  # a command's outcome events carry its id
    return sorted(kids, key=lambda f: f.timestamp)


def _parent(of: Found, index: _Index) -> Found | None:
    cause = of.attribute("causationid")
    if cause is not None:
        return index.by_id(cause)
    if of.kind == "events":
        for key in (of.attribute("subject"), of.command_id):
            command = index.by_id(key)
            if command is not None and command.kind == "commands" and command.id != of.id:
                return command
    return None


def chain_in(target: Found, everything: list[Found]) -> Chain:
    """The chain of ``target`` among ``everything`` (newest first; the newest copy of an id)."""
    index = _Index(everything)
    chain = Chain()
    seen = {target.id}
    current = target
    for _ in range(CHAIN_DEPTH):
        parent = _parent(current, index)
        if parent is None or parent.id in seen:
            break
        chain.ancestors.append(parent)
        seen.add(parent.id)
        current = parent
    frontier = [target]
    for depth in range(1, CHAIN_DEPTH + 1):
        next_frontier = []
        for node in frontier:
            for child in _children(node, index):
                if child.id not in seen and len(chain.descendants) < MAX_CHAIN:
                    seen.add(child.id)
                    chain.descendants.append((depth, child))
                    next_frontier.append(child)
        frontier = next_frontier
    for key in ("subject", "providereventid", "correlationid"):
        value = target.attribute(key)
        for other in index.holding(value):
            if other.id not in seen and other.attribute(key) == value:
                seen.add(other.id)
                chain.related.append(other)
    chain.related.sort(key=lambda f: f.timestamp, reverse=True)
    del chain.related[MAX_CHAIN:]
    return chain


async def event_at(
    settings: HooklineSettings, servers: str, topic: str, partition: int, offset: int
) -> tuple[Found | None, Chain]:
    """The record at these coordinates (None when there is none) and its chain."""
    everything = await scan(settings, servers)
    target = next(
        (
            f
            for f in everything
            if (f.topic, f.partition, f.offset) == (topic, partition, offset) and f.valid
        ),
        None,
    )
    if target is None:
        return None, Chain()
    return target, chain_in(target, everything)


async def event_by_id(
    settings: HooklineSettings, servers: str, event_id: str
) -> tuple[Found | None, Chain]:
    """The newest record with this CloudEvent id and its chain."""
    everything = await scan(settings, servers)
    target = _Index(everything).by_id(event_id)
    if target is None:
        return None, Chain()
    return target, chain_in(target, everything)
