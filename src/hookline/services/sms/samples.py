"""Delivery-report samples for ``hookline send``, read from a provider folder's ``samples/``."""

from __future__ import annotations

from importlib import resources
from urllib.parse import parse_qsl

from hookline.providers.base import Sample

FORM = "application/x-www-form-urlencoded"


def form_samples(package: str, description: str) -> tuple[Sample, ...]:
    folder = resources.files(package) / "samples"
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".form"):
            body = entry.read_bytes().strip()
            parse_qsl(body.decode(), strict_parsing=True)  # a broken sample is a packaging bug
            out.append(Sample(entry.name.removesuffix(".form"), body, FORM, description))
    return tuple(out)
