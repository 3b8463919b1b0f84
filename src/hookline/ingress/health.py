"""Liveness and readiness (can we reach Kafka? do the providers that readiness needs
pass their health probes?); ``/metrics`` comes from observability."""

from __future__ import annotations

import asyncio
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hookline.bus.publisher import Publisher
from hookline.observability import metrics
from hookline.providers.health import ProviderProbes


class KafkaReadiness:
    """Asks the broker for metadata, at most once per ``cache_seconds``."""

    def __init__(
        self, publisher: Publisher, timeout: float = 2.0, cache_seconds: float = 1.0
    ) -> None:
        self._publisher = publisher
        self._timeout = timeout
        self._cache = cache_seconds
        self._checked_at = 0.0
        self._ready = False
        self._lock = asyncio.Lock()

    async def ready(self) -> bool:
        async with self._lock:
            if time.monotonic() - self._checked_at < self._cache:
                return self._ready
            producer = self._publisher.producer
            try:
                if producer is None:  # Kafka has not answered since start-up
                    self._ready = False
                else:
                    async with asyncio.timeout(self._timeout):
                        ok = await producer.client.fetch_all_metadata()
                    self._ready = ok is not None and bool(ok.brokers())
            except Exception:
                self._ready = False
            self._checked_at = time.monotonic()
            metrics.KAFKA_READY.set(1 if self._ready else 0)
            return self._ready


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


def readyz(readiness: KafkaReadiness, probes: ProviderProbes | None = None):  # type: ignore[no-untyped-def]
    async def endpoint(_: Request) -> Response:
        kafka = await readiness.ready()
        # Only providers configured with health.required_for_ready count.
        failing = probes.failing_required() if probes is not None else []
        body: dict[str, object] = {"kafka": "ok" if kafka else "unreachable"}
        if failing:
            body["providers_down"] = failing
        if kafka and not failing:
            return JSONResponse({"status": "ready", **body})
        return JSONResponse({"status": "not ready", **body}, status_code=503)

    return endpoint
