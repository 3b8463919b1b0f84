"""Pieces the reservation platforms' webhook adapters share: time parsing, money, event building.

Pure: no HTTP, no Kafka. Each adapter maps its provider's body to
:class:`BookingEvent` / :class:`SessionEvent`; this module builds the envelope
with the id convention of docs/providers/README.md#event-ids-subjects-and-results.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from hookline.envelope import CloudEvent, make_event, source_uri
from hookline.errors import NormalizationError
from hookline.messages.reservation import BookingEvent
from hookline.providers.base import JSON_TYPES, Acknowledgement, RawWebhook

BOOKING_EVENTS = ("created", "modified", "cancelled", "reminder")
SESSION_EVENTS = ("started", "progress", "completed", "failed")


def parse_time(value: Any, fallback: datetime) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return fallback
    return fallback


def mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise NormalizationError(f"{what} must be a JSON object")
    return value


def submap(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (optional nested objects)."""
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str | None:
    return None if value is None else str(value)


def with_lifecycle(
    out: dict[str, Any], suffix: str, data: dict[str, Any], *, reminder_hours: int
) -> dict[str, Any]:
    """Add what a modified / cancelled / reminder webhook carries beyond the booking itself
    (flat ``cancelled_by`` / ``reason`` fields, as OpenTable and Shell send them)."""
    if suffix == "modified":
        out["changes"] = submap(data.get("changes"))
    elif suffix == "cancelled":
        out["status"] = "cancelled"
        out["cancellation"] = {
            "by": text(data.get("cancelled_by")),
            "reason": text(data.get("reason")),
        }
    elif suffix == "reminder":
        out["hours_before"] = data.get("hours_before", reminder_hours)
    return out


def event_suffix(kind: Any, prefix: str, allowed: tuple[str, ...]) -> str:
    """``reservation.cancelled`` → ``cancelled``; an unknown type cannot be normalized."""
    if not isinstance(kind, str) or not kind.startswith(prefix + "."):
        raise NormalizationError(f"unknown event type {kind!r}")
    suffix = kind[len(prefix) + 1 :]
    if suffix not in allowed:
        raise NormalizationError(f"unknown event type {kind!r}")
    return suffix


def validated(model: type[BaseModel], data: dict[str, Any]) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # The first problem is enough to find the field; the raw body is kept in dlq.ingress.
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise NormalizationError(f"{where}: {first['msg']}") from exc


def build(
    raw: RawWebhook,
    *,
    type_: str,
    subject: str,
    data: BaseModel,
    provider_event_id: str,
    time: datetime,
) -> CloudEvent:
    return make_event(
        source=source_uri(raw.source),
        type=type_,
        subject=subject,
        data=data.model_dump(mode="json", exclude_none=True),
        provider=raw.provider,
        provider_event_id=provider_event_id,
        time=time,
        traceparent=raw.traceparent,
    )


def provider_event_id(value: Any, what: str) -> str:
    """The provider's event id, which the CloudEvent id derives from; without it, no dedup."""
    if not isinstance(value, str) or not value:
        raise NormalizationError(f"{what} is missing")
    return value


def cancelled_event_id(reservation_id: Any) -> str:
    """A booking is cancelled once, so the cancellation's provider event id names it:
    ``"{reservation_id}:cancelled"``, the same from the callback and from the reconciler
    (providers/opentable/reconcile.py, providers/recreation_gov/reconcile.py)."""
    if not isinstance(reservation_id, str) or not reservation_id:
        raise NormalizationError("reservation_id is missing")
    return f"{reservation_id}:cancelled"


def booking_event(
    raw: RawWebhook, suffix: str, fields: dict[str, Any], *, event_id: str, time: datetime
) -> list[CloudEvent]:
    """``fields`` validated as a :class:`BookingEvent` → its one ``reservation.booking.<suffix>`` event."""
    model = validated(BookingEvent, fields)
    assert isinstance(model, BookingEvent)
    return [
        build(
            raw,
            type_=f"reservation.booking.{suffix}",
            subject=model.reservation_id,
            data=model,
            provider_event_id=event_id,
            time=time,
        )
    ]


class PlatformAdapter:
    """What every reservation platform's adapter shares: JSON bodies, no acknowledgement body."""

    provider: str
    domain: str | None = "reservation"
    content_types: tuple[str, ...] = JSON_TYPES

    def acknowledgement(self, events: list[CloudEvent]) -> Acknowledgement | None:
        return None
