"""Provider health as the ingress serves it (docs/providers/README.md#health-probes).

``GET /admin/providers`` (admin token): every probed provider's last result —
up, when, how long, the masked error. ``GET /health/integration/{provider}``:
200 ``healthy`` or 503 ``unhealthy``/``unknown`` for one provider, without the
token and without the error text, for uptime checkers; it answers from the last
probe and never calls the provider itself.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hookline.config.models import HooklineSettings
from hookline.ingress.admin import require_admin
from hookline.ingress.problems import problem
from hookline.providers.health import ProviderProbes

__all__ = ["provider_routes"]


def provider_routes(settings: HooklineSettings, state: dict[str, Any]) -> list[BaseRoute]:
    """The provider health routes (a ``ROUTE_FACTORIES`` entry); the lifespan puts
    the running :class:`ProviderProbes` in ``state["probes"]``."""

    def probes() -> ProviderProbes:
        running: ProviderProbes | None = state.get("probes")
        return running if running is not None else ProviderProbes([])

    async def list_providers(request: Request) -> Response:
        return JSONResponse({"providers": [s.as_dict() for s in probes().statuses()]})

    async def integration(request: Request) -> Response:
        name = request.path_params["provider"]
        status = probes().status(name)
        if status is None:
            return problem(404, f"No health probe for provider {name!r}.")
        healthy = status.up is True
        body = {
            "provider": name,
            "status": "healthy" if healthy else "unhealthy" if status.up is False else "unknown",
            "checked_at": status.checked_at.isoformat() if status.checked_at else None,
        }
        return JSONResponse(body, status_code=200 if healthy else 503)

    return [
        Route("/admin/providers", require_admin(settings, list_providers), methods=["GET"]),
        Route("/health/integration/{provider}", integration, methods=["GET"]),
    ]
