"""Load a provider's ``samples/*.json`` for ``hookline send``, in a stated order."""

from __future__ import annotations

from hookline.providers.base import Sample
from hookline.providers.samples import load_samples


def load(package: str, descriptions: dict[str, str]) -> tuple[Sample, ...]:
    """The samples named in ``descriptions`` first (in that order), then any others by name."""
    return load_samples(package, descriptions)
