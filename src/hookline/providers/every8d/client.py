"""Every8d HTTP API 2.1: send, delivery status, credit (docs/providers/every8d.md).

Every8d answers ``200 text/plain`` even on failure: a negative first field is
the error code. It does not honour ``Idempotency-Key`` (the sandbox does), so
an unanswered send is an ambiguous outcome and is never repeated (docs/sms.md#failover-rules-in-plain-words).
"""

from __future__ import annotations

import httpx

from hookline.config.models import HooklineSettings
from hookline.errors import ConfigError, HooklineError
from hookline.http.errors import AuthFailed, Unavailable
from hookline.providers._sms.clients import api_client, provider_settings
from hookline.providers._sms.contract import OutboundSms, SendReceipt, rejected
from hookline.providers._sms.sending import SmsClientBase
from hookline.providers.probe import probe_read

SEND = "/API21/HTTP/sendSMS.ashx"
STATUS = "/API21/HTTP/getDeliveryStatus.ashx"
CREDIT = "/API21/HTTP/getCredit.ashx"

# Send-failure code → hookline error class ("retry" = retryable).
_CODES: dict[str, str] = {
    "-1": "content",
    "-2": "auth",
    "-3": "invalid_recipient",
    "-4": "provider",
    "-5": "content",
    "-6": "content",
    "-99": "retry",
}


def _first_field(response: httpx.Response) -> tuple[str, str]:
    text = response.content.decode("utf-8", errors="replace").strip()
    first, _, rest = text.partition(",")
    return first.strip(), rest.strip()


class Every8dErrors:
    """Status first (5xx/429 retry), then the negative code in a 200 text answer."""

    def classify(self, response: httpx.Response) -> HooklineError | None:
        status = response.status_code
        code, message = _first_field(response)
        details = {"provider": "every8d", "provider_code": code or str(status)}
        if status == 429 or status >= 500:
            return Unavailable(
                f"every8d answered {status}", status=status, code=str(status), details=details
            )
        if status == 401 or status == 403:
            return AuthFailed(
                f"every8d answered {status}", status=status, code="provider", details=details
            )
        if status >= 400:
            return rejected("every8d", "content", str(status), f"HTTP {status}")
        if not code.startswith("-"):
            return None
        kind = _CODES.get(code, "provider")
        if kind == "retry":
            return Unavailable(
                f"every8d host error {code}: {message}", status=status, code=code, details=details
            )
        if kind == "auth":
            return AuthFailed(
                f"every8d refused the credentials: {message}",
                status=status,
                code="provider",
                details=details,
            )
        return rejected("every8d", kind, code, message or code)


class MalformedAnswer(Unavailable):
    """The provider's answer could not be read (cut off, not its format)."""


class Every8dClient(SmsClientBase):
    name = "every8d"

    async def _send(self, sms: OutboundSms) -> SendReceipt:
        form = {"SB": sms.message_id, "MSG": sms.body, "DEST": sms.to, "ST": ""}
        response = await self.api.request(
            "POST", SEND, endpoint="send", data=form, **self.send_options(sms)
        )
        parts = [
            p.strip() for p in response.content.decode("utf-8", errors="replace").strip().split(",")
        ]
        if len(parts) != 5 or not parts[4]:
            raise MalformedAnswer(
                "every8d send answer is not CREDIT,SENDED,COST,UNSEND,BATCH_ID",
                status=response.status_code,
                code="malformed",
            )
        try:
            segments = round(float(parts[2]))
        except ValueError:
            segments = None
        return SendReceipt(
            provider_message_id=parts[4],
            provider_status="sent" if parts[1] != "0" else "unsent",
            segments=segments or None,
            duplicate=response.headers.get("idempotent-replayed") == "true",
        )

    async def status(self, batch_id: str) -> str:
        response = await self.api.request(
            "GET", STATUS, endpoint="status", params={"BID": batch_id, "PNO": "1"}
        )
        lines = response.content.decode("utf-8", errors="replace").strip().splitlines()
        if len(lines) < 2:
            return "unknown"
        return lines[1].split("\t")[-1].strip()

    async def health(self) -> bool:
        """The credit query: a negative first field is Every8d's error code."""
        return await probe_read(self.api, CREDIT, check=_credit_answered)


def _credit_answered(response: httpx.Response) -> bool:
    code, _ = _first_field(response)
    return not code.startswith("-")


def from_settings(settings: HooklineSettings) -> Every8dClient:
    provider = provider_settings(settings, "every8d")
    auth = provider.auth
    if auth is None or auth.type != "form_credentials":
        raise ConfigError("providers.every8d.auth must be form_credentials (UID and PWD)")
    if auth.username_field == "username":
        # Every8d's own field names, unless the configuration says otherwise.
        auth = auth.model_copy(update={"username_field": "UID", "password_field": "PWD"})
        provider = provider.model_copy(update={"auth": auth})
    return Every8dClient(api_client(settings, "every8d", provider, Every8dErrors()))
