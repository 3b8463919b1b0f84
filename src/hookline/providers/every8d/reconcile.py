"""Every8d's delivery-status query read as the report it stands for (docs/reconcile.md)."""

from __future__ import annotations

from typing import Any

from hookline.providers.every8d.adapter import STATUS
from hookline.providers.reconcile import Entity, Observation


async def check(client: Any, entity: Entity) -> Observation | None:
    status = str(await client.status(entity.entity_id))
    meaning = STATUS.get(status)
    if meaning is None:
        return None
    to = str(entity.context["to"])
    return Observation(
        status=status,
        final=meaning.outcome in ("delivered", "undelivered"),
        payload={
            "BatchID": entity.entity_id,
            # The report's Mobile is DEST as the client sent it (E.164); the event id holds it.
            "Mobile": to,
            "Subject": entity.subject,
            "Status": status,
        },
    )
