"""The ``reservation`` worker factory (``hookline worker reservation``)."""

from __future__ import annotations

from hookline.bus.topics import Topics
from hookline.config.models import HooklineSettings
from hookline.errors import ConfigError
from hookline.providers import registry
from hookline.providers._reservation.platform import Platform
from hookline.services.reservation.handlers import SERVICE, ReservationHandlers
from hookline.worker.registry import WorkerSpec


def build_platforms(settings: HooklineSettings) -> dict[str, Platform]:
    """A :class:`Platform` for every registered reservation provider under ``providers``."""
    return {
        spec.name: spec.client(settings)
        for spec in registry.family("reservation")
        if spec.client is not None and spec.name in settings.providers
    }


async def create_worker(settings: HooklineSettings) -> WorkerSpec:
    platforms = build_platforms(settings)
    if not platforms:
        names = ", ".join(f"providers.{spec.name}" for spec in registry.family("reservation"))
        raise ConfigError(f"worker reservation needs at least one of {names} in the configuration")

    async def close() -> None:
        for platform in platforms.values():
            await platform.aclose()

    topics = Topics(settings.kafka.topic_prefix)
    handlers = ReservationHandlers(platforms)
    return WorkerSpec(
        service=SERVICE,
        topics=[topics.commands(SERVICE)],
        handlers=handlers.registry(),
        close=close,
        on_exhausted=handlers.exhausted,
    )
