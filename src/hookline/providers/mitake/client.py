"""Mitake SMS HTTP API: send and account query (docs/providers/mitake.md).

Answers are INI-style text (``[1]``, ``msgid=``, ``statuscode=``), always 200.
Mitake de-duplicates on ``clientid`` (hookline's attempt key), so an unanswered
send is simply sent again: a repeat answers the original ``msgid`` with
``Duplicate=Y`` (docs/sms.md#failover-rules-in-plain-words).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx

from hookline.config.models import HooklineSettings
from hookline.config.secrets import Credential, current
from hookline.errors import ConfigError, HooklineError
from hookline.http.client import ApiClient
from hookline.http.errors import AuthFailed, Unavailable
from hookline.messages.phone import is_taiwan, taiwan_national
from hookline.providers._sms.clients import api_client, provider_settings, secret_extra, webhook_url
from hookline.providers._sms.contract import OutboundSms, SendReceipt, rejected
from hookline.providers._sms.sending import SmsClientBase
from hookline.providers.probe import probe_read

SEND = "/api/mtk/SmSend"
QUERY = "/api/mtk/SmQuery"

_RETRY = frozenset("*abrl")
_PROVIDER = frozenset("cdefhkmnps")
_CONTENT = frozenset("uxty")
_ACCEPTED = frozenset("0124")


def parse_ini(text: str) -> dict[str, str]:
    """``[1]\\r\\nmsgid=…\\r\\nstatuscode=1`` → ``{"msgid": …, "statuscode": "1"}`` (first block)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("["):
            if fields and line.startswith("["):
                break
            continue
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


# Mitake allows 15 requests in flight per account (docs/providers/mitake.md).
CLIENT_DEFAULTS: dict[str, Any] = {"limits": {"max_concurrency": 15}}


class MitakeErrors:
    def classify(self, response: httpx.Response) -> HooklineError | None:
        status = response.status_code
        text = response.content.decode("utf-8", errors="replace")
        fields = parse_ini(text)
        code = fields.get("statuscode", "")
        details = {"provider": "mitake", "provider_code": code or str(status)}
        if status == 429 or status >= 500 or code in _RETRY:
            return Unavailable(
                f"mitake answered {status} statuscode={code}",
                status=status,
                code=code or str(status),
                details=details,
            )
        if status >= 400:
            return rejected("mitake", "content", str(status), f"HTTP {status}")
        if code in _ACCEPTED or (not code and "AccountPoint" in fields):
            return None
        if status < 300 and not code and _status_lines(text):
            return None
        error = fields.get("Error", f"statuscode={code}")
        if code in ("e", "d") or code in _PROVIDER:
            if code in ("e", "d"):
                return AuthFailed(
                    f"mitake refused the account: {error}",
                    status=status,
                    code="provider",
                    details=details,
                )
            return rejected("mitake", "provider", code, error)
        if code == "v":
            return rejected("mitake", "invalid_recipient", code, error)
        if code in _CONTENT:
            return rejected("mitake", "content", code, error)
        return Unavailable(
            f"mitake answer has no usable statuscode ({code!r})",
            status=status,
            code="malformed",
            details=details,
        )


def _status_lines(text: str) -> bool:
    """A message-status answer: "msgid<TAB>StatusFlag<TAB>time" lines."""
    lines = [line for line in text.splitlines() if line.strip()]
    return bool(lines) and all("\t" in line and "=" not in line for line in lines)


class MitakeClient(SmsClientBase):
    name = "mitake"
    deduplicates = True

    def __init__(
        self, api: ApiClient, *, callback_url: str | None, callback_token: Credential | None
    ) -> None:
        super().__init__(api)
        self.callback_url = callback_url
        self.callback_token = callback_token

    async def _send(self, sms: OutboundSms) -> SendReceipt:
        form = {
            "dstaddr": taiwan_national(sms.to) if is_taiwan(sms.to) else sms.to.lstrip("+"),
            "smbody": sms.body,
            "clientid": sms.attempt_key,
        }
        if self.callback_url:
            # Read per send: a rotated file: token reaches the next report URL.
            token = current(self.callback_token) if self.callback_token is not None else None
            query = {"token": token} if token else {}
            form["response"] = f"{self.callback_url}?{urlencode({**query, 'ref': sms.message_id})}"
        response = await self.api.request(
            "POST",
            SEND,
            endpoint="send",
            params={"CharsetURL": "UTF-8"},
            data=form,
            **self.send_options(sms),
        )
        fields = parse_ini(response.content.decode("utf-8", errors="replace"))
        if not fields.get("msgid"):
            raise Unavailable(
                "mitake accepted without a msgid", status=response.status_code, code="malformed"
            )
        return SendReceipt(
            provider_message_id=fields["msgid"],
            provider_status=fields.get("statuscode", "1"),
            duplicate=fields.get("Duplicate") == "Y",
        )

    async def status(self, msgid: str) -> str:
        """The message-status query (``SmQuery`` with ``msgid``): the StatusFlag, or ``unknown``."""
        response = await self.api.request("GET", QUERY, endpoint="status", params={"msgid": msgid})
        for line in response.content.decode("utf-8", errors="replace").splitlines():
            parts = line.strip().split("\t")
            if len(parts) >= 2 and parts[0] == msgid:
                return parts[1].strip()
        return "unknown"

    async def health(self) -> bool:
        """The account query: answers ``AccountPoint`` while the credentials work."""
        return await probe_read(self.api, QUERY, check=_points_answered)


def _points_answered(response: httpx.Response) -> bool:
    return "AccountPoint" in parse_ini(response.content.decode("utf-8", errors="replace"))


def from_settings(settings: HooklineSettings) -> MitakeClient:
    provider = provider_settings(settings, "mitake")
    if provider.auth is None or provider.auth.type != "form_credentials":
        raise ConfigError("providers.mitake.auth must be form_credentials (username and password)")
    callback_token = secret_extra(provider, "mitake", "callback_token")
    callback_url = webhook_url(settings, provider, "mitake-dlr")
    if callback_url and callback_token is None:
        raise ConfigError("providers.mitake.callback_token is needed for delivery reports")
    return MitakeClient(
        api_client(settings, "mitake", provider, MitakeErrors(), CLIENT_DEFAULTS),
        callback_url=callback_url,
        callback_token=callback_token,
    )
