"""GET /admin/dlq through the real ingress: what sits in each dead-letter topic, and why."""

from __future__ import annotations

import time

import httpx
from aiokafka import AIOKafkaProducer

from hookline.bus.broker import EmbeddedBroker
from hookline.bus.topics import Topics
from hookline.signatures import build_scheme
from hookline.signatures.base import Headers, SignedRequest
from hookline.worker import parking
from tests.support.ingress import running_ingress, settings_for
from tests.support.kafka import create_topics

TOKEN = "admin-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def letter(reason: str, error: str) -> list[tuple[str, bytes]]:
    return [
        (parking.H_REASON, reason.encode()),
        (parking.H_ERROR_CLASS, error.encode()),
        (parking.H_DEAD_LETTERED, parking.now_rfc3339().encode()),
    ]


async def test_dlq_counts_by_service_reason_and_error(broker: EmbeddedBroker) -> None:
    """Worker letters are counted by reason and error class, the ingress's own (a verified body
    that cannot be normalized) too; ?service= narrows it; no token, no answer."""
    settings = settings_for(broker.bootstrap_servers, admin_token=TOKEN)
    sms_dlq = Topics(settings.kafka.topic_prefix).dlq("sms")
    await create_topics(broker.bootstrap_servers, [sms_dlq], 3)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for key, reason, error in (
            (b"m1", "permanent", "ProviderRejected"),
            (b"m2", "permanent", "ProviderRejected"),
            (b"m3", "exhausted", "RetryableError"),
        ):
            await producer.send_and_wait(sms_dlq, b"{}", key=key, headers=letter(reason, error))
    finally:
        await producer.stop()
    # A JSON array is verified but is no standard webhook: the ingress keeps it in its own DLQ.
    body = b"[1, 2, 3]"
    signed = build_scheme(settings.sources["billing"].verify).sign(
        SignedRequest(body=body, headers=Headers({"content-type": "application/json"})), time.time()
    )
    async with (
        running_ingress(settings) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as http,
    ):
        kept = await http.post("/webhooks/billing", content=body, headers=dict(signed.headers))
        assert kept.status_code == 202
        refused = await http.get("/admin/dlq")
        answer = await http.get("/admin/dlq", headers=BEARER)
        only_sms = await http.get("/admin/dlq", params={"service": "sms"}, headers=BEARER)
    assert refused.status_code == 401
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["total"] == 4
    sms = report["services"]["sms"]
    assert (sms["topic"], sms["count"]) == (sms_dlq, 3)
    assert sms["reasons"] == {"permanent": 2, "exhausted": 1}
    assert sms["errors"] == {"ProviderRejected": 2, "RetryableError": 1}
    assert sms["oldest"] <= sms["newest"]
    ingress = report["services"]["ingress"]
    assert (ingress["count"], ingress["reasons"]) == (1, {"normalization_failed": 1})
    assert only_sms.json()["total"] == 3 and list(only_sms.json()["services"]) == ["sms"]
