"""The two apps bench/sandbox.py compares: the same handlers bare, and on the simulator kit."""

from __future__ import annotations

import itertools
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hookline.config.models import SimulatorSettings
from hookline.sandbox import FaultSpec, ProviderFormat, Simulator

ids = itertools.count(1)
widgets: dict[str, dict[str, Any]] = {}


async def create(request: Request) -> Response:
    payload = await request.json()
    widget = {"widget_id": f"w_{next(ids)}", "colour": payload.get("colour", "red")}
    widgets[widget["widget_id"]] = widget
    return JSONResponse(widget, status_code=201)


async def read(request: Request) -> Response:
    return JSONResponse({"widget_id": request.path_params["widget_id"], "colour": "red"})


bare = Starlette(
    routes=[
        Route("/v1/widgets", create, methods=["POST"]),
        Route("/v1/widgets/{widget_id}", read, methods=["GET"]),
    ]
)


def _error(status: int | None, code: str | None) -> Response:
    return JSONResponse({"error": {"code": code or "ERROR"}}, status_code=status or 500)


def _kit() -> Any:
    sim = Simulator(
        "bench",
        SimulatorSettings(port=0),
        fmt=ProviderFormat("application/json", b'{"widget_id": "w_1"}', _error),
    )
    sim.route("/v1/widgets", create, methods=["POST"], idempotent=True)
    sim.route("/v1/widgets/{widget_id}", read)
    # Ten active faults that never match: the cost of checking them on every request.
    for n in range(10):
        sim.faults.add(FaultSpec(path=f"/other/{n}/**", status=503, count=0))
    return sim.build()


kit = _kit()
