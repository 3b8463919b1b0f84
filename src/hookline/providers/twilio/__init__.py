"""Twilio: SMS provider (docs/providers/twilio.md). Adapter, client, simulator, samples."""

from __future__ import annotations

from hookline.lazy import lazy
from hookline.messages import sms
from hookline.providers._sms.samples import form_samples
from hookline.providers.base import ProviderSpec, Sample
from hookline.providers.twilio.adapter import TwilioAdapter


def samples() -> tuple[Sample, ...]:
    return form_samples("hookline.providers.twilio", "Twilio status callback")


SPEC = ProviderSpec(
    "twilio",
    TwilioAdapter(),
    samples,
    family="sms",
    client=lazy("hookline.providers.twilio.client:from_settings"),
    reconcile=lazy("hookline.providers.twilio.reconcile:check"),
    simulator=lazy("hookline.providers.twilio.simulator:create_app"),
    simulator_port=8102,
    callback_source="sms-twilio",
    message_types=sms.MESSAGE_TYPES,
)

__all__ = ["SPEC", "TwilioAdapter", "samples"]
