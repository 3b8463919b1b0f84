"""A signed webhook reaches Kafka as a CloudEvent, and every bad request is refused cleanly."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from hookline.bus.broker import EmbeddedBroker
from hookline.bus.topics import Topics
from hookline.config.models import HooklineSettings
from hookline.signatures import build_scheme
from hookline.signatures.base import Headers, SignedRequest
from tests.support.ingress import running_ingress, settings_for
from tests.support.kafka import consume_all

INVOICE = {
    "type": "invoice.paid",
    "timestamp": "2026-11-23T10:15:00Z",
    "data": {"id": "inv_1", "amount": 42},
}


def sign(settings: HooklineSettings, source: str, body: bytes, **headers: str) -> dict[str, str]:
    request = SignedRequest(
        body=body, headers=Headers({"content-type": "application/json", **headers})
    )
    signed = build_scheme(settings.sources[source].verify).sign(request, time.time())
    return dict(signed.headers)


def events_topic(settings: HooklineSettings, source: str) -> str:
    return Topics(settings.kafka.topic_prefix).events(source)


async def test_signed_webhook_is_on_kafka_with_attributes_key_and_headers(
    broker: EmbeddedBroker,
) -> None:
    """202 carries the event id; the record holds the CloudEvent, its key and its headers."""
    settings = settings_for(broker.bootstrap_servers)
    body = json.dumps(INVOICE).encode()
    headers = sign(
        settings,
        "billing",
        body,
        **{
            "webhook-id": "msg_e2e_1",
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        },
    )
    async with running_ingress(settings) as url, httpx.AsyncClient() as client:
        response = await client.post(f"{url}/webhooks/billing", content=body, headers=headers)
    assert response.status_code == 202
    answer = response.json()
    assert answer["duplicate"] is False
    records = await consume_all(
        broker.bootstrap_servers, events_topic(settings, "billing"), expect=1
    )
    assert len(records) == 1
    record = records[0]
    event = json.loads(record.value)
    assert event["id"] == answer["id"]
    assert event["type"] == "billing.invoice.paid"
    assert event["source"] == "/hookline/sources/billing"
    assert event["subject"] == "inv_1" and record.key == b"inv_1"
    assert event["providereventid"] == "msg_e2e_1"
    assert event["time"] == "2026-11-23T10:15:00Z"
    assert event["data"] == {"id": "inv_1", "amount": 42}
    record_headers = dict(record.headers)
    assert record_headers["content-type"] == b"application/cloudevents+json"
    assert (
        record_headers["traceparent"].decode().split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"
    )


async def test_hmac_source_with_timestamp_publishes(broker: EmbeddedBroker) -> None:
    """The configurable hmac scheme (with timestamp header) verifies and publishes."""
    settings = settings_for(broker.bootstrap_servers)
    body = json.dumps({"id": "evt_7", "order": "ORD-1"}).encode()
    async with running_ingress(settings) as url, httpx.AsyncClient() as client:
        response = await client.post(
            f"{url}/webhooks/colt", content=body, headers=sign(settings, "colt", body)
        )
    assert response.status_code == 202
    records = await consume_all(broker.bootstrap_servers, events_topic(settings, "colt"), expect=1)
    assert [json.loads(r.value)["id"] for r in records] == [response.json()["id"]]


async def test_unnormalizable_verified_webhook_goes_to_ingress_dlq(broker: EmbeddedBroker) -> None:
    """A verified body that parses but cannot be normalized is kept in dlq.ingress and answered 202."""
    settings = settings_for(broker.bootstrap_servers)
    body = b"[1, 2, 3]"  # valid JSON, but not an object
    async with running_ingress(settings) as url, httpx.AsyncClient() as client:
        response = await client.post(
            f"{url}/webhooks/billing", content=body, headers=sign(settings, "billing", body)
        )
    assert response.status_code == 202
    dlq = await consume_all(
        broker.bootstrap_servers, Topics(settings.kafka.topic_prefix).ingress_dlq, expect=1
    )
    assert len(dlq) == 1
    kept = json.loads(dlq[0].value)
    assert kept["type"] == "hookline.ingress.normalization_failed"
    assert kept["data"]["body_base64"] == "WzEsIDIsIDNd"
    assert "webhook-signature" not in kept["data"]["headers"]
    assert (
        await consume_all(broker.bootstrap_servers, events_topic(settings, "billing"), timeout=1)
        == []
    )


def _bad_requests(
    settings: HooklineSettings,
) -> list[tuple[str, int, str, str, dict[str, str], bytes]]:
    good = json.dumps(INVOICE).encode()
    signed = sign(settings, "billing", good)
    tampered = good.replace(b"42", b"43")
    big = b'{"pad": "' + b"x" * 5000 + b'"}'
    not_json = b"{not json"
    return [
        # (name, status, method, path, headers, body)
        ("unknown source", 404, "POST", "/webhooks/nope", signed, good),
        ("method", 405, "GET", "/webhooks/billing", {}, b""),
        (
            "media type",
            415,
            "POST",
            "/webhooks/billing",
            {**signed, "content-type": "text/plain"},
            good,
        ),
        ("too large", 413, "POST", "/webhooks/billing", sign(settings, "billing", big), big),
        ("tampered", 401, "POST", "/webhooks/billing", signed, tampered),
        ("unsigned", 401, "POST", "/webhooks/billing", {"content-type": "application/json"}, good),
        (
            "unparseable",
            400,
            "POST",
            "/webhooks/billing",
            sign(settings, "billing", not_json),
            not_json,
        ),
        ("no route", 404, "GET", "/nowhere", {}, b""),
    ]


@pytest.fixture(scope="module")
def bad_settings(broker: EmbeddedBroker) -> HooklineSettings:
    return settings_for(broker.bootstrap_servers)


async def test_every_error_is_problem_json_and_publishes_nothing(
    broker: EmbeddedBroker, bad_settings: HooklineSettings
) -> None:
    """400/401/404/405/413/415 answer RFC 9457 problem+json and nothing reaches Kafka."""
    seen: dict[int, Any] = {}
    async with running_ingress(bad_settings) as url, httpx.AsyncClient() as client:
        for name, status, method, path, headers, body in _bad_requests(bad_settings):
            response = await client.request(method, url + path, headers=headers, content=body)
            assert response.status_code == status, name
            assert response.headers["content-type"] == "application/problem+json", name
            problem = response.json()
            assert problem["status"] == status and problem["title"] and problem["detail"], name
            assert problem["type"].startswith("urn:hookline:problem:"), name
            seen.setdefault(status, []).append(problem)
    # every verification failure answers the identical body
    assert seen[401][0] == seen[401][1]
    topics = Topics(bad_settings.kafka.topic_prefix)
    for topic in (topics.events("billing"), topics.ingress_dlq):
        assert await consume_all(broker.bootstrap_servers, topic, timeout=1) == []


async def test_oversized_body_without_content_length_stops_reading(broker: EmbeddedBroker) -> None:
    """A chunked body over max_body_bytes is refused with 413 once the limit is crossed."""
    settings = settings_for(broker.bootstrap_servers)

    async def chunks() -> Any:
        for _ in range(100):
            yield b"x" * 1024

    async with running_ingress(settings) as url, httpx.AsyncClient() as client:
        response = await client.post(
            f"{url}/webhooks/billing",
            content=chunks(),
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 413


async def test_health_readiness_and_metrics(broker: EmbeddedBroker) -> None:
    """healthz and readyz answer 200 with Kafka up; metrics count requests by source and outcome."""
    settings = settings_for(broker.bootstrap_servers)
    body = json.dumps(INVOICE).encode()
    async with running_ingress(settings) as url, httpx.AsyncClient() as client:
        assert (await client.get(f"{url}/healthz")).status_code == 200
        assert (await client.get(f"{url}/readyz")).status_code == 200
        await client.post(
            f"{url}/webhooks/billing", content=body, headers=sign(settings, "billing", body)
        )
        await client.post(
            f"{url}/webhooks/billing", content=body, headers={"content-type": "application/json"}
        )
        text = (await client.get(f"{url}/metrics")).text
    assert 'hookline_ingress_requests_total{outcome="accepted",source="billing"}' in text
    assert (
        'hookline_ingress_verification_failures_total{reason="missing_header",source="billing"}'
        in text
    )
    assert "hookline_ingress_publish_seconds_bucket" in text
