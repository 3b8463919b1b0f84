"""Retry tiers and dead letters: where a failed record is parked, and the headers it carries.

A parked record keeps the original key and value (so its CloudEvent id, and with
it idempotency, survives), and gains ``hookline-*`` headers that say why and
when. The same headers travel through every retry tier into the DLQ.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka.structs import ConsumerRecord

from hookline.bus.codec import Headers, Record, header
from hookline.errors import ConfigError

H_ATTEMPTS = "hookline-attempts"
H_FIRST_FAILURE = "hookline-first-failure"
H_ORIGINAL_TOPIC = "hookline-original-topic"
H_ORIGINAL_PARTITION = "hookline-original-partition"
H_ORIGINAL_OFFSET = "hookline-original-offset"
H_ERROR_CLASS = "hookline-error-class"
H_ERROR_MESSAGE = "hookline-error-message"
H_SERVICE = "hookline-service"
H_RETRY_TIER = "hookline-retry-tier"
H_DUE = "hookline-due-ms"
H_DEAD_LETTERED = "hookline-dead-lettered-at"
H_REASON = "hookline-dlq-reason"
PREFIX = "hookline-"
MAX_MESSAGE = 2000

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """``"500ms"``, ``"10s"``, ``"1m"``, ``"2h"`` → seconds."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ConfigError(f"retry tier {text!r} is not a duration like 10s, 1m or 500ms")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True)
class Tier:
    index: int
    name: str
    delay: float
    topic: str


class Tiers:
    """The configured retry tiers of one service, shortest first."""

    def __init__(self, tiers: list[Tier]) -> None:
        self._tiers = sorted(tiers, key=lambda t: t.delay)
        self._by_topic = {t.topic: t for t in self._tiers}

    @classmethod
    def build(cls, names: Sequence[str], topic_for: dict[str, str]) -> Tiers:
        return cls([Tier(i, n, parse_duration(n), topic_for[n]) for i, n in enumerate(names)])

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._tiers)

    @property
    def topics(self) -> list[str]:
        return [t.topic for t in self._tiers]

    def of_topic(self, topic: str) -> Tier | None:
        return self._by_topic.get(topic)

    def next(self, current: Tier | None, wanted_delay: float | None) -> Tier | None:
        """The tier after ``current`` that covers ``wanted_delay``; None when tiers are exhausted."""
        start = 0 if current is None else self._tiers.index(current) + 1
        candidates = self._tiers[start:]
        if not candidates:
            return None
        if wanted_delay:
            for tier in candidates:
                if tier.delay >= wanted_delay:
                    return tier
        return candidates[0] if not wanted_delay else candidates[-1]


@dataclass(frozen=True)
class Failure:
    """What went wrong on the latest attempt, and the record's history so far."""

    error_class: str
    message: str
    attempts: int
    first_failure: str
    original_topic: str
    original_partition: int
    original_offset: int


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def history(record: ConsumerRecord[bytes, bytes]) -> tuple[int, str | None, str, int, int]:
    """(attempts so far, first failure, original topic/partition/offset) from a record's headers."""
    headers = record.headers
    attempts = header(headers, H_ATTEMPTS)
    first = header(headers, H_FIRST_FAILURE)
    topic = header(headers, H_ORIGINAL_TOPIC)
    partition = header(headers, H_ORIGINAL_PARTITION)
    offset = header(headers, H_ORIGINAL_OFFSET)
    if topic is None or partition is None or offset is None:
        return (
            int(attempts or 0),
            first.decode() if first else None,
            record.topic,
            record.partition,
            record.offset,
        )
    return (
        int(attempts or 0),
        first.decode() if first else None,
        topic.decode(),
        int(partition),
        int(offset),
    )


def due_ms(record: ConsumerRecord[bytes, bytes], tier: Tier) -> int:
    """When a record on a retry topic may run (epoch ms)."""
    due = header(record.headers, H_DUE)
    if due is not None:
        return int(due)
    return int(record.timestamp + tier.delay * 1000)


def _base_headers(record: ConsumerRecord[bytes, bytes]) -> Headers:
    return [(k, v) for k, v in (record.headers or ()) if not k.startswith(PREFIX)]


def _failure_headers(service: str, failure: Failure) -> Headers:
    return [
        (H_SERVICE, service.encode()),
        (H_ERROR_CLASS, failure.error_class.encode()),
        (H_ERROR_MESSAGE, failure.message[:MAX_MESSAGE].encode()),
        (H_ATTEMPTS, str(failure.attempts).encode()),
        (H_FIRST_FAILURE, failure.first_failure.encode()),
        (H_ORIGINAL_TOPIC, failure.original_topic.encode()),
        (H_ORIGINAL_PARTITION, str(failure.original_partition).encode()),
        (H_ORIGINAL_OFFSET, str(failure.original_offset).encode()),
    ]


def retry_record(
    record: ConsumerRecord[bytes, bytes], service: str, failure: Failure, tier: Tier, delay: float
) -> Record:
    headers = _base_headers(record) + _failure_headers(service, failure)
    headers.append((H_RETRY_TIER, tier.name.encode()))
    headers.append((H_DUE, str(int((time.time() + delay) * 1000)).encode()))
    return Record(tier.topic, record.key, record.value or b"", headers)


def dead_letter_record(
    record: ConsumerRecord[bytes, bytes], service: str, failure: Failure, topic: str, reason: str
) -> Record:
    headers = _base_headers(record) + _failure_headers(service, failure)
    headers.append((H_REASON, reason.encode()))
    headers.append((H_DEAD_LETTERED, now_rfc3339().encode()))
    return Record(topic, record.key, record.value or b"", headers)


def replay_headers(headers: Sequence[tuple[str, bytes]] | None) -> Headers:
    """A dead letter's headers without hookline's failure history: a replay starts afresh."""
    return [(k, v) for k, v in (headers or ()) if not k.startswith(PREFIX)]
