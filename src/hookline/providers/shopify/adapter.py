"""Shopify webhooks → ``shopify.<topic>`` CloudEvents (``orders/create`` → ``shopify.orders.create``).

The provider event id is ``X-Shopify-Event-Id``, which Shopify documents as
the key for ignoring duplicates; ``X-Shopify-Webhook-Id`` is the fallback
for older deliveries. The subject is the resource's ``id``; the time is
``X-Shopify-Triggered-At``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hookline.envelope import CloudEvent, make_event, source_uri
from hookline.errors import NormalizationError
from hookline.providers.base import Acknowledgement, RawWebhook, require_mapping

TOPIC_HEADER = "X-Shopify-Topic"
EVENT_ID_HEADER = "X-Shopify-Event-Id"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"
TRIGGERED_AT_HEADER = "X-Shopify-Triggered-At"
SHOP_HEADER = "X-Shopify-Shop-Domain"


def _time(value: str | None, fallback: datetime) -> datetime:
    if not value:
        return fallback
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return fallback
    return parsed if parsed.tzinfo is not None else fallback


def _subject(payload: dict[str, Any]) -> str | None:
    value = payload.get("admin_graphql_api_id") or payload.get("id")
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


class ShopifyAdapter:
    provider = "shopify"
    domain: str | None = None
    content_types: tuple[str, ...] = ("application/json",)

    def normalize(self, raw: RawWebhook) -> list[CloudEvent]:
        topic = raw.headers.get(TOPIC_HEADER, "").strip()
        if not topic:
            raise NormalizationError(f"{TOPIC_HEADER} header is missing")
        payload = require_mapping(raw.payload)
        delivery = raw.headers.get(EVENT_ID_HEADER) or raw.headers.get(WEBHOOK_ID_HEADER)
        return [
            make_event(
                source=source_uri(raw.source),
                type="shopify." + topic.replace("/", "."),
                subject=_subject(payload),
                data=payload,
                provider=raw.provider,
                provider_event_id=delivery or None,
                time=_time(raw.headers.get(TRIGGERED_AT_HEADER), raw.received_at),
                traceparent=raw.traceparent,
                shop=raw.headers.get(SHOP_HEADER),
            )
        ]

    def acknowledgement(self, events: list[CloudEvent]) -> Acknowledgement | None:
        return None
