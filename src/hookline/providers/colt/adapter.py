"""Colt notifications → ``colt.*`` CloudEvents (docs/providers/colt.md#webhooks). Pure.

``order.state_changed`` becomes ``colt.order.state_changed`` keyed by order id;
``service.alert`` becomes ``colt.service.utilization_high`` or
``colt.service.availability_low`` keyed by service id. The provider event id is
Colt's ``eventId`` (the ``X-Colt-Event-Id`` header when the body lacks it), except
for a final order status (``completed``, ``rejected``, ``cancelled``): there it is
``"{orderId}:{status}"``, which the reconciler can rebuild from the status API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from hookline.envelope import CloudEvent, make_event, source_uri
from hookline.errors import NormalizationError
from hookline.messages.colt import (
    DEFAULT_AVAILABILITY_THRESHOLD,
    DEFAULT_UTILIZATION_THRESHOLD,
    AvailabilityLow,
    OrderStateChanged,
    TechnicalContact,
    UtilizationHigh,
)
from hookline.providers.base import Acknowledgement, RawWebhook, require_mapping
from hookline.providers.colt.models import (
    ColtContact,
    ColtNotification,
    ColtOrderChange,
    ColtServiceAlert,
    to_e164,
)

ORDER_STATE_CHANGED = "colt.order.state_changed"
UTILIZATION_HIGH = "colt.service.utilization_high"
AVAILABILITY_LOW = "colt.service.availability_low"


# docs/providers/colt.md#webhooks: a final status's provider event id is "{orderId}:{status}".
FINAL_ORDER_STATUSES = frozenset({"completed", "rejected", "cancelled"})


def final_event_id(order_id: str, status: str) -> str:
    return f"{order_id}:{status}"


def _time(raw: str | None, fallback: datetime) -> datetime:
    if not raw:
        return fallback
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return fallback
    return parsed if parsed.tzinfo is not None else fallback


def _contact(contact: ColtContact) -> TechnicalContact:
    return TechnicalContact(
        name=contact.name, email=contact.email, phone=to_e164(contact.phone), role=contact.role
    )


def order_state_changed(change: ColtOrderChange) -> OrderStateChanged:
    contacts = [_contact(c) for c in change.technicalContacts]
    primary = next((c for c in contacts if c.role == "primary"), contacts[0] if contacts else None)
    return OrderStateChanged(
        order_id=change.orderId,
        quote_id=change.quoteId,
        purchase_order_number=change.purchaseOrderNumber,
        previous_status=change.previousStatus,
        status=change.status,
        percent_complete=change.percentComplete,
        service_id=change.serviceId,
        estimated_completion_date=change.estimatedCompletionDate,
        reason=change.reason,
        technical_contact=primary,
        technical_contacts=contacts,
    )


def service_alert(alert: ColtServiceAlert) -> tuple[str, UtilizationHigh | AvailabilityLow]:
    if alert.alertType == "utilization":
        return UTILIZATION_HIGH, UtilizationHigh(
            service_id=alert.serviceId,
            peak_utilization_percent=alert.value,
            threshold_percent=alert.threshold
            if alert.threshold is not None
            else DEFAULT_UTILIZATION_THRESHOLD,
            period_start=alert.periodStart,
            period_end=alert.periodEnd,
            origin="webhook",
        )
    return AVAILABILITY_LOW, AvailabilityLow(
        service_id=alert.serviceId,
        availability_percent=alert.value,
        threshold_percent=alert.threshold
        if alert.threshold is not None
        else DEFAULT_AVAILABILITY_THRESHOLD,
        period_start=alert.periodStart,
        period_end=alert.periodEnd,
        origin="webhook",
    )


def _validation_text(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return f"{where}: {first['msg']}"


class ColtAdapter:
    provider = "colt"
    domain: str | None = "colt"
    content_types: tuple[str, ...] = ("application/json",)

    def normalize(self, raw: RawWebhook) -> list[CloudEvent]:
        payload: dict[str, Any] = dict(require_mapping(raw.payload, "a Colt notification"))
        if "eventId" not in payload and raw.headers.get("x-colt-event-id"):
            payload["eventId"] = raw.headers["x-colt-event-id"]
        try:
            note = ColtNotification.model_validate(payload)
            if note.eventType == "order.state_changed":
                change = ColtOrderChange.model_validate(note.data)
                type_: str = ORDER_STATE_CHANGED
                data: Any = order_state_changed(change)
                subject = change.orderId
                if change.status in FINAL_ORDER_STATUSES:
                    # An order reaches a final status once, so its id names the change itself:
                    # the reconciler (services/reconcile) builds the same id from the status API.
                    note = note.model_copy(
                        update={"eventId": final_event_id(change.orderId, change.status)}
                    )
            elif note.eventType == "service.alert":
                alert = ColtServiceAlert.model_validate(note.data)
                type_, data = service_alert(alert)
                subject = alert.serviceId
            else:
                raise NormalizationError(f"unknown Colt eventType {note.eventType!r}")
        except ValidationError as exc:
            raise NormalizationError(f"invalid Colt notification: {_validation_text(exc)}") from exc
        return [
            make_event(
                source=source_uri(raw.source),
                type=type_,
                subject=subject,
                data=data.model_dump(mode="json"),
                provider=self.provider,
                provider_event_id=note.eventId,
                time=_time(note.occurredAt, raw.received_at),
                traceparent=raw.traceparent,
            )
        ]

    def acknowledgement(self, events: list[CloudEvent]) -> Acknowledgement | None:
        return None
