"""The ``colt`` worker factory (``hookline worker colt``)."""

from __future__ import annotations

from hookline.bus.topics import Topics
from hookline.config.models import HooklineSettings
from hookline.providers.colt.client import from_settings
from hookline.services.colt.handlers import ColtHandlers
from hookline.services.colt.thresholds import Thresholds
from hookline.services.colt.watch import Schedule
from hookline.worker.registry import WorkerSpec


async def create_worker(settings: HooklineSettings) -> WorkerSpec:
    client = from_settings(settings)
    handlers = ColtHandlers(
        client,
        Thresholds.from_config(settings.services.get("colt", {})),
        Schedule(settings.worker.retry_tiers),
    )
    topics = Topics(settings.kafka.topic_prefix)
    return WorkerSpec(
        service="colt",
        topics=[topics.commands("colt")],
        handlers=handlers.registry(),
        close=client.aclose,
        on_exhausted=handlers.exhausted,
    )
