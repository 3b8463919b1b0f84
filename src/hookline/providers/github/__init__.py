"""GitHub (generic provider): webhook adapter and sample deliveries."""

from __future__ import annotations

import uuid

from hookline.providers.base import ProviderSpec, Sample
from hookline.providers.github.adapter import DELIVERY_HEADER, EVENT_HEADER, GithubAdapter
from hookline.providers.samples import load_samples


def samples() -> tuple[Sample, ...]:
    """``<event>[.<action>].json``: the file name says which X-GitHub-Event it is."""
    return load_samples("hookline.providers.github")


def delivery(sample: Sample, delivery_id: str | None) -> tuple[bytes, dict[str, str]]:
    """The headers GitHub sends with a delivery (besides the signature)."""
    return sample.body, {
        EVENT_HEADER: sample.name.split(".", 1)[0],
        DELIVERY_HEADER: delivery_id or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "412345678",
        "User-Agent": "GitHub-Hookshot/2d0a3bb",
    }


SPEC = ProviderSpec("github", GithubAdapter(), samples, {"delivery": delivery})

__all__ = ["SPEC", "GithubAdapter", "delivery", "samples"]
