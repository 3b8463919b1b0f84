"""Mitake's message-status query read as the report it stands for (docs/reconcile.md)."""

from __future__ import annotations

from typing import Any

from hookline.messages.phone import is_taiwan, taiwan_national
from hookline.providers.mitake.adapter import STATUS_FLAG
from hookline.providers.reconcile import Entity, Observation


async def check(client: Any, entity: Entity) -> Observation | None:
    flag = str(await client.status(entity.entity_id))
    meaning = STATUS_FLAG.get(flag)
    if meaning is None:
        return None
    to = str(entity.context["to"])
    return Observation(
        status=flag,
        final=meaning.outcome in ("delivered", "undelivered"),
        payload={},
        query={
            "ref": entity.subject,
            "msgid": entity.entity_id,
            "dstaddr": taiwan_national(to) if is_taiwan(to) else to.lstrip("+"),
            "StatusFlag": flag,
        },
    )
