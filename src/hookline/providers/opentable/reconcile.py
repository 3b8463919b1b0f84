"""OpenTable's ``GET /reservations/{id}`` read as the webhook it stands for (docs/reconcile.md).

- ``cancelled`` (final): ``reservation.cancelled`` with provider event id
  ``"{reservation_id}:cancelled"``, the callback's (providers/opentable/adapter.py);
  who and why from the read's ``cancelled_by`` / ``reason``.
- ``completed`` / ``no_show``, or still booked after its day: the entity is
  closed, nothing published (no callback carries these).
- a date, time or party size other than the last one hookline saw:
  ``reservation.modified`` with the changes, under an id of its own
  (``reconciled:{id}:modified:{date}:{time}:{party}``): the callback's
  ``webhook-id`` cannot be rebuilt, so a late callback of the same change is a
  second, distinct event (the limit Colt's intermediate statuses have).
"""

from __future__ import annotations

import time
from typing import Any

from hookline.providers.reconcile import Entity, Observation

# Statuses after which nothing about the booking changes any more (no callback carries them).
ENDED = frozenset({"completed", "no_show"})
# What a modification changes, in the read's words (the same as the events').
DETAILS = ("date", "time", "party_size")


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
    return _modified(entity, status, body)


def _modified(entity: Entity, status: str, body: dict[str, Any]) -> Observation | None:
    known: dict[str, Any] = entity.context.get("booking") or {}
    now = {k: body.get(k) for k in DETAILS}
    changes = {
        k: {"from": known[k], "to": now[k]} for k in DETAILS if k in known and known[k] != now[k]
    }
    if not changes:
        return None
    event_id = f"reconciled:{entity.entity_id}:modified:" + ":".join(str(now[k]) for k in DETAILS)
    payload = {
        "type": "reservation.modified",
        "timestamp": body.get("updated_at"),
        "data": {**body, "changes": changes},
    }
    return Observation(
        status=status,
        final=False,
        payload=payload,
        content_type="application/json",
        headers={"webhook-id": event_id},
        news=True,
        context={"booking": {**known, **now}},
    )
