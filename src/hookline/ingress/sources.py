"""Each configured source, prepared once: its scheme, adapter and topic."""

from __future__ import annotations

from dataclasses import dataclass

from hookline.bus.topics import Topics
from hookline.config.models import SourceSettings
from hookline.providers.base import Adapter, webhook_methods
from hookline.providers.registry import PROVIDERS
from hookline.signatures import build_scheme
from hookline.signatures.base import Scheme


@dataclass(frozen=True)
class Source:
    name: str
    settings: SourceSettings
    scheme: Scheme | None
    adapter: Adapter
    topic: str
    methods: tuple[str, ...] = ("POST",)


def prepare_sources(sources: dict[str, SourceSettings], topics: Topics) -> dict[str, Source]:
    prepared = {}
    for name, settings in sources.items():
        adapter = PROVIDERS[settings.provider].adapter
        scheme = None if settings.verify.scheme == "none" else build_scheme(settings.verify)
        prepared[name] = Source(
            name=name,
            settings=settings,
            scheme=scheme,
            adapter=adapter,
            topic=topics.events(adapter.domain or name),
            methods=webhook_methods(adapter),
        )
    return prepared
