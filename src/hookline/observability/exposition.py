"""``GET /metrics``: served by the ingress and by worker probes, in the format the scraper asks for.

A scraper whose ``Accept`` names ``application/openmetrics-text`` (Prometheus
does when exemplar storage is on, and by default since 3.0) gets OpenMetrics,
the only format that carries exemplars (:mod:`hookline.observability.exemplars`);
anything else gets the classic text format. prometheus_client's own
``choose_encoder`` picks, so the negotiation is the library's.

It lives here, beside the registry, so that a worker process can serve it
without importing the ingress.
"""

from __future__ import annotations

from prometheus_client.exposition import choose_encoder
from starlette.requests import Request
from starlette.responses import Response

from hookline.observability import metrics

__all__ = ["metrics_endpoint"]


async def metrics_endpoint(request: Request) -> Response:
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encoder(metrics.REGISTRY), headers={"Content-Type": content_type})
