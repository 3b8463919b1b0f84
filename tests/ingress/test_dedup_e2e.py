"""Dedup through running ingresses: duplicates answer 200 with the same id and publish nothing,
a retry after a 503 publishes, two replicas on one Redis race to exactly one publish."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from hookline.bus.broker import EmbeddedBroker, free_port
from hookline.bus.topics import Topics, all_topics
from hookline.config.models import HooklineSettings
from hookline.ingress.app import create_app
from hookline.signatures import build_scheme
from hookline.signatures.base import Headers, SignedRequest
from tests.support.ingress import running_ingress, settings_for
from tests.support.kafka import consume_all, create_topics
from tests.support.servers import RedisServer, running_broker, serve


def signed(settings: HooklineSettings, body: bytes, msg_id: str) -> dict[str, str]:
    request = SignedRequest(
        body=body, headers=Headers({"content-type": "application/json", "webhook-id": msg_id})
    )
    return dict(build_scheme(settings.sources["billing"].verify).sign(request, time.time()).headers)


def delivery(settings: HooklineSettings) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {"type": "invoice.paid", "data": {"id": f"inv_{uuid.uuid4().hex[:8]}"}}
    ).encode()
    return body, signed(settings, body, f"msg_{uuid.uuid4().hex}")


def billing_topic(settings: HooklineSettings) -> str:
    return Topics(settings.kafka.topic_prefix).events("billing")


@contextlib.asynccontextmanager
async def replicas(settings: HooklineSettings, count: int) -> AsyncIterator[list[str]]:
    """``count`` ingress apps (each with its own dedup store built from settings) on one broker."""
    bootstrap = settings.kafka.bootstrap_servers
    assert bootstrap is not None
    await create_topics(bootstrap, all_topics(settings, extra_domains=settings.sources), 3)
    async with contextlib.AsyncExitStack() as stack:
        urls = [
            await stack.enter_async_context(
                serve(create_app(settings, bootstrap_servers=bootstrap, embedded=True))
            )
            for _ in range(count)
        ]
        yield urls


@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_retry_of_a_delivery_is_a_duplicate(
    store: str, broker: EmbeddedBroker, redis_server: RedisServer
) -> None:
    """Second delivery with the same id: 200 {"duplicate": true} with the first's id and Kafka
    coordinates (memory and Redis stores), and one record."""
    extra = {"redis_url": redis_server.url} if store == "redis" else {}
    settings = settings_for(broker.bootstrap_servers, **extra)
    body, headers = delivery(settings)
    async with running_ingress(settings) as url, httpx.AsyncClient() as client:
        first = await client.post(f"{url}/webhooks/billing", content=body, headers=headers)
        again = await client.post(f"{url}/webhooks/billing", content=body, headers=headers)
    assert first.status_code == 202 and first.json()["duplicate"] is False
    assert again.status_code == 200 and again.json() == {**first.json(), "duplicate": True}
    records = await consume_all(broker.bootstrap_servers, billing_topic(settings), expect=1)
    assert [json.loads(r.value)["id"] for r in records] == [first.json()["id"]]


async def test_two_replicas_on_one_redis_race_to_exactly_one_publish(
    broker: EmbeddedBroker, redis_server: RedisServer
) -> None:
    """The same delivery sent 20 times at once to two ingress replicas: one 202, nineteen duplicates."""
    settings = settings_for(broker.bootstrap_servers, redis_url=redis_server.url)
    body, headers = delivery(settings)
    async with replicas(settings, 2) as urls, httpx.AsyncClient() as client:
        responses = await asyncio.gather(
            *(
                client.post(f"{urls[i % 2]}/webhooks/billing", content=body, headers=headers)
                for i in range(20)
            )
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 19 + [202]
    assert len({r.json()["id"] for r in responses}) == 1
    records = await consume_all(broker.bootstrap_servers, billing_topic(settings), expect=1)
    assert len(records) == 1


async def test_memory_store_replicas_do_not_share(broker: EmbeddedBroker) -> None:
    """Without redis_url each replica de-duplicates alone (why redis_url matters with >1 replica)."""
    settings = settings_for(broker.bootstrap_servers)
    body, headers = delivery(settings)
    async with replicas(settings, 2) as urls, httpx.AsyncClient() as client:
        statuses = [
            (await client.post(f"{u}/webhooks/billing", content=body, headers=headers)).status_code
            for u in urls
        ]
    assert statuses == [202, 202]


@pytest.fixture
def own_broker() -> Iterator[EmbeddedBroker]:
    """A broker of this test's own: it is paused."""
    with running_broker() as broker:
        yield broker


@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_retry_after_503_is_not_a_duplicate(
    store: str, own_broker: EmbeddedBroker, redis_server: RedisServer
) -> None:
    """Kafka paused → 503 and the claim is released; the provider's retry publishes (202), once."""
    extra = {"redis_url": redis_server.url} if store == "redis" else {}
    settings = settings_for(
        own_broker.bootstrap_servers,
        server={"max_body_bytes": 4096, "publish_timeout_seconds": 1.0, "retry_after_seconds": 2},
        **extra,
    )
    body, headers = delivery(settings)
    async with running_ingress(settings) as url, httpx.AsyncClient(timeout=30) as client:
        own_broker.pause()
        try:
            refused = await client.post(f"{url}/webhooks/billing", content=body, headers=headers)
        finally:
            own_broker.resume()
        assert refused.status_code == 503 and refused.headers["retry-after"] == "2"
        body2, headers2 = (
            body,
            signed(settings, body, headers["webhook-id"]),
        )  # re-signed retry, same id
        for _ in range(50):
            retry = await client.post(f"{url}/webhooks/billing", content=body2, headers=headers2)
            if retry.status_code != 503:
                break
            await asyncio.sleep(0.2)
        assert retry.status_code == 202 and retry.json()["duplicate"] is False
        again = await client.post(f"{url}/webhooks/billing", content=body2, headers=headers2)
        assert again.status_code == 200 and again.json()["duplicate"] is True
    records = await consume_all(
        own_broker.bootstrap_servers, billing_topic(settings), expect=1, timeout=10
    )
    ids = [json.loads(r.value)["id"] for r in records]
    # a publish that timed out may still land later; dedup must never add a third copy
    assert retry.json()["id"] in ids and len(ids) <= 2


async def test_unreachable_redis_answers_503_and_publishes_nothing(broker: EmbeddedBroker) -> None:
    """redis_url set but nothing listens: 503 + Retry-After (we cannot promise dedup), nothing on Kafka."""
    settings = settings_for(
        broker.bootstrap_servers, redis_url=f"redis://127.0.0.1:{free_port()}/0"
    )
    body, headers = delivery(settings)
    async with running_ingress(settings) as url, httpx.AsyncClient(timeout=30) as client:
        response = await client.post(f"{url}/webhooks/billing", content=body, headers=headers)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == str(settings.server.retry_after_seconds)
    assert await consume_all(broker.bootstrap_servers, billing_topic(settings), timeout=1) == []
