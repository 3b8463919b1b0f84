"""Load a provider's ``samples/*.json`` for ``hookline send``, in a stated order."""

from __future__ import annotations

import json
from importlib import resources

from hookline.providers.base import Sample


def load(package: str, descriptions: dict[str, str]) -> tuple[Sample, ...]:
    """The samples named in ``descriptions`` first (in that order), then any others by name."""
    folder = resources.files(package) / "samples"
    bodies = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".json"):
            body = entry.read_bytes()
            json.loads(body)  # a broken sample is a packaging bug; fail loudly
            bodies[entry.name.removesuffix(".json")] = body
    order = [n for n in descriptions if n in bodies] + sorted(
        n for n in bodies if n not in descriptions
    )
    return tuple(Sample(n, bodies[n], "application/json", descriptions.get(n, "")) for n in order)
