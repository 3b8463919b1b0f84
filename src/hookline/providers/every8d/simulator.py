"""The Every8d HTTP API 2.1 as the sandbox serves it (docs/providers/every8d.md#simulator).

Answers are ``text/plain`` lines exactly as Every8d writes them. Credentials
are checked when ``sandbox.providers.every8d`` sets ``uid``/``pwd`` (extras);
otherwise any non-empty pair is accepted. Delivery reports (a hookline
convention: Every8d documents only polling) go to the ``every8d-dlr`` source with
``?token=`` from ``callback_secret``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp

from hookline.config.models import HooklineSettings, SimulatorSettings
from hookline.envelope import event_id
from hookline.messages.phone import from_taiwan_national, is_taiwan
from hookline.providers._sms.reports import TAIPEI
from hookline.providers._sms.segments import segment
from hookline.providers._sms.sim_world import GONE, SimMessage, SmsWorld, Status, complete_form
from hookline.sandbox import Callback, EmitRejected, EmitRequest, ProviderFormat, Simulator
from hookline.sandbox.layer import SimRoute

SEND = "/API21/HTTP/sendSMS.ashx"
STATUS = "/API21/HTTP/getDeliveryStatus.ashx"
CREDIT = "/API21/HTTP/getCredit.ashx"

_MESSAGES = {
    "-1": "參數錯誤",
    "-2": "帳號或密碼錯誤",
    "-3": "門號錯誤或為黑名單",
    "-5": "簡訊內容過長",
    "-6": "參數錯誤",
    "-99": "主機端發生錯誤",
}
# Report status per simulated state (docs/providers/every8d.md#delivery-reports table).
_REPORT_STATUS: dict[str, str] = {
    "queued": "300",
    "sent": "0",
    "delivered": "100",
    "undelivered": "101",
}


def failure(code: str, status: int = 200) -> Response:
    return PlainTextResponse(f"{code},{_MESSAGES.get(code, '錯誤')}", status_code=status)


def _render_error(status: int | None, code: str | None) -> Response:
    if code is None:
        code = "-99" if status is None or status >= 500 or status == 429 else "-1"
    return failure(code, status or 200)


FORMAT = ProviderFormat(
    content_type="text/plain; charset=utf-8",
    sample=b"79.0,1,1.0,0,3f2c9a1e-7b4d-4c55-9e0a-2d1c5b6a7f80",
    render_error=_render_error,
)


def create_app(settings: HooklineSettings, sim_settings: SimulatorSettings) -> ASGIApp:
    sim = Simulator(
        "every8d", sim_settings, fmt=FORMAT, source="every8d-dlr", sandbox=settings.sandbox
    )
    # Without callback_secret the reports go out unsigned (and the ingress refuses them).
    scheme = (
        sim.signing_scheme({"scheme": "token", "query_param": "token"})
        if sim_settings.callback_secret
        else None
    )
    extras = sim_settings.model_extra or {}
    uid, pwd = extras.get("uid"), extras.get("pwd")
    world = SmsWorld()
    credit = {"points": 10_000.0}

    def authorized(fields: dict[str, str]) -> bool:
        got_uid, got_pwd = fields.get("UID", ""), fields.get("PWD", "")
        if uid is None:
            return bool(got_uid and got_pwd)
        return got_uid == str(uid) and got_pwd == str(pwd)

    async def fields_of(request: Request) -> dict[str, str]:
        fields = dict(request.query_params)
        if request.method == "POST":
            fields.update(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
        return fields

    async def send(request: Request) -> Response:
        form = await complete_form(request)
        if form is None:
            return Response(status_code=GONE)
        fields = {**request.query_params, **form}
        if not authorized(fields):
            return failure("-2")
        body, dest = fields.get("MSG", ""), fields.get("DEST", "").strip()
        if not body or not dest or "," in dest:
            return failure("-1")
        if len(body) > 1600:
            return failure("-5")
        to = from_taiwan_national(dest)
        outcome = world.outcome(to)
        if outcome == "invalid" or not to[1:].isdigit():
            return failure("-3")
        cost = float(segment(body).segments)
        if credit["points"] < cost:
            return failure("-99")
        credit["points"] -= cost
        batch = str(uuid.uuid4())
        world.accept(
            batch,
            to,
            body,
            # Every8d cannot reach numbers outside Taiwan: accepted, then status 500.
            outcome=outcome if is_taiwan(to) else "fail",
            ref=fields.get("SB") or None,
            attempt_key=request.headers.get("idempotency-key"),
            subject=fields.get("SB", ""),
            mobile=dest,
            cost=cost,
            international=not is_taiwan(to),
        )
        return PlainTextResponse(f"{credit['points']:.1f},1,{cost:.1f},0,{batch}")

    async def status(request: Request) -> Response:
        fields = await fields_of(request)
        if not authorized(fields):
            return failure("-2")
        message = world.messages.get(fields.get("BID", ""))
        if message is None:
            return PlainTextResponse("0")
        line = "\t".join(
            [
                "",
                message.extra["mobile"],
                _now(),
                f"{message.extra['cost']:.1f}",
                _code(message, message.status),
            ]
        )
        return PlainTextResponse(f"1\n{line}")

    async def get_credit(request: Request) -> Response:
        fields = await fields_of(request)
        if not authorized(fields):
            return failure("-2")
        return PlainTextResponse(f"{credit['points']:.1f}")

    def callback_for(message: SimMessage, state: Status) -> Callback:
        code = _code(message, state)
        fields = {
            "BatchID": message.id,
            "Mobile": message.to,
            "Subject": message.extra["subject"],
            "Status": code,
            "StatusTime": _now(),
            "Cost": f"{message.extra['cost']:.1f}",
        }
        return Callback(
            entity=message.id,
            event_id=event_id("every8d", f"{message.id}:{message.to}:{code}"),
            url=sim.callback_url,
            body=urlencode(fields).encode(),
            content_type="application/x-www-form-urlencoded",
            scheme=scheme,
        )

    async def tick() -> None:
        await world.advance(lambda message, state: sim.send(callback_for(message, state)))

    async def emit(order: EmitRequest) -> Callback:
        message = world.messages.get(order.entity_id)
        if message is None:
            raise EmitRejected(404, f"no batch {order.entity_id}")
        state = {"300": "queued", "0": "sent", "100": "delivered", "101": "undelivered"}.get(
            order.event, order.event
        )
        if state not in _REPORT_STATUS:
            raise EmitRejected(400, f"unknown report status {order.event!r}")
        return callback_for(message, state)  # type: ignore[arg-type]

    sim.route(SEND, send, methods=["POST"], idempotent=True)
    sim.route(STATUS, status, methods=["GET", "POST"])
    sim.route(CREDIT, get_credit, methods=["GET", "POST"])
    sim.routes.extend(SimRoute(route) for route in world.admin_routes())
    sim.every_tick(tick)
    sim.on_state(lambda: {**world.state(), "credit": credit["points"]})
    sim.on_reset(world.reset)
    sim.on_emit(emit)
    return sim.build()


def _code(message: SimMessage, state: str) -> str:
    if state == "undelivered" and message.extra.get("international"):
        return "500"
    return _REPORT_STATUS.get(state, "0")


def _now() -> str:
    return datetime.now(TAIPEI).strftime("%Y%m%d%H%M%S")
