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
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp

from hookline.config.models import HooklineSettings, SimulatorSettings
from hookline.envelope import event_id
from hookline.messages.phone import from_taiwan_national, is_taiwan
from hookline.providers._sms.reports import TAIPEI
from hookline.providers._sms.segments import segment
from hookline.providers._sms.sim_world import GONE, SimMessage, SmsWorld, Status, complete_form
from hookline.providers._sms.simkit import (
    TOKEN_SIGNING,
    SmsSimulator,
    credentials_match,
    ref_in,
    request_fields,
    state_named,
)
from hookline.providers.mitake.adapter import acknowledgement_body
from hookline.sandbox import Callback, EmitRequest, ProviderFormat

__all__ = ["CALLBACK_METHOD", "FORMAT", "QUERY", "SEND", "MitakeSimulator", "create_app", "ini"]

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


class MitakeSimulator(SmsSimulator):
    """Mitake's SmSend and SmQuery: ``clientid`` de-duplication, a concurrency cap, GET reports."""

    provider = "mitake"
    source = "mitake-dlr"
    fmt = FORMAT
    signing = TOKEN_SIGNING
    noun = "msgid"

    def __init__(self, settings: HooklineSettings, sim_settings: SimulatorSettings) -> None:
        super().__init__(settings, sim_settings, SmsWorld(first_id=1010079522))
        self.login = (self.extras.get("username"), self.extras.get("password"))
        self.max_concurrency = int(self.extras.get("max_concurrency", 15))
        self.by_clientid: dict[str, str] = {}
        self.points = 10_000
        self.in_flight = 0

    def authorized(self, fields: dict[str, str]) -> bool:
        presented = (fields.get("username", ""), fields.get("password", ""))
        return credentials_match(presented, self.login)

    async def send_sms(self, request: Request) -> Response:
        self.in_flight += 1
        try:
            if self.in_flight > self.max_concurrency:
                return ini("statuscode=l", "Error=concurrent connection limit")
            await asyncio.sleep(0)
            form = await complete_form(request)
            if form is None:
                return Response(status_code=GONE)
            return self._send({**request.query_params, **form})
        finally:
            self.in_flight -= 1

    def _send(self, fields: dict[str, str]) -> Response:
        if not self.authorized(fields):
            return ini("statuscode=e", "Error=auth failed")
        body, dstaddr = fields.get("smbody", ""), fields.get("dstaddr", "").strip()
        clientid = fields.get("clientid", "")
        if clientid and clientid in self.by_clientid:
            msgid = self.by_clientid[clientid]
            return ini(
                f"msgid={msgid}", "statuscode=1", f"AccountPoint={self.points}", "Duplicate=Y"
            )
        if not body:
            return ini("statuscode=u", "Error=empty body")
        if len(body) > 1600:
            return ini("statuscode=x", "Error=body too large")
        to = from_taiwan_national(dstaddr)
        outcome = self.world.outcome(to)
        if not is_taiwan(to) or outcome == "invalid" or not to[1:].isdigit():
            return ini("statuscode=v", "Error=invalid mobile number")
        cost = segment(body).segments
        if self.points < cost:
            return ini("statuscode=p", "Error=not enough points")
        self.points -= cost
        response_url = fields.get("response") or None
        message = self.world.accept(
            self.world.next_id(),
            to,
            body,
            outcome=outcome,
            ref=ref_in(response_url),
            attempt_key=clientid or None,
            dstaddr=dstaddr,
            response=response_url,
        )
        if clientid:
            self.by_clientid[clientid] = message.id
        return ini(f"msgid={message.id}", "statuscode=1", f"AccountPoint={self.points}")

    async def query(self, request: Request) -> Response:
        fields = await request_fields(request, _charset(request))
        if not self.authorized(fields):
            return ini("statuscode=e", "Error=auth failed")
        if fields.get("msgid"):
            # The message-status query: one "msgid<TAB>StatusFlag<TAB>statustime" line per id.
            now = datetime.now(TAIPEI).strftime("%Y%m%d%H%M%S")
            lines = [
                f"{msgid}\t{_FLAGS[message.status]}\t{now}"
                for msgid in fields["msgid"].split(",")
                if (message := self.world.messages.get(msgid)) is not None
            ]
            return PlainTextResponse("".join(f"{line}\r\n" for line in lines))
        return PlainTextResponse(f"AccountPoint={self.points}\r\n")

    def callback_for(self, message: SimMessage, state: Status) -> Callback:
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
            url, signing = f"{self.sim.callback_url}?{urlencode(fields)}", self.scheme
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

    async def emit(self, order: EmitRequest) -> Callback:
        message = self.message(order.entity_id)
        return self.callback_for(message, state_named(order.event, _FLAGS, "StatusFlag"))

    def state(self) -> dict[str, Any]:
        return {**self.world.state(), "points": self.points, "clientids": len(self.by_clientid)}

    def reset(self) -> None:
        self.world.reset()
        self.by_clientid.clear()

    def add_routes(self) -> None:
        self.sim.route(SEND, self.send_sms, methods=["POST"], idempotent=True)
        self.sim.route(QUERY, self.query, methods=["GET", "POST"])


def _charset(request: Request) -> str:
    """Mitake reads a form body as Big5 unless the query says ``CharsetURL=UTF-8``."""
    return "utf-8" if request.query_params.get("CharsetURL", "").upper() == "UTF-8" else "big5"


def create_app(settings: HooklineSettings, sim_settings: SimulatorSettings) -> ASGIApp:
    return MitakeSimulator(settings, sim_settings).build()
