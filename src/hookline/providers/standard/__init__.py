"""The generic provider: any JSON body, Standard Webhooks payload shape when present."""

from hookline.providers.standard.adapter import StandardAdapter, samples

__all__ = ["StandardAdapter", "samples"]
