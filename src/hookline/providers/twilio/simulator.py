"""The Twilio Messaging API as the sandbox serves it (docs/providers/twilio.md#simulator).

Paths are Twilio's own, so the client differs only in ``base_url``. Basic auth
is ``AccountSid:AuthToken``; when ``sandbox.providers.twilio.callback_secret``
is set it is the Auth Token, checked on every call and used to sign the status
callbacks (``X-Twilio-Signature``) sent to each message's ``StatusCallback``.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, ClassVar, cast
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from hookline.config.models import HooklineSettings, SimulatorSettings
from hookline.envelope import event_id
from hookline.providers._sms.segments import segment
from hookline.providers._sms.sim_world import GONE, SimMessage, SmsWorld, Status, complete_form
from hookline.providers._sms.simkit import SmsSimulator, ref_in
from hookline.sandbox import Callback, EmitRejected, EmitRequest, ProviderFormat

__all__ = ["API", "FORMAT", "TwilioSimulator", "create_app", "error", "resource"]

API = "/2010-04-01/Accounts/{account_sid}"
STATUSES = ("queued", "sent", "delivered", "failed", "undelivered")
_DEFAULT_SENDER = "+15017122661"

_ERRORS: dict[int, tuple[int, str]] = {
    20003: (401, "Authenticate"),
    20404: (404, "The requested resource was not found"),
    20429: (429, "Too Many Requests"),
    20500: (500, "Internal Server Error"),
    21211: (400, "The 'To' number is not a valid phone number."),
    21602: (400, "Message body is required."),
    21617: (400, "The concatenated message body exceeds the 1600 character limit."),
}


def error(code: int, status: int | None = None, message: str | None = None) -> Response:
    default_status, default_message = _ERRORS.get(code, (status or 400, "Error"))
    status = status or default_status
    body = {
        "code": code,
        "message": message or default_message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status)


def _render_error(status: int | None, code: str | None) -> Response:
    if code is not None and code.isdigit():
        return error(int(code), status)
    if status == 429:
        return error(20429, 429)
    if status is not None and status >= 500:
        return error(20500, status)
    return error(20404 if status == 404 else 20003 if status == 401 else 21211, status)


FORMAT = ProviderFormat(
    content_type="application/json",
    sample=json.dumps({"sid": "SM" + "0" * 32, "status": "queued", "num_segments": "1"}).encode(),
    render_error=_render_error,
)


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


class TwilioSimulator(SmsSimulator):
    """Twilio's Messages and Account resources; status callbacks to each message's StatusCallback."""

    provider = "twilio"
    source = "sms-twilio"
    fmt = FORMAT
    signing: ClassVar[Mapping[str, Any]] = {"scheme": "twilio"}

    def __init__(self, settings: HooklineSettings, sim_settings: SimulatorSettings) -> None:
        secret = sim_settings.callback_secret
        # The callback_secret is the Auth Token: checked on every call, and it signs the callbacks.
        self.auth_token = secret.get() if secret else None
        super().__init__(settings, sim_settings, SmsWorld("SM"))

    def signs(self) -> bool:
        return bool(self.auth_token)

    def authorized(self, request: Request) -> bool:
        creds = _basic(request)
        if creds is None or creds[0] != request.path_params["account_sid"]:
            return False
        return self.auth_token is None or secrets.compare_digest(creds[1], self.auth_token)

    async def send_sms(self, request: Request) -> Response:
        if not self.authorized(request):
            return error(20003)
        form = await complete_form(request)
        if form is None:
            return Response(status_code=GONE)
        to, body = form.get("To", ""), form.get("Body", "")
        if not body:
            return error(21602)
        if len(body) > 1600:
            return error(21617)
        outcome = self.world.outcome(to)
        if outcome == "invalid" or not to.startswith("+") or not to[1:].isdigit():
            return error(21211, message=f"The 'To' number {to} is not a valid phone number.")
        service = form.get("MessagingServiceSid")
        callback = form.get("StatusCallback")
        account_sid = request.path_params["account_sid"]
        message = self.world.accept(
            self.world.next_id() + secrets.token_hex(12),
            to,
            body,
            outcome=outcome,
            ref=ref_in(callback),
            attempt_key=request.headers.get("idempotency-key"),
            account_sid=account_sid,
            callback=callback,
            messaging_service_sid=service,
            date_created=format_datetime(datetime.now(UTC), usegmt=False),
            **{"from": None if service else form.get("From") or _DEFAULT_SENDER},
        )
        answer = resource(message, account_sid)
        answer["status"] = "accepted" if service else "queued"
        return JSONResponse(answer, status_code=201)

    async def fetch(self, request: Request) -> Response:
        if not self.authorized(request):
            return error(20003)
        message = self.world.messages.get(request.path_params["sid"])
        if message is None:
            return error(20404)
        return JSONResponse(resource(message, request.path_params["account_sid"]))

    async def account(self, request: Request) -> Response:
        if not self.authorized(request):
            return error(20003)
        sid = request.path_params["account_sid"]
        return JSONResponse({"sid": sid, "status": "active", "type": "Full"})

    def callback_for(self, message: SimMessage, state: Status) -> Callback | None:
        url = message.extra.get("callback")
        if not url:
            return None
        return Callback(
            entity=message.id,
            event_id=event_id("twilio", f"{message.id}:{state}"),
            url=url,
            body=urlencode(_status_fields(message, state)).encode(),
            content_type="application/x-www-form-urlencoded",
            scheme=self.scheme,
            signature_header="X-Twilio-Signature",
        )

    async def emit(self, order: EmitRequest) -> Callback:
        message = self.message(order.entity_id)
        status = order.event if order.event != "status" else message.status
        if status not in STATUSES:
            raise EmitRejected(400, f"unknown MessageStatus {status!r}")
        callback = self.callback_for(message, cast(Status, status))
        if callback is None:
            raise EmitRejected(409, "the message has no StatusCallback")
        return callback

    def add_routes(self) -> None:
        self.sim.route(f"{API}/Messages.json", self.send_sms, methods=["POST"], idempotent=True)
        self.sim.route(f"{API}/Messages/{{sid}}.json", self.fetch, methods=["GET"])
        self.sim.route(f"{API}.json", self.account, methods=["GET"])


def resource(message: SimMessage, account_sid: str) -> dict[str, Any]:
    """A Message resource as Twilio answers it."""
    return {
        "sid": message.id,
        "account_sid": account_sid,
        "to": message.to,
        "from": message.extra.get("from"),
        "messaging_service_sid": message.extra.get("messaging_service_sid"),
        "body": message.body,
        "status": message.status,
        "num_segments": str(segment(message.body).segments),
        "direction": "outbound-api",
        "api_version": "2010-04-01",
        "price": None,
        "error_code": 30003 if message.status == "undelivered" else None,
        "error_message": None,
        "date_created": message.extra["date_created"],
        "uri": f"{API.format(account_sid=account_sid)}/Messages/{message.id}.json",
    }


def _status_fields(message: SimMessage, status: Status) -> dict[str, str]:
    fields = {
        "MessageSid": message.id,
        "SmsSid": message.id,
        "AccountSid": message.extra["account_sid"],
        "From": message.extra.get("from") or "",
        "To": message.to,
        "MessageStatus": status,
        "SmsStatus": status,
        "ApiVersion": "2010-04-01",
    }
    if message.extra.get("messaging_service_sid"):
        fields["MessagingServiceSid"] = message.extra["messaging_service_sid"]
    if status in ("failed", "undelivered"):
        fields["ErrorCode"] = "30003"
    return fields


def create_app(settings: HooklineSettings, sim_settings: SimulatorSettings) -> ASGIApp:
    return TwilioSimulator(settings, sim_settings).build()
