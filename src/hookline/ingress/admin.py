"""Admin endpoints for circuit breakers, behind the bearer ``admin_token``.

``GET /admin/breakers`` lists every breaker this process knows (and, with
``redis_url``, every configured provider's shared breaker);
``POST /admin/breakers/{name}/reset`` closes one. Without the right token the
answer is a ``401`` problem, whatever is wrong with the token.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hookline.admin import operations
from hookline.config.models import HooklineSettings
from hookline.http.registry import BREAKERS, BreakerRegistry
from hookline.ingress.problems import problem

log = structlog.get_logger("hookline.ingress")

Endpoint = Callable[[Request], Awaitable[Response]]


def authorized(request: Request, settings: HooklineSettings) -> bool:
    """True when the request carries ``Authorization: Bearer <admin_token>``."""
    if settings.admin_token is None:
        return False
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return hmac.compare_digest(token.strip().encode(), settings.admin_token.get().encode())


def require_admin(settings: HooklineSettings, endpoint: Endpoint) -> Endpoint:
    """Wrap an admin endpoint: ``401`` problem unless the admin token is presented."""

    async def guarded(request: Request) -> Response:
        if not authorized(request, settings):
            log.warning("ingress.admin_unauthorized", path=request.url.path)
            return problem(
                401, "Admin endpoints need the bearer admin token.", {"WWW-Authenticate": "Bearer"}
            )
        return await endpoint(request)

    return guarded


def breaker_routes(
    settings: HooklineSettings, state: dict[str, Any], registry: BreakerRegistry | None = None
) -> list[BaseRoute]:
    """The breaker routes (a ``ROUTE_FACTORIES`` entry)."""
    breakers = registry if registry is not None else BREAKERS

    async def list_breakers(request: Request) -> Response:
        snapshots = await operations.breakers(settings, breakers)
        return JSONResponse({"breakers": [s.as_dict() for s in snapshots]})

    async def reset_breaker(request: Request) -> Response:
        name = request.path_params["name"]
        snapshot = await operations.reset_breaker(settings, breakers, name)
        if snapshot is None:
            return problem(404, f"No circuit breaker named {name!r}.")
        log.info("ingress.admin_breaker_reset", provider=name)
        return JSONResponse({"breaker": snapshot.as_dict()})

    async def list_sources(request: Request) -> Response:
        return JSONResponse({"sources": operations.sources(settings)})

    return [
        Route("/admin/sources", require_admin(settings, list_sources), methods=["GET"]),
        Route("/admin/breakers", require_admin(settings, list_breakers), methods=["GET"]),
        Route(
            "/admin/breakers/{name}/reset", require_admin(settings, reset_breaker), methods=["POST"]
        ),
    ]
