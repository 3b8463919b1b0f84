"""The ``reservation`` worker factory (``hookline worker reservation``)."""

from __future__ import annotations

from hookline.bus.topics import Topics
from hookline.config.models import HooklineSettings
from hookline.errors import ConfigError
from hookline.services.reservation.clients import build_platforms
from hookline.services.reservation.handlers import SERVICE, ReservationHandlers
from hookline.worker.registry import WorkerSpec


async def create_worker(settings: HooklineSettings) -> WorkerSpec:
    platforms, apis = build_platforms(settings)
    if not platforms:
        raise ConfigError(
            "worker reservation needs at least one of providers.opentable, providers.recreation_gov, "
            "providers.shell_recharge in the configuration"
        )

    async def close() -> None:
        for api in apis:
            await api.aclose()

    topics = Topics(settings.kafka.topic_prefix)
    handlers = ReservationHandlers(platforms)
    return WorkerSpec(
        service=SERVICE,
        topics=[topics.commands(SERVICE)],
        handlers=handlers.registry(),
        close=close,
        on_exhausted=handlers.exhausted,
    )
