"""The Mitake SMS HTTP API as the sandbox serves it (docs/providers/mitake.md#simulator).

Answers are Mitake's INI-style text with CRLF lines. ``clientid`` de-duplicates
like the real service (a repeat answers the original ``msgid`` plus
``Duplicate=Y``); more than ``max_concurrency`` (default 15) requests in flight
answer ``statuscode=l``. Delivery reports call the ``response`` URL of the send
with Mitake's query fields and count as delivered only when the answer is
exactly ``magicid=sms_gateway_rpack\\nmsgid=<msgid>\\n``.
"""

from __future__ import annotations

import asyncio
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
from hookline.providers.mitake.adapter import acknowledgement_body
from hookline.sandbox import Callback, EmitRejected, EmitRequest, ProviderFormat, Simulator
from hookline.sandbox.layer import SimRoute

SEND = "/api/mtk/SmSend"
QUERY = "/api/mtk/SmQuery"
# As real Mitake: GET on the report URL, the fields in the query, no body.
CALLBACK_METHOD = "GET"

_FLAGS: dict[str, str] = {"queued": "0", "sent": "1", "delivered": "4", "undelivered": "8"}
_STATUSSTR = {"0": "SCHEDULED", "1": "SENT", "4": "DELIVRD", "8": "EXPIRED"}


def ini(*lines: str) -> Response:
    return PlainTextResponse("\r\n".join(["[1]", *lines]) + "\r\n")


def _render_error(status: int | None, code: str | None) -> Response:
    letter = code or ("l" if status == 429 else "*")
    response = ini(f"statuscode={letter}", f"Error=simulated {letter}")
    response.status_code = status or 200
    return response


FORMAT = ProviderFormat(
    content_type="text/plain; charset=utf-8",
    sample=b"[1]\r\nmsgid=1010079522\r\nstatuscode=1\r\nAccountPoint=98\r\n",
    render_error=_render_error,
)


def create_app(settings: HooklineSettings, sim_settings: SimulatorSettings) -> ASGIApp:
    sim = Simulator(
        "mitake", sim_settings, fmt=FORMAT, source="mitake-dlr", sandbox=settings.sandbox
    )
    # Without callback_secret the reports go out unsigned (and the ingress refuses them).
    scheme = (
        sim.signing_scheme({"scheme": "token", "query_param": "token"})
        if sim_settings.callback_secret
        else None
    )
    extras = sim_settings.model_extra or {}
    username, password = extras.get("username"), extras.get("password")
    max_concurrency = int(extras.get("max_concurrency", 15))
    world = SmsWorld(first_id=1010079522)
    by_clientid: dict[str, str] = {}
    account = {"points": 10_000, "in_flight": 0}

    def authorized(fields: dict[str, str]) -> bool:
        user, pwd = fields.get("username", ""), fields.get("password", "")
        if username is None:
            return bool(user and pwd)
        return user == str(username) and pwd == str(password)

    async def fields_of(request: Request) -> dict[str, str]:
        fields = dict(request.query_params)
        if request.method == "POST":
            charset = "utf-8" if fields.get("CharsetURL", "").upper() == "UTF-8" else "big5"
            raw = (await request.body()).decode(charset, errors="replace")
            fields.update(parse_qsl(raw, keep_blank_values=True))
        return fields

    async def send(request: Request) -> Response:
        account["in_flight"] += 1
        try:
            if account["in_flight"] > max_concurrency:
                return ini("statuscode=l", "Error=concurrent connection limit")
            await asyncio.sleep(0)
            form = await complete_form(request)
            if form is None:
                return Response(status_code=GONE)
            return await _send({**request.query_params, **form})
        finally:
            account["in_flight"] -= 1

    async def _send(fields: dict[str, str]) -> Response:
        if not authorized(fields):
            return ini("statuscode=e", "Error=auth failed")
        body, dstaddr = fields.get("smbody", ""), fields.get("dstaddr", "").strip()
        clientid = fields.get("clientid", "")
        if clientid and clientid in by_clientid:
            msgid = by_clientid[clientid]
            return ini(
                f"msgid={msgid}", "statuscode=1", f"AccountPoint={account['points']}", "Duplicate=Y"
            )
        if not body:
            return ini("statuscode=u", "Error=empty body")
        if len(body) > 1600:
            return ini("statuscode=x", "Error=body too large")
        to = from_taiwan_national(dstaddr)
        outcome = world.outcome(to)
        if not is_taiwan(to) or outcome == "invalid" or not to[1:].isdigit():
            return ini("statuscode=v", "Error=invalid mobile number")
        cost = segment(body).segments
        if account["points"] < cost:
            return ini("statuscode=p", "Error=not enough points")
        account["points"] -= cost
        response_url = fields.get("response") or None
        ref = dict(parse_qsl(response_url.partition("?")[2])).get("ref") if response_url else None
        message = world.accept(
            world.next_id(),
            to,
            body,
            outcome=outcome,
            ref=ref,
            attempt_key=clientid or None,
            dstaddr=dstaddr,
            response=response_url,
        )
        if clientid:
            by_clientid[clientid] = message.id
        return ini(f"msgid={message.id}", "statuscode=1", f"AccountPoint={account['points']}")

    async def query(request: Request) -> Response:
        if not authorized(await fields_of(request)):
            return ini("statuscode=e", "Error=auth failed")
        return PlainTextResponse(f"AccountPoint={account['points']}\r\n")

    def callback_for(message: SimMessage, state: Status) -> Callback:
        flag = _FLAGS[state]
        now = datetime.now(TAIPEI).strftime("%Y%m%d%H%M%S")
        fields = {
            "msgid": message.id,
            "dstaddr": message.extra["dstaddr"],
            "dlvtime": now,
            "donetime": now,
            "statusstr": _STATUSSTR[flag],
            "statuscode": "0",
            "StatusFlag": flag,
        }
        target = message.extra.get("response")
        expected = acknowledgement_body(message.id)
        if target:
            url, signing = f"{target}&{urlencode(fields)}", None  # the token is in the URL given
        else:
            url, signing = f"{sim.callback_url}?{urlencode(fields)}", scheme
        return Callback(
            entity=message.id,
            event_id=event_id("mitake", f"{message.id}:{flag}"),
            url=url,
            body=b"",
            method=CALLBACK_METHOD,
            content_type=None,
            scheme=signing,
            accept=lambda status, body: body == expected,
        )

    async def tick() -> None:
        await world.advance(lambda message, state: sim.send(callback_for(message, state)))

    async def emit(order: EmitRequest) -> Callback:
        message = world.messages.get(order.entity_id)
        if message is None:
            raise EmitRejected(404, f"no msgid {order.entity_id}")
        state = {flag: name for name, flag in _FLAGS.items()}.get(order.event, order.event)
        if state not in _FLAGS:
            raise EmitRejected(400, f"unknown StatusFlag {order.event!r}")
        return callback_for(message, state)  # type: ignore[arg-type]

    sim.route(SEND, send, methods=["POST"], idempotent=True)
    sim.route(QUERY, query, methods=["GET", "POST"])
    sim.routes.extend(SimRoute(route) for route in world.admin_routes())
    sim.every_tick(tick)
    sim.on_state(
        lambda: {**world.state(), "points": account["points"], "clientids": len(by_clientid)}
    )
    sim.on_reset(world.reset)
    sim.on_reset(by_clientid.clear)
    sim.on_emit(emit)
    return sim.build()
