"""Refused webhook requests are kept on Kafka, masked, readable after a restart, and recording
them never holds up a request: a full queue drops (and counts) instead of waiting."""

from __future__ import annotations

import asyncio
import json
import time

import httpx

from hookline.admin.tally import OutcomeTally
from hookline.bus.broker import EmbeddedBroker
from hookline.bus.publisher import Publisher
from hookline.config.models import ServerSettings
from hookline.ingress.rejections import RejectionRecorder
from hookline.observability.metrics import REGISTRY
from tests.support.ingress import running_ingress, settings_for
from tests.support.kafka import consume_all

TOKEN = "admin-token-for-rejections-0123"
PHONE = "+886912345678"


def _dropped() -> float:
    return REGISTRY.get_sample_value("hookline_ingress_rejections_dropped_total") or 0.0


def _recorded() -> float:
    return REGISTRY.get_sample_value("hookline_ingress_rejections_recorded_total") or 0.0


def _scope(headers: dict[str, str], query: bytes = b"") -> dict[str, object]:
    return {"type": "http", "method": "POST", "path": "/webhooks/billing", "query_string": query,
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            "client": ("192.0.2.7", 4000)}  # fmt: skip


async def test_recording_never_waits_and_a_full_queue_drops_with_a_count() -> None:
    """With Kafka gone (no producer), observe() still returns at once; past the bound it drops."""
    publisher = Publisher(None, timeout=1)
    tally = OutcomeTally()
    recorder = RejectionRecorder(
        topic="t.rejected", server=ServerSettings(), publisher=publisher, tally=tally, max_queue=3
    )
    before = _dropped()
    started = time.perf_counter()
    for _ in range(10):
        recorder.observe("billing", "unverified", _scope({"webhook-signature": "v1,abc"}), 401)
    recorder.observe("billing", "accepted", _scope({}), 202)
    assert time.perf_counter() - started < 1.0  # wide room: it is a few dict updates
    assert _dropped() - before == 7
    assert tally.series(300, 1)[("billing", "unverified")] == [10]
    assert tally.series(300, 1)[("billing", "accepted")] == [1]


async def test_rejections_are_masked_on_kafka_and_outlive_the_ingress(
    broker: EmbeddedBroker,
) -> None:
    """A forged delivery is written masked to <prefix>.rejected; a new ingress lists it."""
    settings = settings_for(broker.bootstrap_servers, admin_token=TOKEN)
    signature = "v1,Zm9yZ2VkLXNpZ25hdHVyZS1ieS1hbi1hdHRhY2tlcg=="
    async with running_ingress(settings) as url, httpx.AsyncClient() as client:
        forged = await client.post(
            f"{url}/webhooks/billing?token=secret-in-query", content=b'{"phone": "+886912345678"}',
            headers={"content-type": "application/json", "webhook-id": "msg_1",
                     "webhook-timestamp": str(int(time.time())), "webhook-signature": signature,
                     "x-contact": f"call {PHONE}", "authorization": "Bearer abc.def"},
        )  # fmt: skip
        unknown = await client.post(f"{url}/webhooks/nobody", content=b"{}")
        assert (forged.status_code, unknown.status_code) == (401, 404)
        records = await consume_all(
            broker.bootstrap_servers,
            f"{settings.kafka.topic_prefix}.rejected",
            expect=2,
            timeout=10,
        )
    raw = b"".join(r.value for r in records).decode()
    for secret in (signature, PHONE, "abc.def", "secret-in-query", "+886912345678"):
        assert secret not in raw
    async with running_ingress(settings, create=False) as url, httpx.AsyncClient() as client:
        answer = await client.get(
            f"{url}/admin/rejected", headers={"authorization": f"Bearer {TOKEN}"}
        )
    found = {r["source"]: r for r in answer.json()["rejected"]}
    assert found["billing"]["reason"] == "unverified"
    assert found["billing"]["detail"] == "mismatch"
    assert found["billing"]["client"] == "127.0.0.1"
    assert found["billing"]["headers"]["webhook-signature"] == "***"
    assert found["billing"]["body_base64"] is None  # bodies are kept only when configured
    assert found["_unknown"]["reason"] == "unknown_source"
    assert found["_unknown"]["path"] == "/webhooks/nobody"


