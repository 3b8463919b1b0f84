"""GitHub (generic provider): webhook adapter and sample deliveries."""

from __future__ import annotations

import json
import uuid
from importlib import resources

from hookline.providers.base import ProviderSpec, Sample
from hookline.providers.github.adapter import DELIVERY_HEADER, EVENT_HEADER, GithubAdapter


def samples() -> tuple[Sample, ...]:
    """``<event>[.<action>].json``: the file name says which X-GitHub-Event it is."""
    folder = resources.files("hookline.providers.github") / "samples"
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            body = entry.read_bytes()
            json.loads(body)  # a broken sample is a packaging bug; fail loudly
            out.append(Sample(entry.name.removesuffix(".json"), body, "application/json"))
    return tuple(out)


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
