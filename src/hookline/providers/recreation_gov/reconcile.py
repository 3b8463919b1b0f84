"""Recreation.gov's ``GET {reservations_url}/{id}`` read as the webhook it stands for (docs/reconcile.md).

- ``cancelled`` (final): ``reservation.cancelled`` with provider event id
  ``"{reservation_id}:cancelled"``, the callback's (providers/recreation_gov/adapter.py);
  who, why and the refund from the read's ``cancellation`` / ``refund``.
- still ``reserved`` after its stay: the entity is closed, nothing published.
- a stay (start, end, site) other than the last one hookline saw:
  ``reservation.modified`` with the changes, under an id of its own
  (``reconciled:{id}:modified:{start}:{end}:{site}``): the callback's
  ``event_id`` cannot be rebuilt, so a late callback of the same change is a
  second, distinct event (the limit Colt's intermediate statuses have).
"""

from __future__ import annotations

import time
from typing import Any

from hookline.providers.reconcile import Entity, Observation

# The reservation fields the platform's callback shows (its simulator sends the same).
SHOWN = (
    "reservation_id",
    "confirmation_code",
    "campground_id",
    "campground_name",
    "site_id",
    "start_date",
    "end_date",
    "status",
    "customer",
)
# What a modification changes: the events' word → the read's.
DETAILS = {"date": "start_date", "end_date": "end_date", "site_id": "site_id"}
# Recreation.gov says "reserved" where the events say "confirmed".
_STATUS = {"reserved": "confirmed"}


async def check(platform: Any, entity: Entity) -> Observation | None:
    reservation = await platform.client.get(entity.entity_id)
    body: dict[str, Any] = reservation.model_dump(mode="json", exclude_none=True)
    status = str(body.get("status") or "")
    if status == "cancelled":
        found = body.get("cancellation")
        cancellation: dict[str, Any] = found if isinstance(found, dict) else {}
        payload = {
            "event_id": f"{entity.entity_id}:cancelled",
            "event_type": "reservation.cancelled",
            "occurred_at": None,
            "reservation": {k: body[k] for k in SHOWN if k in body},
            "cancellation": {
                "cancelled_by": cancellation.get("cancelled_by"),
                "reason": cancellation.get("reason"),
                "refund": cancellation.get("refund") or body.get("refund"),
            },
        }
        return Observation(
            status=status, final=True, payload=payload, content_type="application/json"
        )
    if time.time() >= float(entity.context.get("until") or "inf"):
        return Observation(status=status, final=True, payload=None)
    return _modified(entity, _STATUS.get(status, status), body)


def _modified(entity: Entity, status: str, body: dict[str, Any]) -> Observation | None:
    known: dict[str, Any] = entity.context.get("booking") or {}
    now = {ours: body.get(theirs) for ours, theirs in DETAILS.items()}
    changes = {
        theirs: {"from": known[ours], "to": now[ours]}
        for ours, theirs in DETAILS.items()
        if ours in known and known[ours] != now[ours]
    }
    if not changes:
        return None
    stay = ":".join(str(v) for v in now.values())
    payload = {
        "event_id": f"reconciled:{entity.entity_id}:modified:{stay}",
        "event_type": "reservation.modified",
        "occurred_at": None,
        "reservation": {k: body[k] for k in SHOWN if k in body},
        "changes": changes,
    }
    return Observation(
        status=status,
        final=False,
        payload=payload,
        content_type="application/json",
        news=True,
        context={"booking": {**known, **now}},
    )
