"""Shopify (generic provider): webhook adapter and sample deliveries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hookline.providers.base import ProviderSpec, Sample
from hookline.providers.samples import load_samples
from hookline.providers.shopify.adapter import (
    EVENT_ID_HEADER,
    SHOP_HEADER,
    TOPIC_HEADER,
    TRIGGERED_AT_HEADER,
    WEBHOOK_ID_HEADER,
    ShopifyAdapter,
)


def samples() -> tuple[Sample, ...]:
    """``<resource>-<action>.json``: the file name is the topic (``orders-create`` → ``orders/create``)."""
    return load_samples("hookline.providers.shopify")


def delivery(sample: Sample, delivery_id: str | None) -> tuple[bytes, dict[str, str]]:
    """The headers Shopify sends with a delivery (besides the HMAC)."""
    event_id = delivery_id or str(uuid.uuid4())
    return sample.body, {
        TOPIC_HEADER: sample.name.replace("-", "/", 1),
        SHOP_HEADER: "hookline-demo.myshopify.com",
        EVENT_ID_HEADER: event_id,
        WEBHOOK_ID_HEADER: str(uuid.uuid4()),
        TRIGGERED_AT_HEADER: datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "X-Shopify-API-Version": "2025-01",
    }


SPEC = ProviderSpec("shopify", ShopifyAdapter(), samples, {"delivery": delivery})

__all__ = ["SPEC", "ShopifyAdapter", "delivery", "samples"]
