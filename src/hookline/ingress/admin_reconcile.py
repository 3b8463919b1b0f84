"""``GET /admin/reconcile/open``: what hookline started and has not seen finish (docs/reconcile.md).

The same function (:mod:`hookline.admin.reconcile`) serves the console's Reconciliation page.

Reads the same open-entity store as the ``reconcile`` worker: Redis with
``redis_url``; without it, the machine's SQLite file (``services.reconcile.store_path``),
which every hookline process on the machine shares.
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hookline.admin import reconcile
from hookline.config.models import HooklineSettings
from hookline.ingress.admin import require_admin
from hookline.ingress.problems import problem
from hookline.worker.open_entities import OpenStore, open_store


def routes(settings: HooklineSettings) -> list[Route]:
    store: OpenStore | None = None

    async def list_open(request: Request) -> Response:
        nonlocal store
        provider = request.query_params.get("provider")
        if store is None:
            store = open_store(settings)
        try:
            found = await reconcile.open_entities(store, time.time(), provider)
        except reconcile.StoreUnavailable as exc:
            return problem(503, f"{exc}.")
        return JSONResponse(found.as_dict())

    return [Route("/admin/reconcile/open", require_admin(settings, list_open), methods=["GET"])]
