"""``GET /healthz`` and ``GET /metrics`` for a ``hookline worker`` process.

A worker has no HTTP surface of its own, so without this its metrics (records
handled, retried, dead-lettered, consumer lag, provider calls) cannot be
scraped and Kubernetes cannot tell a hung worker from a busy one. Liveness is
"every fetch loop is running and turned within ``worker.stall_seconds``": a
turn takes at most a poll timeout or a back-pressure wait, whatever the
handlers are doing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hookline.observability.exposition import metrics_endpoint
from hookline.worker.runtime import Worker


def probe_app(
    workers: Callable[[], Sequence[Worker]],
    stall_seconds: float,
    starting: Callable[[], bool] | None = None,
) -> Starlette:
    """``starting`` says whether the workers are still starting (e.g. waiting for Kafka)."""

    async def healthz(_: Request) -> Response:
        if starting is not None and starting():
            # Waiting for Kafka is not hung: a restart would only wait again.
            return JSONResponse({"status": "starting"})
        current = workers()
        problems = {
            w.service: problem for w in current if (problem := w.problem(stall_seconds)) is not None
        }
        if not current:
            problems["workers"] = "none started"
        if problems:
            return JSONResponse({"status": "unhealthy", "problems": problems}, status_code=503)
        return JSONResponse({"status": "ok", "workers": sorted(w.service for w in current)})

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
        ]
    )
