"""Shell Recharge's ``GET /sessions/{id}`` read as the webhook it stands for (docs/reconcile.md).

Only a session's end (``completed``, ``failed``) is published: its provider
event id ``"{session_id}:{status}"`` is the callback's (providers/shell_recharge/adapter.py);
progress is left to the callbacks.
"""

from __future__ import annotations

from typing import Any

from hookline.providers.reconcile import Entity, Observation
from hookline.providers.shell_recharge.adapter import FINAL_SESSION_EVENTS


async def check(platform: Any, entity: Entity) -> Observation | None:
    response = await platform.client.api.request(
        "GET", f"/sessions/{entity.entity_id}", endpoint="session"
    )
    body: dict[str, Any] = response.json()
    status = str(body.get("status") or "")
    if status not in FINAL_SESSION_EVENTS:
        return None
    if status == "failed" and not isinstance(body.get("failure"), dict):
        body["failure"] = {"code": "UNKNOWN", "message": "failed (read from the session's status)"}
    payload = {
        "id": f"{entity.entity_id}:{status}",
        "type": f"session.{status}",
        "created_at": body.get("ended_at"),
        "data": body,
    }
    return Observation(status=status, final=True, payload=payload, content_type="application/json")
