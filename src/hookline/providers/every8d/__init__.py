"""Every8d: SMS provider (providers.md §2). Adapter, client, simulator, samples."""

from __future__ import annotations

from hookline.providers.base import ProviderSpec, Sample
from hookline.providers.every8d.adapter import Every8dAdapter
from hookline.services.sms.samples import form_samples


def samples() -> tuple[Sample, ...]:
    return form_samples("hookline.providers.every8d", "Every8d delivery report")


SPEC = ProviderSpec("every8d", Every8dAdapter(), samples)

__all__ = ["SPEC", "Every8dAdapter", "samples"]
