"""Worker ``colt`` tests reuse the Colt stack (simulator + ingress) and add a real worker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from hookline.config.models import HooklineSettings
from hookline.services.colt.worker import create_worker
from hookline.worker.runtime import Worker
from tests.providers.colt.conftest import colt, start_colt

__all__ = ["colt", "running_worker", "start_colt"]


@asynccontextmanager
async def running_worker(settings: HooklineSettings) -> AsyncIterator[Worker]:
    """The real ``colt`` worker runtime, in this process, consuming commands.colt."""
    worker = Worker(settings, await create_worker(settings))
    await worker.start()
    try:
        yield worker
    finally:
        await worker.stop()
