"""OpenTable's ``GET /reservations/{id}`` read as the webhook it stands for (docs/reconcile.md).

A booking's state changes by callback are ``reservation.cancelled`` (final; its
provider event id ``"{reservation_id}:cancelled"`` is the callback's, see
providers/opentable/adapter.py) and the statuses no callback carries
(``seated``, ``completed``, ``no_show``). The read rebuilds the cancellation
(who and why from the read's ``cancelled_by`` / ``reason``); a ``completed`` or
``no_show`` booking, or one still ``confirmed`` after its day, is closed with
nothing published. A lost ``reservation.modified`` is not rebuilt: the read
shows the booking as it is, not what changed.
"""

from __future__ import annotations

import time
from typing import Any

from hookline.providers.reconcile import Entity, Observation

# Statuses after which nothing about the booking changes any more (no callback carries them).
ENDED = frozenset({"completed", "no_show"})


async def check(platform: Any, entity: Entity) -> Observation | None:
    reservation = await platform.client.get(entity.entity_id)
    body: dict[str, Any] = reservation.model_dump(mode="json", exclude_none=True)
    status = str(body.get("status") or "")
    if status == "cancelled":
        payload = {
            "type": "reservation.cancelled",
            "timestamp": body.get("updated_at"),
            "data": body,
        }
        return Observation(
            status=status, final=True, payload=payload, content_type="application/json"
        )
    if status in ENDED or time.time() >= float(entity.context.get("until") or "inf"):
        return Observation(status=status, final=True, payload=None)
    return None
