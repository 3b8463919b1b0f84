"""``GET /metrics``: the Prometheus text exposition, served by the ingress and by worker probes.

It lives here, beside the registry, so that a worker process can serve it
without importing the ingress.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from hookline.observability import metrics

__all__ = ["metrics_endpoint"]


async def metrics_endpoint(_: Request) -> Response:
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)
