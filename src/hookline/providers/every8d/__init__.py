"""Every8d: SMS provider (docs/providers/every8d.md). Adapter, client, simulator, samples."""

from __future__ import annotations

from hookline.lazy import lazy
from hookline.messages import sms
from hookline.providers._sms.samples import form_samples
from hookline.providers.base import ProviderSpec, Sample
from hookline.providers.every8d.adapter import Every8dAdapter


def samples() -> tuple[Sample, ...]:
    return form_samples("hookline.providers.every8d", "Every8d delivery report")


SPEC = ProviderSpec(
    "every8d",
    Every8dAdapter(),
    samples,
    family="sms",
    client=lazy("hookline.providers.every8d.client:from_settings"),
    reconcile=lazy("hookline.providers.every8d.reconcile:check"),
    simulator=lazy("hookline.providers.every8d.simulator:create_app"),
    simulator_port=8103,
    callback_source="every8d-dlr",
    message_types=sms.MESSAGE_TYPES,
)

__all__ = ["SPEC", "Every8dAdapter", "samples"]
