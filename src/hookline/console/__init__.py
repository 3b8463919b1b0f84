"""The operator console at ``/console``: server-rendered pages over :mod:`hookline.admin`.

Everything it serves ships in the package (templates, one stylesheet, one
small script); nothing loads from the network and nothing is built with Node.
docs/console.md lists the pages and what each reads from.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from hookline.config.models import HooklineSettings
from hookline.console.pages import SECURITY_HEADERS, Console
from hookline.http.registry import BREAKERS, BreakerRegistry

__all__ = ["console_routes"]

_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


def _static() -> dict[str, tuple[bytes, str]]:
    folder = files("hookline.console") / "static"
    found = {}
    for entry in folder.iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if suffix in _STATIC_TYPES:
            found[entry.name] = (entry.read_bytes(), _STATIC_TYPES[suffix])
    return found


def console_routes(
    settings: HooklineSettings, state: dict[str, Any], registry: BreakerRegistry | None = None
) -> list[BaseRoute]:
    """The console's routes (a ``ROUTE_FACTORIES`` entry of the ingress)."""
    console = Console(settings, state, registry if registry is not None else BREAKERS)
    assets = _static()

    async def static(request: Request) -> Response:
        found = assets.get(request.path_params["name"])
        if found is None:
            return Response("Not found", 404, media_type="text/plain")
        body, media_type = found
        headers = {**SECURITY_HEADERS, "cache-control": "public, max-age=3600"}
        return Response(body, media_type=media_type, headers=headers)

    async def home(request: Request) -> Response:
        return RedirectResponse("/console", 307)

    page, action = console.page, console.action
    return [
        Route("/", home, methods=["GET"]),
        Route("/console", page(console.overview), methods=["GET"]),
        Route("/console/login", console.login_form, methods=["GET"]),
        Route("/console/login", console.login, methods=["POST"]),
        Route("/console/logout", action(console.logout), methods=["POST"]),
        Route("/console/events", page(console.events), methods=["GET"]),
        Route(
            "/console/events/{topic}/{partition:int}/{offset:int}",
            page(console.event),
            methods=["GET"],
        ),
        Route("/console/rejected", page(console.rejected), methods=["GET"]),
        Route("/console/dlq", page(console.dlq), methods=["GET"]),
        Route("/console/dlq/letter", page(console.letter), methods=["GET"]),
        Route("/console/dlq/replay", action(console.replay), methods=["POST"]),
        Route("/console/breakers", page(console.breakers), methods=["GET"]),
        Route("/console/breakers/{name}/reset", action(console.reset_breaker), methods=["POST"]),
        Route("/console/sources", page(console.sources), methods=["GET"]),
        Route("/console/reconcile", page(console.reconcile), methods=["GET"]),
        Route("/console/static/{name}", static, methods=["GET"]),
    ]
