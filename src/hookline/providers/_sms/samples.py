"""Delivery-report samples for ``hookline send``, read from a provider folder's ``samples/``."""

from __future__ import annotations

from hookline.providers.base import Sample
from hookline.providers.samples import load_samples

FORM = "application/x-www-form-urlencoded"


def form_samples(package: str, description: str) -> tuple[Sample, ...]:
    loaded = load_samples(package, suffix=".form")
    return tuple(Sample(s.name, s.body, s.content_type, description) for s in loaded)
