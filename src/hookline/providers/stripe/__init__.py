"""Stripe (generic provider): webhook adapter and sample events."""

from __future__ import annotations

import json

from hookline.providers.base import ProviderSpec, Sample
from hookline.providers.samples import load_samples
from hookline.providers.stripe.adapter import StripeAdapter


def samples() -> tuple[Sample, ...]:
    return load_samples("hookline.providers.stripe")


def delivery(sample: Sample, delivery_id: str | None) -> tuple[bytes, dict[str, str]]:
    """Stripe's delivery id is the Event id in the body; a fresh one means a new event."""
    if delivery_id is None:
        return sample.body, {"User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}
    payload = json.loads(sample.body)
    payload["id"] = "evt_" + delivery_id.removeprefix("msg_")[:24]
    return json.dumps(payload, indent=2).encode(), {
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
    }


SPEC = ProviderSpec("stripe", StripeAdapter(), samples, {"delivery": delivery})

__all__ = ["SPEC", "StripeAdapter", "delivery", "samples"]
