"""Mitake: SMS provider (providers.md §2). Adapter, client, simulator, samples."""

from __future__ import annotations

from hookline.providers.base import ProviderSpec, Sample
from hookline.providers.mitake.adapter import MitakeAdapter
from hookline.services.sms.samples import form_samples


def samples() -> tuple[Sample, ...]:
    return form_samples("hookline.providers.mitake", "Mitake delivery report")


SPEC = ProviderSpec("mitake", MitakeAdapter(), samples)

__all__ = ["SPEC", "MitakeAdapter", "samples"]
