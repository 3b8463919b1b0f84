"""The generic provider: any JSON body, Standard Webhooks payload shape when present."""

from hookline.providers.base import ProviderSpec
from hookline.providers.standard.adapter import StandardAdapter, samples

SPEC = ProviderSpec("standard", StandardAdapter(), samples)

__all__ = ["SPEC", "StandardAdapter", "samples"]
