"""Colt eBonding v5: notification adapter, API client, simulator (docs/providers/colt.md)."""

from __future__ import annotations

from hookline.lazy import lazy
from hookline.messages import colt
from hookline.providers.base import ProviderSpec, Sample
from hookline.providers.colt.adapter import ColtAdapter
from hookline.providers.samples import load_samples

_DESCRIPTIONS = {
    "order-in-progress": "order.state_changed acknowledged → in_progress",
    "order-completed": "order.state_changed in_progress → completed, with serviceId",
    "order-delayed": "order.state_changed in_progress → delayed (wayleave pending)",
    "service-alert-utilization": "service.alert: peak utilization 93.4 % > 90 %",
    "service-alert-availability": "service.alert: availability 99.5 % < 99.9 %",
}


def samples() -> tuple[Sample, ...]:
    """Realistic Colt notification bodies for ``hookline send colt [SAMPLE]``."""
    return load_samples(__name__, _DESCRIPTIONS)


SPEC = ProviderSpec(
    "colt",
    ColtAdapter(),
    samples,
    family="colt",
    client=lazy("hookline.providers.colt.client:from_settings"),
    reconcile=lazy("hookline.providers.colt.reconcile:check"),
    simulator=lazy("hookline.providers.colt.simulator:create_app"),
    simulator_port=8101,
    callback_source="colt",
    message_types=colt.MESSAGE_TYPES,
)

__all__ = ["SPEC", "ColtAdapter", "samples"]
