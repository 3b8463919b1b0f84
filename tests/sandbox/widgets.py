"""A tiny example provider ("widgets") built on the kit, used by the sandbox tests.

It has what a real simulator has: an idempotent create (``POST /v1/widgets``),
a read (``GET /v1/widgets/{widget_id}``), a business 4xx, a 5xx path, a slow
path, a lifecycle that ticks widgets from ``building`` to ``ready`` and sends a
signed ``widget.ready`` callback, and an emit hook.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hookline.config.models import HooklineSettings, SimulatorSettings
from hookline.sandbox import Callback, EmitRejected, EmitRequest, ProviderFormat, Simulator
from hookline.signatures import Scheme

SECRET = "widgets-callback-secret-0123456789"
VERIFY = {
    "scheme": "hmac",
    "header": "X-Widget-Signature",
    "timestamp_header": "X-Widget-Timestamp",
}

ERROR_STATUS = {"NOT_FOUND": 404, "SOLD_OUT": 409, "RATE_LIMITED": 429, "UNAVAILABLE": 503}


def render_error(status: int | None, code: str | None) -> Response:
    if code is None:
        code = {404: "NOT_FOUND", 429: "RATE_LIMITED"}.get(status or 500, "INTERNAL")
    status = status or ERROR_STATUS.get(code, 500)
    return JSONResponse({"error": {"code": code}}, status_code=status)


FORMAT = ProviderFormat(
    content_type="application/json",
    sample=json.dumps({"widget_id": "w_1", "status": "building", "colour": "red"}).encode(),
    render_error=render_error,
    reset_header="X-RateLimit-Reset",
)


class Widgets:
    """The example provider: its state (widgets, how many times the handler really ran) and handlers."""

    def __init__(self, sim: Simulator, scheme: Scheme, handler_delay: float = 0.0) -> None:
        self.sim = sim
        self.scheme = scheme
        self.handler_delay = handler_delay
        self.widgets: dict[str, dict[str, Any]] = {}
        self.handled = 0
        self.ids = itertools.count(1)
        self.events = itertools.count(1)

    def callback(
        self, widget: dict[str, Any], event: str, overrides: dict[str, Any] | None = None
    ) -> Callback:
        event_id = f"evt_{next(self.events)}"
        body = {"id": event_id, "type": event, "data": {**widget, **(overrides or {})}}
        return Callback(
            entity=widget["widget_id"],
            event_id=event_id,
            url=self.sim.callback_url,
            body=json.dumps(body).encode(),
            scheme=self.scheme,
            headers={"X-Widget-Event-Id": event_id},
        )

    async def create(self, request: Request) -> Response:
        self.handled += 1
        payload = await request.json()
        if self.handler_delay:
            await asyncio.sleep(self.handler_delay)
        colour = payload.get("colour", "red")
        if colour == "plaid":
            return render_error(None, "SOLD_OUT")
        if colour == "explode":
            raise RuntimeError("handler bug")
        if colour == "broken":
            return JSONResponse({"error": {"code": "INTERNAL"}}, status_code=500)
        widget = {"widget_id": f"w_{next(self.ids)}", "status": "building", "colour": colour}
        self.widgets[widget["widget_id"]] = widget
        return JSONResponse(widget, status_code=201)

    async def read(self, request: Request) -> Response:
        widget = self.widgets.get(request.path_params["widget_id"])
        if widget is None:
            return render_error(404, None)
        return JSONResponse(widget)

    async def tick(self) -> None:
        for widget in self.widgets.values():
            if widget["status"] == "building":
                widget["status"] = "ready"
                self.sim.send(self.callback(widget, "widget.ready"))

    async def emit(self, order: EmitRequest) -> Callback:
        widget = self.widgets.get(order.entity_id)
        if widget is None:
            raise EmitRejected(404, f"no widget {order.entity_id}")
        if not order.event.startswith("widget."):
            raise EmitRejected(400, f"unknown event {order.event}")
        return self.callback(widget, order.event, order.data)

    def reset(self) -> None:
        self.widgets.clear()
        self.handled = 0

    async def paint_all(self, request: Request) -> Response:
        colour = (await request.json())["colour"]
        for widget in self.widgets.values():
            widget["colour"] = colour
        return JSONResponse({"painted": len(self.widgets)})

    def state(self) -> dict[str, Any]:
        return {"entities": {"widgets": self.widgets}, "handled": self.handled}


async def account_of(request: Request) -> str:
    return request.headers.get("x-account", "anonymous")


def create_app(
    settings: HooklineSettings,
    sim_settings: SimulatorSettings,
    *,
    retry_delays: tuple[float, ...] = (0.05, 0.1, 0.15, 0.2),
    handler_delay: float = 0.0,
    require_secret: bool = False,
) -> Any:
    sim = Simulator(
        "widgets",
        sim_settings,
        fmt=FORMAT,
        source="widgets",
        sandbox=settings.sandbox,
        credential=account_of,
        retry_delays=retry_delays,
    )
    scheme = sim.signing_scheme(VERIFY, default_secret=None if require_secret else SECRET)
    state = Widgets(sim, scheme, handler_delay)
    sim.admin_route("/_sim/widgets/paint", state.paint_all, methods=["POST"])
    sim.route("/v1/widgets", state.create, methods=["POST"], idempotent=True)
    sim.route("/v1/widgets/{widget_id}", state.read, methods=["GET"])
    sim.every_tick(state.tick)
    sim.on_emit(state.emit)
    sim.on_reset(state.reset)
    sim.on_state(state.state)
    return sim.build()
