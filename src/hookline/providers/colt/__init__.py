"""Colt eBonding v5: notification adapter, API client, simulator (providers.md §1)."""

from __future__ import annotations

import json
from importlib import resources

from hookline.providers.base import ProviderSpec, Sample
from hookline.providers.colt.adapter import ColtAdapter

_DESCRIPTIONS = {
    "order-in-progress": "order.state_changed acknowledged → in_progress",
    "order-completed": "order.state_changed in_progress → completed, with serviceId",
    "order-delayed": "order.state_changed in_progress → delayed (wayleave pending)",
    "service-alert-utilization": "service.alert: peak utilization 93.4 % > 90 %",
    "service-alert-availability": "service.alert: availability 99.5 % < 99.9 %",
}


def samples() -> tuple[Sample, ...]:
    """Realistic Colt notification bodies for ``hookline send colt [SAMPLE]``."""
    folder = resources.files(__name__) / "samples"
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            body = entry.read_bytes()
            json.loads(body)  # a broken sample is a packaging bug; fail loudly
            name = entry.name.removesuffix(".json")
            out.append(Sample(name, body, "application/json", _DESCRIPTIONS.get(name, "")))
    return tuple(out)


SPEC = ProviderSpec("colt", ColtAdapter(), samples)

__all__ = ["SPEC", "ColtAdapter", "samples"]
