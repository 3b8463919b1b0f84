"""Twilio's Message resource read as the status callback it stands for (docs/reconcile.md)."""

from __future__ import annotations

from typing import Any

from hookline.providers.reconcile import Entity, Observation

FINAL = frozenset({"delivered", "undelivered", "failed"})


async def check(client: Any, entity: Entity) -> Observation | None:
    status = str(await client.status(entity.entity_id))
    if status == "unknown":
        return None
    return Observation(
        status=status,
        final=status in FINAL,
        payload={
            "MessageSid": entity.entity_id,
            "MessageStatus": status,
            "To": entity.context["to"],
        },
        query={"ref": entity.subject},
    )