async def test_bodies_are_kept_only_when_configured(broker: EmbeddedBroker) -> None:
    """server.keep_rejected_bodies keeps a refused body (base64) with the record."""
    settings = settings_for(broker.bootstrap_servers, server={"keep_rejected_bodies": True})
    async with running_ingress(settings) as url, httpx.AsyncClient() as client:
        await client.post(
            f"{url}/webhooks/billing", content=b'{"kept": true}',
            headers={"content-type": "application/json", "webhook-id": "m",
                     "webhook-timestamp": str(int(time.time())), "webhook-signature": "v1,AAAA"},
        )  # fmt: skip
        records = await consume_all(
            broker.bootstrap_servers,
            f"{settings.kafka.topic_prefix}.rejected",
            expect=1,
            timeout=10,
        )
    assert json.loads(records[0].value)["body_base64"] == "eyJrZXB0IjogdHJ1ZX0="


async def test_admin_api_answers_bad_filters_with_400(broker: EmbeddedBroker) -> None:
    """A filter or body the API cannot read is a 400 problem, not a 500; a replay that names
    nothing replays nothing; a replay is a dry run unless it says otherwise."""
    settings = settings_for(broker.bootstrap_servers, admin_token=TOKEN)
    headers = {"authorization": f"Bearer {TOKEN}"}
    async with running_ingress(settings) as url, httpx.AsyncClient(headers=headers) as client:
        answers = await asyncio.gather(
            client.get(f"{url}/admin/events", params={"since": "yesterday"}),
            client.get(f"{url}/admin/events", params={"limit": "-1"}),
            client.get(f"{url}/admin/dlq/letters", params={"replayed": "maybe"}),
            client.get(f"{url}/admin/rejected", params={"limit": "ten"}),
            client.post(f"{url}/admin/dlq/replay", content=b"[1]"),
            client.post(f"{url}/admin/dlq/replay", json={"ids": "not-a-list"}),
            client.post(f"{url}/admin/dlq/replay", json={"all": True, "surprise": 1}),
        )
        plan = await client.post(f"{url}/admin/dlq/replay", json={"all": True})
        nothing = await client.post(f"{url}/admin/dlq/replay", json={"dry_run": False})
    assert [a.status_code for a in answers] == [400] * 7
    assert all(a.headers["content-type"] == "application/problem+json" for a in answers)
    assert plan.json() == {"dry_run": True, "replayed": [], "refused": []}
    assert nothing.json() == {"dry_run": False, "replayed": [], "refused": []}


async def test_a_missing_rejected_topic_never_holds_up_accepted_deliveries(
    broker: EmbeddedBroker,
) -> None:
    """Topics made before the rejected-requests topic existed: every refusal is recorded or
    dropped and counted, and signed deliveries sent right after them are still accepted."""
    from hookline.bus.topics import Topics, all_topics
    from hookline.signatures import build_scheme
    from hookline.signatures.base import Headers, SignedRequest
    from tests.support.kafka import create_topics

    settings = settings_for(broker.bootstrap_servers)
    rejected = Topics(settings.kafka.topic_prefix).rejected
    names = [t for t in all_topics(settings, extra_domains=settings.sources) if t != rejected]
    await create_topics(broker.bootstrap_servers, names, 3)
    scheme = build_scheme(settings.sources["billing"].verify)
    before = _dropped() + _recorded()
    async with running_ingress(settings, create=False) as url, httpx.AsyncClient() as client:
        for i in range(5):
            await client.post(
                f"{url}/webhooks/billing", content=b"{}",
                headers={"content-type": "application/json", "webhook-id": f"f{i}",
                         "webhook-timestamp": str(int(time.time())), "webhook-signature": "v1,AA=="},
            )  # fmt: skip
        await asyncio.sleep(0.2)  # the recorder's turn comes first
        answers = []
        for i in range(5):
            body = json.dumps({"type": "paid", "data": {"n": i}}).encode()
            request = SignedRequest(
                body=body,
                headers=Headers({"content-type": "application/json", "webhook-id": f"a{i}"}),
            )
            signed = scheme.sign(request, time.time())
            answers.append(
                await client.post(
                    f"{url}/webhooks/billing", content=body, headers=dict(signed.headers)
                )
            )
        for _ in range(150):
            if _dropped() + _recorded() - before >= 5:
                break
            await asyncio.sleep(0.1)
    assert [a.status_code for a in answers] == [202] * 5  # publish_timeout_seconds is 2 s here
    # Dropped where the broker refuses to make the topic; the embedded one makes it on demand.
    assert _dropped() + _recorded() - before == 5
