"""Recreation.gov reservation webhooks → ``reservation.booking.*`` (docs/providers/recreation_gov.md#webhooks).

Body: ``{"event_id", "event_type": "reservation.<event>", "occurred_at",
"reservation": {…}, "cancellation"?: {reason, refund}, "changes"?,
"hours_before"?}``, signed with ``X-RecGov-Signature``. The provider event id is
``event_id``, except for a cancellation: ``"{reservation_id}:cancelled"`` (a
booking is cancelled once; the reconciler rebuilds the same id from a read).
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
)
from hookline.providers.base import RawWebhook, require_mapping

# Recreation.gov says "reserved" where the other platforms say "confirmed".
_STATUS = {"reserved": "confirmed"}


def _party(customer: dict[str, Any]) -> int | None:
    adults, children = customer.get("adults"), customer.get("children")
    if not isinstance(adults, int) and not isinstance(children, int):
        return None
    return (adults if isinstance(adults, int) else 0) + (
        children if isinstance(children, int) else 0
    )


def booking(suffix: str, payload: dict[str, Any]) -> dict[str, Any]:
    res = mapping(payload.get("reservation"), "reservation")
    customer = submap(res.get("customer"))
    status = text(res.get("status")) or ""
    out: dict[str, Any] = {
        "reservation_id": text(res.get("reservation_id")),
        "provider": "recreation_gov",
        "confirmation": text(res.get("confirmation_code")),
        "venue": {
            "id": text(res.get("campground_id")),
            "name": text(res.get("campground_name")),
            "kind": "campground",
        },
        "site_id": text(res.get("site_id")),
        "date": text(res.get("start_date")),
        "end_date": text(res.get("end_date")),
        "party_size": _party(customer),
        "status": _STATUS.get(status, status),
        "customer": {
            "name": text(customer.get("name")),
            "email": text(customer.get("email")),
            "phone": e164_or_none(customer.get("phone")),
        },
    }
    if suffix == "modified":
        out["changes"] = submap(payload.get("changes"))
    elif suffix == "cancelled":
        cancellation = submap(payload.get("cancellation"))
        out["status"] = "cancelled"
        out["cancellation"] = {
            "by": text(cancellation.get("cancelled_by")),
            "reason": text(cancellation.get("reason")),
            "refund": cancellation.get("refund"),
        }
    elif suffix == "reminder":
        out["hours_before"] = payload.get("hours_before", 24)
    return out


class RecreationGovAdapter(PlatformAdapter):
    provider = "recreation_gov"

    def normalize(self, raw: RawWebhook) -> list[CloudEvent]:
        payload = require_mapping(raw.payload)
        suffix = event_suffix(payload.get("event_type"), "reservation", BOOKING_EVENTS)
        event_id = provider_event_id(payload.get("event_id"), "event_id")
        fields = booking(suffix, payload)
        if suffix == "cancelled":
            event_id = cancelled_event_id(fields["reservation_id"])
        time = parse_time(payload.get("occurred_at"), raw.received_at)
        return booking_event(raw, suffix, fields, event_id=event_id, time=time)
