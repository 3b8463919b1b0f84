"""Mitake: SMS provider (docs/providers/mitake.md). Adapter, client, simulator, samples."""

from __future__ import annotations

from hookline.lazy import lazy
from hookline.messages import sms
from hookline.providers._sms.samples import form_samples
from hookline.providers.base import ProviderSpec, Sample
from hookline.providers.mitake.adapter import MitakeAdapter


def samples() -> tuple[Sample, ...]:
    return form_samples("hookline.providers.mitake", "Mitake delivery report")


SPEC = ProviderSpec(
    "mitake",
    MitakeAdapter(),
    samples,
    family="sms",
    client=lazy("hookline.providers.mitake.client:from_settings"),
    reconcile=lazy("hookline.providers.mitake.reconcile:check"),
    simulator=lazy("hookline.providers.mitake.simulator:create_app"),
    simulator_port=8104,
    callback_source="mitake-dlr",
    message_types=sms.MESSAGE_TYPES,
)

__all__ = ["SPEC", "MitakeAdapter", "samples"]
