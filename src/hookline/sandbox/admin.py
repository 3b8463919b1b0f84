"""The simulator admin API (docs/providers/simulators.md#admin-api): faults, state, reset, emit.

JSON only, no auth; simulators bind to 127.0.0.1. Invalid input answers
``400 {"error": "...", "details": [...]}``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hookline.sandbox.faults import FaultSpec

if TYPE_CHECKING:
    from hookline.sandbox.simulator import Simulator


class EmitRequest(BaseModel):
    """``POST /_sim/emit``: which callback to send now, and how to misbehave."""

    model_config = ConfigDict(extra="forbid")

    event: str = Field(min_length=1)
    entity_id: str = Field(min_length=1)
    data: dict[str, Any] = Field(default_factory=dict)
    duplicate: int = Field(default=0, ge=0, le=100)
    bad_signature: bool = False
    delay_ms: int = Field(default=0, ge=0)


class EmitRejected(Exception):
    """Raised by a provider's emit hook: unknown event type or entity."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str, details: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if details is not None:
        body["details"] = details
    return JSONResponse(body, status_code=status)


async def _json(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw or b"{}")
    except ValueError as exc:
        raise _BadInput(f"body is not JSON: {exc}") from exc


class _BadInput(Exception):
    pass


def _validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]), "issue": err["msg"]} for err in exc.errors()
    ]


class CallbackHold(BaseModel):
    """``POST /_sim/callbacks``: drop every new callback, or send each ``delay_seconds`` late."""

    model_config = ConfigDict(extra="forbid")

    drop: bool = False
    delay_seconds: float = Field(default=0.0, ge=0, le=3600)


M = TypeVar("M", bound=BaseModel)


async def _parsed(request: Request, model: type[M], what: str) -> M | Response:
    """The request's JSON body as ``model``, or the 400 that says what is wrong with it."""
    try:
        return model.model_validate(await _json(request))
    except _BadInput as exc:
        return _error(400, str(exc))
    except ValidationError as exc:
        return _error(400, f"invalid {what}", _validation_details(exc))


def admin_routes(sim: Simulator) -> list[BaseRoute]:
    async def add_fault(request: Request) -> Response:
        spec = await _parsed(request, FaultSpec, "fault spec")
        if isinstance(spec, Response):
            return spec
        fault = sim.faults.add(spec)
        return JSONResponse(fault.as_json(), status_code=201)

    async def list_faults(request: Request) -> Response:
        return JSONResponse([f.as_json() for f in sim.faults.active()])

    async def delete_fault(request: Request) -> Response:
        if sim.faults.delete(request.path_params["fault_id"]):
            return Response(status_code=204)
        return _error(404, "no such fault")

    async def state(request: Request) -> Response:
        return JSONResponse(sim.state())

    async def reset(request: Request) -> Response:
        await sim.reset()
        return Response(status_code=204)

    async def emit(request: Request) -> Response:
        order = await _parsed(request, EmitRequest, "emit request")
        if isinstance(order, Response):
            return order
        try:
            event_id = await sim.emit(order)
        except EmitRejected as exc:
            return _error(exc.status, exc.message)
        return JSONResponse({"event_id": event_id}, status_code=202)

    async def hold_callbacks(request: Request) -> Response:
        hold = await _parsed(request, CallbackHold, "callback hold")
        if isinstance(hold, Response):
            return hold
        sim.callbacks.drop = hold.drop
        sim.callbacks.hold_seconds = hold.delay_seconds
        return JSONResponse(sim.callbacks.counters()["hold"])

    return [
        Route("/_sim/callbacks", hold_callbacks, methods=["POST"]),
        Route("/_sim/faults", add_fault, methods=["POST"]),
        Route("/_sim/faults", list_faults, methods=["GET"]),
        Route("/_sim/faults/{fault_id}", delete_fault, methods=["DELETE"]),
        Route("/_sim/state", state, methods=["GET"]),
        Route("/_sim/reset", reset, methods=["POST"]),
        Route("/_sim/emit", emit, methods=["POST"]),
    ]
