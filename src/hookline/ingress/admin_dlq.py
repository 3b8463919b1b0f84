"""``GET /admin/dlq``: what sits in each dead-letter topic, and why (README.md#http-surface-of-the-ingress).

It reads the dead-letter topics from the beginning with a group-less consumer
(nothing is committed, nothing consumed for anyone else), so it costs a read of
every dead letter: fine for what should be a short list. ``hookline dlq list``
shows the letters themselves.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import structlog
from aiokafka.errors import KafkaError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hookline.config.models import HooklineSettings
from hookline.ingress.admin import require_admin
from hookline.ingress.problems import problem
from hookline.worker import dlq, parking

log = structlog.get_logger("hookline.ingress")


def summarize(topics: dict[str, str], letters: list[dlq.DeadLetter]) -> dict[str, Any]:
    """Per service: its topic, how many letters, by reason and error class, and when the
    oldest and newest were written."""
    services: dict[str, dict[str, Any]] = {
        service: {
            "topic": topic,
            "count": 0,
            "reasons": Counter(),
            "errors": Counter(),
            "oldest": None,
            "newest": None,
        }
        for service, topic in topics.items()
    }
    for letter in letters:
        entry = services[letter.service]
        entry["count"] += 1
        # The ingress's own letters (normalization failures) carry no worker headers.
        entry["reasons"][letter.meta(parking.H_REASON) or "normalization_failed"] += 1
        error = letter.meta(parking.H_ERROR_CLASS)
        if error is not None:
            entry["errors"][error] += 1
        # The record's own timestamp: every letter has one, worker headers or not.
        when = letter.timestamp
        entry["oldest"] = when if entry["oldest"] is None else min(entry["oldest"], when)
        entry["newest"] = when if entry["newest"] is None else max(entry["newest"], when)
    for entry in services.values():
        entry["reasons"] = dict(entry["reasons"])
        entry["errors"] = dict(entry["errors"])
        for end in ("oldest", "newest"):
            if entry[end] is not None:
                entry[end] = datetime.fromtimestamp(entry[end] / 1000, UTC).isoformat()
    return services


def dlq_routes(settings: HooklineSettings, state: dict[str, Any]) -> list[BaseRoute]:
    """The DLQ route (a ``ROUTE_FACTORIES`` entry)."""

    async def dead_letters(request: Request) -> Response:
        servers: str = state["bootstrap_servers"]
        try:
            topics = await dlq.dlq_topics(settings, servers, request.query_params.get("service"))
            letters = await dlq.read(settings, servers, topics, idle_seconds=0.5)
        except KafkaError as exc:
            log.warning("ingress.admin_dlq_unavailable", error=type(exc).__name__)
            return problem(503, "Kafka is unavailable; retry later.", {"Retry-After": "5"})
        services = summarize(topics, letters)
        return JSONResponse(
            {"total": sum(s["count"] for s in services.values()), "services": services}
        )

    return [Route("/admin/dlq", require_admin(settings, dead_letters), methods=["GET"])]
