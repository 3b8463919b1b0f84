"""A worker factory for the crash test's subprocess: ``hookline worker tests.worker.crash_worker:build``."""

from __future__ import annotations

from hookline.config.models import HooklineSettings
from hookline.worker.registry import WorkerSpec
from tests.worker.support import provider_spec


async def build(settings: HooklineSettings) -> WorkerSpec:
    return provider_spec(settings, settings.services["crashtest"]["provider_url"])
