"""Colt's ``GET /orders/{id}/status`` read as the notification it stands for (docs/reconcile.md).

Only a final status (``completed``, ``rejected``, ``cancelled``) has an id the
reconciler can rebuild (``"{orderId}:{status}"``, providers/colt/adapter.py);
an intermediate change is reported with its own id (``reconciled:…``), so a
late callback of the same change is a second, distinct event.
"""

from __future__ import annotations

from typing import Any

from hookline.providers.colt.adapter import FINAL_ORDER_STATUSES, final_event_id
from hookline.providers.reconcile import Entity, Observation


async def check(client: Any, entity: Entity) -> Observation | None:
    answer: dict[str, Any] = await client.order_status(entity.entity_id)
    status = str(answer.get("overallStatus") or "")
    if not status:
        return None
    final = status in FINAL_ORDER_STATUSES
    event_id = (
        final_event_id(entity.entity_id, status)
        if final
        else f"reconciled:{entity.entity_id}:{status}:{answer.get('percentComplete')}"
    )
    data = {
        "orderId": entity.entity_id,
        "quoteId": answer.get("quoteId") or entity.context.get("quote_id") or "",
        "purchaseOrderNumber": answer.get("purchaseOrderNumber")
        or entity.context.get("purchase_order_number")
        or "",
        "previousStatus": entity.status,
        "status": status,
        "percentComplete": answer.get("percentComplete"),
        "serviceId": answer.get("serviceId"),
        "estimatedCompletionDate": answer.get("estimatedCompletionDate"),
        "reason": answer.get("reason"),
        # The status answer carries no contacts: the ones the order was submitted with.
        "technicalContacts": entity.context.get("technical_contacts", []),
    }
    payload = {
        "eventId": event_id,
        "eventType": "order.state_changed",
        "occurredAt": answer.get("lastUpdated"),
        "data": data,
    }
    return Observation(status=status, final=final, payload=payload, content_type="application/json")
