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
    request_fields,
    state_named,
)
from hookline.sandbox import Callback, EmitRequest, ProviderFormat

__all__ = ["CREDIT", "FORMAT", "SEND", "STATUS", "Every8dSimulator", "create_app", "failure"]

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


class Every8dSimulator(SmsSimulator):
    """Every8d's send, status and credit calls, and its delivery reports (a hookline convention)."""

    provider = "every8d"
    source = "every8d-dlr"
    fmt = FORMAT
    signing = TOKEN_SIGNING
    noun = "batch"

    def __init__(self, settings: HooklineSettings, sim_settings: SimulatorSettings) -> None:
        super().__init__(settings, sim_settings, SmsWorld())
        self.login = (self.extras.get("uid"), self.extras.get("pwd"))
        self.credit = 10_000.0

    def authorized(self, fields: dict[str, str]) -> bool:
        return credentials_match((fields.get("UID", ""), fields.get("PWD", "")), self.login)

    async def send_sms(self, request: Request) -> Response:
        form = await complete_form(request)
        if form is None:
            return Response(status_code=GONE)
        fields = {**request.query_params, **form}
        if not self.authorized(fields):
            return failure("-2")
        body, dest = fields.get("MSG", ""), fields.get("DEST", "").strip()
        if not body or not dest or "," in dest:
            return failure("-1")
        if len(body) > 1600:
            return failure("-5")
        to = from_taiwan_national(dest)
        outcome = self.world.outcome(to)
        if outcome == "invalid" or not to[1:].isdigit():
            return failure("-3")
        cost = float(segment(body).segments)
        if self.credit < cost:
            return failure("-99")
        self.credit -= cost
        batch = str(uuid.uuid4())
        self.world.accept(
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
        return PlainTextResponse(f"{self.credit:.1f},1,{cost:.1f},0,{batch}")

    async def status(self, request: Request) -> Response:
        fields = await request_fields(request)
        if not self.authorized(fields):
            return failure("-2")
        message = self.world.messages.get(fields.get("BID", ""))
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

    async def get_credit(self, request: Request) -> Response:
        if not self.authorized(await request_fields(request)):
            return failure("-2")
        return PlainTextResponse(f"{self.credit:.1f}")

    def callback_for(self, message: SimMessage, state: Status) -> Callback:
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
            url=self.sim.callback_url,
            body=urlencode(fields).encode(),
            content_type="application/x-www-form-urlencoded",
            scheme=self.scheme,
        )

    async def emit(self, order: EmitRequest) -> Callback:
        message = self.message(order.entity_id)
        return self.callback_for(message, state_named(order.event, _REPORT_STATUS, "report status"))

    def state(self) -> dict[str, Any]:
        return {**self.world.state(), "credit": self.credit}

    def add_routes(self) -> None:
        self.sim.route(SEND, self.send_sms, methods=["POST"], idempotent=True)
        self.sim.route(STATUS, self.status, methods=["GET", "POST"])
        self.sim.route(CREDIT, self.get_credit, methods=["GET", "POST"])


def create_app(settings: HooklineSettings, sim_settings: SimulatorSettings) -> ASGIApp:
    return Every8dSimulator(settings, sim_settings).build()


def _code(message: SimMessage, state: str) -> str:
    if state == "undelivered" and message.extra.get("international"):
        return "500"
    return _REPORT_STATUS.get(state, "0")


def _now() -> str:
    return datetime.now(TAIPEI).strftime("%Y%m%d%H%M%S")
