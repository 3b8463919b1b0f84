"""``GET /admin/reconcile/open``: what hookline started and has not seen finish (docs/reconcile.md).

Reads the same open-entity store as the ``reconcile`` worker: Redis with
``redis_url``; without it, the store of this process (``hookline run`` runs the
worker in the ingress's process, a separate ``hookline serve`` sees none).
"""

from __future__ import annotations

import time
from typing import Any

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hookline.config.models import HooklineSettings
from hookline.ingress.admin import require_admin
from hookline.ingress.problems import problem
from hookline.worker.open_entities import OpenStore, open_store

# At most this many entities in one answer, oldest first (the counts cover all).
LIMIT = 500


def routes(settings: HooklineSettings) -> list[Route]:
    store: OpenStore | None = None

    async def list_open(request: Request) -> Response:
        nonlocal store
        provider = request.query_params.get("provider")
        if store is None:
            store = open_store(settings)
        try:
            entities = await store.all()
        except (RedisError, OSError) as exc:
            return problem(503, f"The open-entity store is unreachable ({type(exc).__name__}).")
        now = time.time()
        by_provider: dict[str, int] = {}
        for entity in entities:
            by_provider[entity.provider] = by_provider.get(entity.provider, 0) + 1
        chosen = sorted(
            (e for e in entities if provider is None or e.provider == provider),
            key=lambda e: e.opened_at,
        )
        rows: list[dict[str, Any]] = [
            {
                "provider": e.provider,
                "kind": e.kind,
                "entity_id": e.entity_id,
                "subject": e.subject,
                "status": e.status,
                "age_seconds": round(now - e.opened_at, 1),
                "quiet_seconds": round(now - e.last_news_at, 1),
                "checks": e.checks,
            }
            for e in chosen[:LIMIT]
        ]
        return JSONResponse({"open": len(entities), "by_provider": by_provider, "entities": rows})

    return [Route("/admin/reconcile/open", require_admin(settings, list_open), methods=["GET"])]
