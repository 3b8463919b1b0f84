"""Twilio deliveries signed by Twilio's own SDK pass a running ingress: JSON bodies and GET callbacks."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

from hookline.bus.broker import EmbeddedBroker
from hookline.bus.topics import Topics
from hookline.config.models import HooklineSettings
from hookline.envelope import CloudEvent
from tests.support.ingress import running_ingress, settings_for
from tests.support.kafka import consume_all

TOKEN = "twilio-auth-token-at-the-ingress"
FIELDS = {
    "MessageSid": "SM77",
    "MessageStatus": "delivered",
    "To": "+886912345678",
    "ref": "msg-77",
}


async def _reported(settings: HooklineSettings) -> list[tuple[str, str]]:
    """(type, provider message id) of the SMS events published, i.e. normalized, not dead-lettered."""
    topic = Topics(settings.kafka.topic_prefix).events("sms")
    records = await consume_all(settings.kafka.bootstrap_servers or "", topic, expect=1)
    events = [CloudEvent.model_validate_json(r.value) for r in records]
    return [(e.type, e.data["provider_message_id"]) for e in events]


def _settings(bootstrap: str) -> HooklineSettings:
    return settings_for(
        bootstrap,
        sources={"sms": {"provider": "twilio", "verify": {"scheme": "twilio", "secrets": [TOKEN]}}},
    )


async def test_json_body_signed_with_body_sha256_is_accepted(broker: EmbeddedBroker) -> None:
    """A JSON callback signed as RequestValidator expects (bodySHA256 in the URL) gets 202; a changed body 401."""
    validator = RequestValidator(TOKEN)
    body = json.dumps(FIELDS)
    settings = _settings(broker.bootstrap_servers)
    async with (
        running_ingress(settings) as url,
        httpx.AsyncClient() as client,
    ):
        called = f"{url}/webhooks/sms?bodySHA256={validator.compute_hash(body)}"
        signature = validator.compute_signature(called, {})
        assert validator.validate(called, body, signature)
        headers = {"content-type": "application/json", "X-Twilio-Signature": signature}
        accepted = await client.post(called, content=body, headers=headers)
        changed = await client.post(called, content=body.replace("SM77", "SM78"), headers=headers)
    assert accepted.status_code == 202, accepted.text
    assert changed.status_code == 401
    assert await _reported(settings) == [("sms.message.delivered", "SM77")]


async def test_get_callback_signed_over_its_url_is_accepted(broker: EmbeddedBroker) -> None:
    """A callback configured for GET, signed over the URL and its query, gets 202; a changed query 401."""
    validator = RequestValidator(TOKEN)
    settings = _settings(broker.bootstrap_servers)
    async with (
        running_ingress(settings) as url,
        httpx.AsyncClient() as client,
    ):
        called = f"{url}/webhooks/sms?{urlencode(FIELDS)}"
        signature = validator.compute_signature(called, {})
        assert validator.validate(called, {}, signature)
        accepted = await client.get(called, headers={"X-Twilio-Signature": signature})
        changed = await client.get(
            called.replace("delivered", "failed"), headers={"X-Twilio-Signature": signature}
        )
    assert accepted.status_code == 202, accepted.text
    assert changed.status_code == 401
    assert await _reported(settings) == [("sms.message.delivered", "SM77")]
