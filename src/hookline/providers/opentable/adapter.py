"""OpenTable reservation webhooks → ``reservation.booking.*`` (docs/providers/opentable.md#webhooks).

Body: ``{"type": "reservation.<event>", "timestamp", "data": {<reservation>,
…event fields}}``, signed with Standard Webhooks; the provider event id is the
``webhook-id`` header, except for a cancellation: ``"{reservation_id}:cancelled"``
(a booking is cancelled once; the reconciler rebuilds the same id from a read).
"""

from __future__ import annotations

from typing import Any

from hookline.envelope import CloudEvent
from hookline.messages.reservation import e164_or_none
from hookline.providers._reservation.normalize import (
    BOOKING_EVENTS,
    PlatformAdapter,
    booking_event,
    cancelled_event_id,
    event_suffix,
    mapping,
    parse_time,
    provider_event_id,
    submap,
    text,
    with_lifecycle,
)
from hookline.providers.base import RawWebhook, require_mapping


def booking(suffix: str, data: dict[str, Any]) -> dict[str, Any]:
    customer = submap(data.get("customer"))
    out: dict[str, Any] = {
        "reservation_id": text(data.get("reservation_id")),
        "provider": "opentable",
        "confirmation": text(data.get("confirmation_number")),
        "venue": {
            "id": text(data.get("restaurant_id")),
            "name": text(data.get("restaurant_name")),
            "kind": "restaurant",
        },
        "date": text(data.get("date")),
        "time": text(data.get("time")),
        "party_size": data.get("party_size"),
        "status": text(data.get("status")),
        "customer": {
            "name": text(customer.get("name")),
            "email": text(customer.get("email")),
            "phone": e164_or_none(customer.get("phone")),
        },
    }
    return with_lifecycle(out, suffix, data, reminder_hours=24)


class OpenTableAdapter(PlatformAdapter):
    provider = "opentable"

    def normalize(self, raw: RawWebhook) -> list[CloudEvent]:
        payload = require_mapping(raw.payload)
        suffix = event_suffix(payload.get("type"), "reservation", BOOKING_EVENTS)
        data = mapping(payload.get("data"), "data")
        if suffix == "cancelled":
            event_id = cancelled_event_id(data.get("reservation_id"))
        else:
            event_id = provider_event_id(
                raw.headers.get("webhook-id") or raw.headers.get("svix-id"), "webhook-id header"
            )
        time = parse_time(payload.get("timestamp"), raw.received_at)
        return booking_event(raw, suffix, booking(suffix, data), event_id=event_id, time=time)
