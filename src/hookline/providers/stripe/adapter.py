"""Stripe events → ``stripe.<type>`` CloudEvents (e.g. ``stripe.invoice.paid``).

The provider event id is the Event's ``id`` (``evt_…``), the same on every
retry. The subject is ``data.object.id``; the time is ``created``.
``data`` keeps Stripe's ``object`` and ``previous_attributes`` as sent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hookline.envelope import CloudEvent, make_event, source_uri
from hookline.errors import NormalizationError
from hookline.providers.base import Acknowledgement, RawWebhook, require_mapping


def _created(payload: dict[str, Any], fallback: datetime) -> datetime:
    created = payload.get("created")
    if isinstance(created, int) and not isinstance(created, bool):
        try:
            return datetime.fromtimestamp(created, UTC)
        except (OverflowError, OSError, ValueError):
            return fallback
    return fallback


class StripeAdapter:
    provider = "stripe"
    domain: str | None = None
    content_types: tuple[str, ...] = ("application/json",)

    def normalize(self, raw: RawWebhook) -> list[CloudEvent]:
        payload = require_mapping(raw.payload)
        kind, event_id = payload.get("type"), payload.get("id")
        if not isinstance(kind, str) or not kind:
            raise NormalizationError("a Stripe event needs a type")
        if not isinstance(event_id, str) or not event_id:
            raise NormalizationError("a Stripe event needs an id")
        data = payload.get("data")
        obj = data.get("object") if isinstance(data, dict) else None
        subject = (
            obj.get("id") if isinstance(obj, dict) and isinstance(obj.get("id"), str) else None
        )
        extra = {k: payload[k] for k in ("livemode", "api_version", "account") if k in payload}
        return [
            make_event(
                source=source_uri(raw.source),
                type=f"stripe.{kind}",
                subject=subject,
                data={**(data if isinstance(data, dict) else {}), **extra},
                provider=raw.provider,
                provider_event_id=event_id,
                time=_created(payload, raw.received_at),
                traceparent=raw.traceparent,
            )
        ]

    def acknowledgement(self, events: list[CloudEvent]) -> Acknowledgement | None:
        return None
