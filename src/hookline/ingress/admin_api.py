"""``/admin/*`` for what the console shows and does (docs/console.md), behind the bearer token.

``GET /admin/overview``, ``GET /admin/events`` (search), ``GET /admin/events/{id}``
(one event, its Kafka coordinates and chain), ``GET /admin/rejected``,
``GET /admin/dlq/letters`` and ``POST /admin/dlq/replay`` (``dry_run`` says
what would be replayed). Each is a thin reading of :mod:`hookline.admin`,
which the console and the CLI call too.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hookline.admin import dead_letters, events, overview, rejected
from hookline.admin.queries import BadQuery, ReplayRequest, event_query, letter_filter
from hookline.config.models import HooklineSettings
from hookline.http.registry import BREAKERS
from hookline.ingress import admin_reconcile
from hookline.ingress.admin import require_admin
from hookline.ingress.problems import problem

log = structlog.get_logger("hookline.ingress")

Handler = Callable[[Request], Awaitable[Response]]


def _kafka_guarded(handler: Handler) -> Handler:
    """A bad filter is a 400 problem; Kafka away is a 503 with Retry-After."""

    async def guarded(request: Request) -> Response:
        try:
            return await handler(request)
        except BadQuery as exc:
            return problem(400, str(exc))
        except KafkaError as exc:
            log.warning("ingress.admin_kafka_unavailable", error=type(exc).__name__)
            return problem(503, "Kafka is unavailable; retry later.", {"Retry-After": "5"})

    return guarded


def admin_api_routes(settings: HooklineSettings, state: dict[str, Any]) -> list[BaseRoute]:
    """The console's operations as JSON (a ``ROUTE_FACTORIES`` entry)."""

    def servers() -> str:
        return str(state["bootstrap_servers"])

    async def get_overview(request: Request) -> Response:
        found = await overview.overview(
            settings, servers(), BREAKERS, state.get("tally"), time.time()
        )
        return JSONResponse(found.as_dict())

    async def search_events(request: Request) -> Response:
        page = await events.search(settings, servers(), event_query(request.query_params))
        return JSONResponse(page.as_dict())

    async def one_event(request: Request) -> Response:
        found, chain = await events.event_by_id(settings, servers(), request.path_params["id"])
        if found is None:
            return problem(404, "No event or command with this id on the event topics.")
        return JSONResponse({**found.detail(), "chain": chain.as_dict()})

    async def list_rejected(request: Request) -> Response:
        params = request.query_params
        limit = params.get("limit") or "100"
        if not re.fullmatch(r"[0-9]{1,9}", limit):
            raise BadQuery("limit must be a whole number")
        found = await rejected.recent_rejections(
            settings,
            servers(),
            source=params.get("source") or None,
            reason=params.get("reason") or None,
            per_source=min(max(int(limit), 1), 1000),
        )
        return JSONResponse({"rejected": [r.as_dict() for r in found]})

    async def list_letters(request: Request) -> Response:
        which = letter_filter(request.query_params, request.query_params.getlist("id"))
        found = await dead_letters.letters(settings, servers(), which)
        return JSONResponse({"letters": [entry.summary() for entry in found]})

    async def replay(request: Request) -> Response:
        try:
            asked = ReplayRequest.model_validate_json(await request.body() or b"{}")
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            return problem(400, f"The body is not a replay request: {where}: {first['msg']}.")
        which = asked.selection()
        if which is None:
            return JSONResponse({"dry_run": asked.dry_run, "replayed": [], "refused": []})
        plan = await dead_letters.replay(
            settings,
            servers(),
            which,
            embedded=bool(state.get("embedded")),
            dry_run=asked.dry_run,
            by="api",
        )
        if not plan.dry_run:
            log.info("ingress.admin_dlq_replayed", count=len(plan.replayed))
        return JSONResponse(plan.as_dict())

    def route(path: str, handler: Handler, method: str = "GET") -> Route:
        return Route(path, require_admin(settings, _kafka_guarded(handler)), methods=[method])

    return [
        route("/admin/overview", get_overview),
        route("/admin/events", search_events),
        route("/admin/events/{id}", one_event),
        route("/admin/rejected", list_rejected),
        route("/admin/dlq/letters", list_letters),
        route("/admin/dlq/replay", replay, "POST"),
        *admin_reconcile.routes(settings),
    ]
