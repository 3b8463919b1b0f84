"""Twilio: SMS provider (providers.md §2). Adapter, client, simulator, samples."""

from __future__ import annotations

from hookline.providers.base import ProviderSpec, Sample
from hookline.providers.twilio.adapter import TwilioAdapter
from hookline.services.sms.samples import form_samples


def samples() -> tuple[Sample, ...]:
    return form_samples("hookline.providers.twilio", "Twilio status callback")


SPEC = ProviderSpec("twilio", TwilioAdapter(), samples)

__all__ = ["SPEC", "TwilioAdapter", "samples"]
