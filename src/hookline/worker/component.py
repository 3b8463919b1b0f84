"""Workers as a part of ``hookline run`` (the cli/process Component protocol)."""

from __future__ import annotations

import asyncio

from hookline.config.models import HooklineSettings
from hookline.config.watch import SecretWatcher
from hookline.observability.masking import SECRETS
from hookline.worker.registry import get
from hookline.worker.runtime import Worker


class WorkerComponent:
    """Starts the named workers (each its own consumer-group member); stops them gracefully."""

    def __init__(
        self,
        settings: HooklineSettings,
        names: list[str],
        *,
        bootstrap_servers: str | None = None,
    ) -> None:
        self.name = "workers" if len(names) != 1 else f"worker {names[0]}"
        self.settings = settings
        self.names = list(names)
        self._bootstrap = bootstrap_servers
        self.workers: list[Worker] = []
        self._secrets: SecretWatcher | None = None

    async def start(self) -> None:
        factories = [get(name) for name in self.names]  # unknown names fail before anything starts
        try:
            for factory in factories:
                spec = await factory(self.settings)
                self.workers.append(Worker(self.settings, spec, bootstrap_servers=self._bootstrap))
            # After the factories: a client may keep a provider extra as a Secret in the settings.
            self._secrets = watch_secrets(self.settings)
            # Concurrently: each group join takes seconds on the embedded broker, and
            # one after another they would keep the last worker idle for all of them.
            await asyncio.gather(*(worker.start() for worker in self.workers))
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        workers, self.workers = self.workers, []
        # Concurrently: each worker's grace period runs at the same time, not one after another.
        await asyncio.gather(*(worker.stop() for worker in workers))
        secrets, self._secrets = self._secrets, None
        if secrets is not None:
            await secrets.stop()

    def where(self) -> str:
        if not self.workers:
            return ", ".join(self.names)
        prefix = self.settings.kafka.topic_prefix
        return f"{', '.join(w.service for w in self.workers)}  (consumer groups {prefix}.worker.<name>)"


def watch_secrets(settings: HooklineSettings) -> SecretWatcher:
    """Outbound credentials read their Secret at each request; this keeps file: ones current."""
    watcher = SecretWatcher.for_settings(settings)
    # A new value is masked in logs like the ones read at start-up.
    watcher.subscribe(lambda changes: SECRETS.add(c.value for c in changes))
    watcher.start()
    return watcher
