"""A worker with no handlers for the lifecycle tests: ``hookline worker tests.cli.idle_worker:build``."""

from __future__ import annotations

from hookline.config.models import HooklineSettings
from hookline.worker.handlers import HandlerRegistry
from hookline.worker.registry import WorkerSpec


async def build(settings: HooklineSettings) -> WorkerSpec:
    return WorkerSpec(
        service="idle",
        topics=[f"{settings.kafka.topic_prefix}.idle"],
        handlers=HandlerRegistry(),
    )
