"""Every scheme end to end through a running ingress: provider-signed requests are published once;
every bad one gets the identical 401 and publishes nothing."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import pytest_asyncio
import standardwebhooks
import stripe
from slack_sdk.signature import SignatureVerifier
from twilio.request_validator import RequestValidator

from hookline.bus.broker import EmbeddedBroker
from hookline.bus.topics import Topics
from hookline.config.models import HooklineSettings
from hookline.providers.registry import PROVIDERS
from hookline.signatures import build_scheme
from hookline.signatures.base import Headers, SignedRequest
from tests.support.ingress import running_ingress, settings_for
from tests.support.kafka import consume_all

PUBLIC = "https://hooks.example.com"
WHSEC = "whsec_" + base64.b64encode(b"e2e-standard-webhooks-key-32by!!").decode()
OTHER_WHSEC = "whsec_" + base64.b64encode(b"x" * 32).decode()
SECRETS = {
    "stripe": "whsec_e2e_stripe",
    "github": "gh-e2e-secret",
    "twilio": "tw-auth-token",
    "slack": "slack-signing-secret",
    "shopify": "shpss_e2e",
    "hmac": "hmac-e2e",
    "token": "tok-e2e-123",
}

SOURCES: dict[str, dict[str, Any]] = {
    "sw": {
        "provider": "standard",
        "verify": {"scheme": "standard-webhooks", "secrets": [OTHER_WHSEC, WHSEC]},
    },  # rotation
    "pay": {"provider": "stripe", "verify": {"scheme": "stripe", "secrets": [SECRETS["stripe"]]}},
    "gh": {"provider": "github", "verify": {"scheme": "github", "secrets": [SECRETS["github"]]}},
    "tw": {"provider": "twilio", "verify": {"scheme": "twilio", "secrets": [SECRETS["twilio"]]}},
    "twj": {"provider": "standard", "verify": {"scheme": "twilio", "secrets": [SECRETS["twilio"]]}},
    "sl": {"provider": "slack", "verify": {"scheme": "slack", "secrets": [SECRETS["slack"]]}},
    "shop": {
        "provider": "shopify",
        "verify": {"scheme": "shopify", "secrets": [SECRETS["shopify"]]},
    },
    "hm": {
        "provider": "standard",
        "verify": {
            "scheme": "hmac",
            "header": "X-Sig",
            "timestamp_header": "X-Sig-Ts",
            "prefix": "sha256=",
            "secrets": [SECRETS["hmac"]],
        },
    },
    "tok": {
        "provider": "standard",
        "verify": {
            "scheme": "token",
            "query_param": "token",
            "secrets": ["tok-old", SECRETS["token"]],
        },
    },
}

# (name, path with query, body, headers)
Req = tuple[str, str, bytes, dict[str, str]]
JSON = {"content-type": "application/json"}


def _json_body() -> bytes:
    return json.dumps(
        {
            "id": f"evt_{uuid.uuid4().hex}",
            "type": "invoice.paid",
            "data": {"id": "inv_9", "amount": 4200},
        }
    ).encode()


def _flip(body: bytes) -> bytes:
    return body.replace(b"4200", b"4201")


def case_standard_webhooks() -> tuple[list[Req], list[Req]]:
    body, now = _json_body(), int(time.time())

    def signed(secret: str, ts: int, data: bytes = body, msg: str = "msg_e2e") -> dict[str, str]:
        sig = standardwebhooks.Webhook(secret).sign(
            msg, datetime.fromtimestamp(ts, UTC), data.decode()
        )
        return {**JSON, "webhook-id": msg, "webhook-timestamp": str(ts), "webhook-signature": sig}

    msg = f"msg_{uuid.uuid4().hex}"
    good = signed(WHSEC, now, msg=msg)
    return [("sdk-signed", "/webhooks/sw", body, good)], [
        ("tampered", "/webhooks/sw", _flip(body), good),
        (
            "wrong secret",
            "/webhooks/sw",
            body,
            signed("whsec_" + base64.b64encode(b"y" * 32).decode(), now, msg=msg),
        ),
        ("stale", "/webhooks/sw", body, signed(WHSEC, now - 400, msg=msg)),
        ("future", "/webhooks/sw", body, signed(WHSEC, now + 400, msg=msg)),
        (
            "missing header",
            "/webhooks/sw",
            body,
            {k: v for k, v in good.items() if k != "webhook-signature"},
        ),
        (
            "malformed header",
            "/webhooks/sw",
            body,
            {**good, "webhook-signature": "v1,%%%not-base64"},
        ),
        ("malformed timestamp", "/webhooks/sw", body, {**good, "webhook-timestamp": "yesterday"}),
    ]


def case_stripe() -> tuple[list[Req], list[Req]]:
    body, now = _json_body(), int(time.time())

    def signed(secret: str, ts: int) -> dict[str, str]:
        return {
            **JSON,
            "Stripe-Signature": stripe.WebhookSignature.generate_signature_header(
                body.decode(), secret, ts
            ),
        }

    good = signed(SECRETS["stripe"], now)
    return [("sdk-signed", "/webhooks/pay", body, good)], [
        ("tampered", "/webhooks/pay", _flip(body), good),
        ("wrong secret", "/webhooks/pay", body, signed("whsec_other", now)),
        ("stale", "/webhooks/pay", body, signed(SECRETS["stripe"], now - 400)),
        ("future", "/webhooks/pay", body, signed(SECRETS["stripe"], now + 400)),
        ("missing header", "/webhooks/pay", body, JSON),
        ("malformed header", "/webhooks/pay", body, {**JSON, "Stripe-Signature": "t=abc,v1=zz"}),
    ]


def _our(
    source: str, body: bytes, headers: dict[str, str], secret: str | None = None, url: str = ""
) -> SignedRequest:
    verify = dict(SOURCES[source]["verify"])
    if secret is not None:
        verify["secrets"] = [secret]
    scheme = build_scheme(
        HooklineSettings.model_validate(
            {"sources": {source: {**SOURCES[source], "verify": verify}}}
        )
        .sources[source]
        .verify
    )
    return scheme.sign(
        SignedRequest(
            body=body, headers=Headers(headers), url=url or f"{PUBLIC}/webhooks/{source}"
        ),
        time.time(),
    )


def case_github() -> tuple[list[Req], list[Req]]:
    body = PROVIDERS["github"].samples()[0].body
    meta = {**JSON, "X-GitHub-Event": "pull_request", "X-GitHub-Delivery": str(uuid.uuid4())}
    good = dict(_our("gh", body, meta).headers)
    return [("signed", "/webhooks/gh", body, good)], [
        ("tampered", "/webhooks/gh", body + b" ", good),
        ("wrong secret", "/webhooks/gh", body, dict(_our("gh", body, meta, "other").headers)),
        ("missing header", "/webhooks/gh", body, meta),
        ("malformed header", "/webhooks/gh", body, {**meta, "X-Hub-Signature-256": "sha1=abc"}),
    ]


def case_twilio_form() -> tuple[list[Req], list[Req]]:
    samples = {s.name: s.body for s in PROVIDERS["twilio"].samples()}
    validator = RequestValidator(SECRETS["twilio"])
    form = {"content-type": "application/x-www-form-urlencoded"}
    goods: list[Req] = []
    # as Twilio signs it: once without and once with the default port; query strings kept
    for name, signed_url, path in (
        ("delivered", f"{PUBLIC}/webhooks/tw?site=eu", "/webhooks/tw?site=eu"),
        ("undelivered", "https://hooks.example.com:443/webhooks/tw", "/webhooks/tw"),
    ):
        params = dict(
            __import__("urllib.parse").parse.parse_qsl(
                samples[name].decode(), keep_blank_values=True
            )
        )
        goods.append(
            (
                f"sdk-signed {name}",
                path,
                samples[name],
                {**form, "X-Twilio-Signature": validator.compute_signature(signed_url, params)},
            )
        )
    _, path, body, good = goods[0]
    other = RequestValidator("wrong").compute_signature(
        f"{PUBLIC}{path}", dict(__import__("urllib.parse").parse.parse_qsl(body.decode()))
    )
    return goods, [
        ("tampered", path, body.replace(b"delivered", b"failed"), good),
        ("other url", "/webhooks/tw?site=us", body, good),
        ("wrong secret", path, body, {**form, "X-Twilio-Signature": other}),
        ("missing header", path, body, form),
        ("malformed header", path, body, {**form, "X-Twilio-Signature": "***"}),
    ]


def case_twilio_json() -> tuple[list[Req], list[Req]]:
    body = _json_body()
    validator = RequestValidator(SECRETS["twilio"])
    query = urlencode({"bodySHA256": validator.compute_hash(body.decode())})
    good = {
        **JSON,
        "X-Twilio-Signature": validator.compute_signature(f"{PUBLIC}/webhooks/twj?{query}", {}),
    }
    return [("sdk-signed json", f"/webhooks/twj?{query}", body, good)], [
        ("tampered", f"/webhooks/twj?{query}", _flip(body), good),
        ("no body hash", "/webhooks/twj", body, good),
    ]


def case_slack() -> tuple[list[Req], list[Req]]:
    body = json.loads(PROVIDERS["slack"].samples()[0].body)
    body["event_id"] = f"Ev{uuid.uuid4().hex[:10].upper()}"
    raw, now = json.dumps(body).encode(), int(time.time())

    def signed(secret: str, ts: int) -> dict[str, str]:
        sig = SignatureVerifier(secret).generate_signature(timestamp=str(ts), body=raw)
        assert sig is not None
        return {**JSON, "X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sig}

    good = signed(SECRETS["slack"], now)
    return [("sdk-signed", "/webhooks/sl", raw, good)], [
        ("tampered", "/webhooks/sl", raw.replace(b"Colt", b"Cult"), good),
        ("wrong secret", "/webhooks/sl", raw, signed("other", now)),
        ("stale", "/webhooks/sl", raw, signed(SECRETS["slack"], now - 400)),
        ("future", "/webhooks/sl", raw, signed(SECRETS["slack"], now + 400)),
        ("missing header", "/webhooks/sl", raw, {**JSON, "X-Slack-Request-Timestamp": str(now)}),
        ("malformed header", "/webhooks/sl", raw, {**good, "X-Slack-Signature": "v1=00"}),
    ]


def case_shopify() -> tuple[list[Req], list[Req]]:
    body = PROVIDERS["shopify"].samples()[-1].body
    meta = {**JSON, "X-Shopify-Topic": "orders/create", "X-Shopify-Event-Id": str(uuid.uuid4())}
    good = dict(_our("shop", body, meta).headers)
    return [("signed", "/webhooks/shop", body, good)], [
        ("tampered", "/webhooks/shop", body.replace(b"403.00", b"4.00"), good),
        ("wrong secret", "/webhooks/shop", body, dict(_our("shop", body, meta, "other").headers)),
        ("missing header", "/webhooks/shop", body, meta),
        (
            "malformed header",
            "/webhooks/shop",
            body,
            {**meta, "X-Shopify-Hmac-Sha256": "not base64!"},
        ),
    ]


def case_hmac() -> tuple[list[Req], list[Req]]:
    body = _json_body()
    good = dict(_our("hm", body, JSON).headers)
    stale = {**good, "x-sig-ts": str(int(time.time()) - 400)}
    return [("signed", "/webhooks/hm", body, good)], [
        ("tampered", "/webhooks/hm", _flip(body), good),
        ("stale (re-dated)", "/webhooks/hm", body, stale),
        ("wrong secret", "/webhooks/hm", body, dict(_our("hm", body, JSON, "other").headers)),
        (
            "missing header",
            "/webhooks/hm",
            body,
            {k: v for k, v in good.items() if k.lower() != "x-sig"},
        ),
        ("malformed header", "/webhooks/hm", body, {**good, "x-sig": "deadbeef"}),
    ]


def case_token() -> tuple[list[Req], list[Req]]:
    body = _json_body()
    return [("token", f"/webhooks/tok?token={SECRETS['token']}", body, JSON)], [
        ("wrong token", "/webhooks/tok?token=guess", body, JSON),
        ("missing token", "/webhooks/tok", body, JSON),
        ("repeated token", f"/webhooks/tok?token={SECRETS['token']}&token=x", body, JSON),
    ]


CASES: dict[str, Callable[[], tuple[list[Req], list[Req]]]] = {
    "standard-webhooks": case_standard_webhooks,
    "stripe": case_stripe,
    "github": case_github,
    "twilio-form": case_twilio_form,
    "twilio-json": case_twilio_json,
    "slack": case_slack,
    "shopify": case_shopify,
    "hmac": case_hmac,
    "token": case_token,
}


@pytest.fixture(scope="module")
def e2e_settings(broker: EmbeddedBroker) -> HooklineSettings:
    return settings_for(
        broker.bootstrap_servers,
        sources=SOURCES,
        server={"public_base_url": PUBLIC, "max_body_bytes": 65536},
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def ingress(e2e_settings: HooklineSettings) -> AsyncIterator[str]:
    async with running_ingress(e2e_settings) as url:
        yield url


def topic(settings: HooklineSettings, path: str) -> str:
    source = path.split("/")[2].split("?")[0]
    domain = PROVIDERS[settings.sources[source].provider].adapter.domain
    return Topics(settings.kafka.topic_prefix).events(domain or source)


@pytest.mark.parametrize("case", sorted(CASES))
async def test_scheme_end_to_end(
    case: str, ingress: str, e2e_settings: HooklineSettings, broker: EmbeddedBroker
) -> None:
    """Provider-signed → 202 and on Kafka once; replay → 200 duplicate; every bad request → the same 401."""
    goods, bads = CASES[case]()
    accepted: list[str] = []
    async with httpx.AsyncClient() as client:
        unauthorized = set()
        for name, path, body, headers in bads:
            response = await client.post(ingress + path, content=body, headers=headers)
            assert response.status_code == 401, name
            assert response.headers["content-type"] == "application/problem+json"
            unauthorized.add(response.content)
        assert len(unauthorized) == 1  # identical body whatever the cause
        for name, path, body, headers in goods:
            response = await client.post(ingress + path, content=body, headers=headers)
            assert response.status_code == 202, (name, response.text)
            assert response.json()["duplicate"] is False
            accepted.append(response.json()["id"])
            replay = await client.post(ingress + path, content=body, headers=headers)
            assert replay.status_code == 200 and replay.json() == {
                **response.json(),
                "duplicate": True,
            }
    records = await consume_all(
        broker.bootstrap_servers, topic(e2e_settings, goods[0][1]), expect=len(accepted)
    )
    assert sorted(json.loads(r.value)["id"] for r in records) == sorted(accepted)
