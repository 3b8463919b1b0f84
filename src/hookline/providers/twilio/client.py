"""Twilio Messaging API: send and status (docs/providers/twilio.md), on hookline's ApiClient.

Twilio does not honour ``Idempotency-Key`` (the sandbox does), so a send whose
answer never came is an *ambiguous outcome*: it is not repeated anywhere and the
message fails with ``unknown_outcome`` (docs/sms.md#failover-rules-in-plain-words) rather than risk a second SMS.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from hookline.config.models import HooklineSettings
from hookline.errors import ConfigError, HooklineError
from hookline.http.client import ApiClient
from hookline.http.errors import AuthFailed, Unavailable
from hookline.providers._sms.clients import api_client, extra, provider_settings, webhook_url
from hookline.providers._sms.contract import OutboundSms, SendReceipt, rejected
from hookline.providers._sms.sending import SmsClientBase
from hookline.providers.probe import probe_read

# Twilio error code → hookline error class (None: the status decides).
_CODES: dict[int, str] = {
    21211: "invalid_recipient",
    21614: "invalid_recipient",
    21610: "opted_out",
    21602: "content",
    21617: "content",
    21408: "provider",
}


class TwilioErrors:
    """Twilio's JSON error bodies → hookline errors with the failover class as ``code``."""

    def classify(self, response: httpx.Response) -> HooklineError | None:
        status = response.status_code
        if status < 400:
            return None
        try:
            body: Any = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            body = {}
        code = body.get("code") if isinstance(body, dict) else None
        message = str(body.get("message", "")) if isinstance(body, dict) else ""
        details = {"provider": "twilio", "provider_code": str(code or status)}
        if status == 429 or status >= 500 or code == 20429:
            return Unavailable(
                f"twilio answered {status}",
                status=status,
                code=str(code or status),
                details=details,
            )
        if status == 401 or code == 20003:
            return AuthFailed(
                f"twilio refused the credentials: {message}",
                status=status,
                code="provider",
                details=details,
            )
        error_class = (
            _CODES.get(code, "provider" if status in (403, 404) else "content")
            if isinstance(code, int)
            else "content"
        )
        return rejected("twilio", error_class, str(code or status), message or f"HTTP {status}")


class TwilioClient(SmsClientBase):
    name = "twilio"

    def __init__(
        self, api: ApiClient, *, account_sid: str, sender: str | None, callback_url: str | None
    ) -> None:
        super().__init__(api)
        self.account_sid = account_sid
        self.sender = sender
        self.callback_url = callback_url

    @property
    def _base(self) -> str:
        return f"/2010-04-01/Accounts/{self.account_sid}"

    async def _send(self, sms: OutboundSms) -> SendReceipt:
        form = {"To": sms.to, "Body": sms.body}
        sender = sms.sender or self.sender
        if sender and sender.startswith("MG"):
            form["MessagingServiceSid"] = sender
        elif sender:
            form["From"] = sender
        else:
            raise ConfigError("providers.twilio.sender is not set and the command has no sender")
        if self.callback_url:
            form["StatusCallback"] = f"{self.callback_url}?ref={sms.message_id}"
        response = await self.api.request(
            "POST",
            f"{self._base}/Messages.json",
            endpoint="send",
            data=form,
            **self.send_options(sms),
        )
        body = response.json()
        segments = body.get("num_segments")
        return SendReceipt(
            provider_message_id=str(body["sid"]),
            provider_status=str(body.get("status", "queued")),
            segments=int(segments) if str(segments or "").isdigit() else None,
            duplicate=response.headers.get("idempotent-replayed") == "true",
        )

    async def status(self, provider_message_id: str) -> str:
        response = await self.api.request(
            "GET", f"{self._base}/Messages/{provider_message_id}.json", endpoint="status"
        )
        return str(response.json().get("status", "unknown"))

    async def health(self) -> bool:
        """The account resource: answers ``status: active`` while the account can send."""
        return await probe_read(self.api, f"{self._base}.json", check=_active)


def _active(response: httpx.Response) -> bool:
    try:
        return bool(response.json().get("status") == "active")
    except (ValueError, AttributeError):
        return False


def from_settings(settings: HooklineSettings) -> TwilioClient:
    provider = provider_settings(settings, "twilio")
    auth = provider.auth
    if auth is None or auth.username is None:
        raise ConfigError("providers.twilio.auth needs type basic with username (the Account SID)")
    return TwilioClient(
        api_client(settings, "twilio", provider, TwilioErrors()),
        account_sid=auth.username.get(),
        sender=extra(provider, "sender"),
        callback_url=webhook_url(settings, provider, "sms-twilio"),
    )
