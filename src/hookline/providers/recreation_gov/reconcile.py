"""Recreation.gov's ``GET {reservations_url}/{id}`` read as the webhook it stands for (docs/reconcile.md).

The one state change a callback carries is ``reservation.cancelled`` (final;
its provider event id ``"{reservation_id}:cancelled"`` is the callback's, see
providers/recreation_gov/adapter.py): the read rebuilds it, with the read's
``cancellation`` (who, why) and ``refund``. A booking still ``reserved`` after
its stay is closed with nothing published. A lost ``reservation.modified`` is
not rebuilt: the read shows the stay as it is, not what changed.
"""

from __future__ import annotations

import time
from typing import Any

from hookline.providers.reconcile import Entity, Observation

# The reservation fields the platform's callback shows (its simulator's SHOWN).
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
    return None
