"""Load a provider's ``samples/`` folder for ``hookline send`` (one loader for every provider)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from urllib.parse import parse_qsl

from hookline.providers.base import FORM_TYPES, JSON_TYPES, Sample

_KINDS = {".json": JSON_TYPES[0], ".form": FORM_TYPES[0]}


def load_samples(
    package: str, descriptions: Mapping[str, str] | None = None, *, suffix: str = ".json"
) -> tuple[Sample, ...]:
    """``samples/*<suffix>`` of ``package``: described ones first in that order, then by name.

    Every body is parsed once here, so a broken sample fails loudly (a packaging bug).
    """
    described = descriptions or {}
    content_type = _KINDS[suffix]
    bodies: dict[str, bytes] = {}
    for entry in (resources.files(package) / "samples").iterdir():
        if not entry.name.endswith(suffix):
            continue
        body = entry.read_bytes()
        if suffix == ".form":
            body = body.strip()
            parse_qsl(body.decode(), strict_parsing=True)
        else:
            json.loads(body)
        bodies[entry.name.removesuffix(suffix)] = body
    order = [n for n in described if n in bodies] + sorted(n for n in bodies if n not in described)
    return tuple(Sample(n, bodies[n], content_type, described.get(n, "")) for n in order)
