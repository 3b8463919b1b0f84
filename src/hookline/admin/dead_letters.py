"""Dead letters for the operator: filter, show, replay (with a dry run) and the replayed mark.

Shared by ``/admin/dlq/*``, the console and ``hookline dlq``. A replay writes
the letter back through :mod:`hookline.worker.dlq` and then one mark per
letter to ``<prefix>.admin.replays`` (key: the letter's DLQ coordinates), so
every reader, after a restart too, shows which letters went back and when.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hookline.admin.reading import read_tail
from hookline.bus.admin import create_topics
from hookline.bus.codec import Record
from hookline.bus.topics import Topics
from hookline.config.models import HooklineSettings
from hookline.errors import HooklineError
from hookline.observability.masking import mask_any
from hookline.worker import dlq, parking


@dataclass(frozen=True)
class LetterFilter:
    """Which letters: every field set must match (``ids``: any of them)."""

    service: str | None = None
    reason: str | None = None
    error_class: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    ids: tuple[str, ...] = ()
    replayed: bool | None = None

    def matches(self, letter: dlq.DeadLetter, mark: dict[str, Any] | None) -> bool:
        when = datetime.fromtimestamp(letter.timestamp / 1000, UTC)
        reason = letter.meta(parking.H_REASON) or "normalization_failed"
        return (
            (self.reason is None or reason == self.reason)
            and (self.error_class is None or letter.meta(parking.H_ERROR_CLASS) == self.error_class)
            and (self.since is None or when >= self.since)
            and (self.until is None or when <= self.until)
            and (not self.ids or letter.id in self.ids or coordinates(letter) in self.ids)
            and (self.replayed is None or (mark is not None) == self.replayed)
        )


def coordinates(letter: dlq.DeadLetter) -> str:
    return f"{letter.topic}[{letter.partition}]@{letter.offset}"


@dataclass
class Letter:
    """A dead letter and its replay mark, if it was replayed."""

    letter: dlq.DeadLetter
    mark: dict[str, Any] | None = None

    @property
    def coordinates(self) -> str:
        return coordinates(self.letter)

    def summary(self) -> dict[str, Any]:
        row = self.letter.summary()
        row["reason"] = row["reason"] or "normalization_failed"
        row["error_message"] = mask_any(row["error_message"])
        row["dead_lettered"] = datetime.fromtimestamp(self.letter.timestamp / 1000, UTC).isoformat()
        row["replayed"] = self.mark
        return row

    def detail(self) -> dict[str, Any]:
        """The summary, the letter's headers and its event, masked for display."""
        row = self.summary()
        row["headers"] = {k: mask_any(v.decode(errors="replace")) for k, v in self.letter.headers}
        if self.letter.event is not None:
            row["event"] = mask_any(self.letter.event.model_dump(mode="json", exclude_none=True))
        else:
            row["event"] = None
            row["value"] = mask_any((self.letter.value or b"").decode(errors="replace"))
        return row


async def marks(settings: HooklineSettings, servers: str) -> dict[str, dict[str, Any]]:
    """The replay marks by DLQ coordinates (the newest mark of a letter wins)."""
    topic = Topics(settings.kafka.topic_prefix).replays
    found: dict[str, dict[str, Any]] = {}
    for stored in await read_tail(settings.kafka, servers, [topic]):
        try:
            mark = json.loads(stored.value or b"")
            found[str(mark["dlq"])] = mark
        except (ValueError, KeyError, TypeError):
            continue
    return found


async def letters(
    settings: HooklineSettings, servers: str, which: LetterFilter | None = None
) -> list[Letter]:
    """Dead letters matching ``which``, newest first, each with its replay mark."""
    which = which or LetterFilter()
    topics = await dlq.dlq_topics(settings, servers, which.service)
    found = await dlq.read(settings, servers, topics, idle_seconds=0.5)
    known = await marks(settings, servers)
    chosen = [
        Letter(letter, known.get(coordinates(letter)))
        for letter in found
        if which.matches(letter, known.get(coordinates(letter)))
    ]
    chosen.sort(key=lambda entry: entry.letter.timestamp, reverse=True)
    return chosen


@dataclass
class ReplayPlan:
    """What a replay writes (or, in a dry run, would write), and what it cannot."""

    replayed: list[tuple[Letter, str]] = field(default_factory=list)
    refused: list[tuple[Letter, str]] = field(default_factory=list)
    dry_run: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "replayed": [
                {"id": entry.letter.id, "dlq": entry.coordinates, "to_topic": topic}
                for entry, topic in self.replayed
            ],
            "refused": [
                {"id": entry.letter.id, "dlq": entry.coordinates, "reason": why}
                for entry, why in self.refused
            ],
        }


async def replay(
    settings: HooklineSettings,
    servers: str,
    which: LetterFilter,
    *,
    embedded: bool,
    dry_run: bool,
    to_topic: str | None = None,
    by: str = "admin",
) -> ReplayPlan:
    """Replay the letters ``which`` selects (ids, a selection, or a whole filter); mark each.

    With ``dry_run`` nothing is written: the plan says what would be. A letter
    with no known original topic (and no ``to_topic``) is refused, not guessed.
    """
    plan = ReplayPlan(dry_run=dry_run)
    records: list[Record] = []
    for entry in await letters(settings, servers, which):
        try:
            record = dlq.replay_record(entry.letter, to_topic)
        except ValueError as exc:
            plan.refused.append((entry, str(exc)))
            continue
        plan.replayed.append((entry, record.topic))
        records.append(record)
    if dry_run or not records:
        return plan
    now = datetime.now(UTC).isoformat()
    replays = Topics(settings.kafka.topic_prefix).replays
    # Topics made before replay marks existed lack it: an existing topic counts as success.
    problems = [
        r.error for r in await create_topics(settings.kafka, servers, [replays]) if not r.ok
    ]
    if problems:
        raise HooklineError(f"cannot create {replays}: {problems[0]}")
    for entry, topic in plan.replayed:
        mark = {
            "dlq": entry.coordinates,
            "id": entry.letter.id,
            "to_topic": topic,
            "at": now,
            "by": by,
        }
        records.append(Record(replays, entry.coordinates.encode(), json.dumps(mark).encode()))
    # One acks=all write: the letters and their marks are written together or the call fails.
    await dlq.replay(settings, servers, records, embedded=embedded)
    for entry, topic in plan.replayed:
        entry.mark = {"dlq": entry.coordinates, "to_topic": topic, "at": now, "by": by}
    return plan
