"""Every dedup claim the ingress takes is completed or released on every way out of a
delivery: kept in dlq.ingress, crashed, failed or cancelled publish. Run against a running
ingress with the in-process store and with a real redis-server; a claim left behind would
make the provider's retry wait for it (the publish timeout here is longer than the client's)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from hookline.bus.broker import EmbeddedBroker
from hookline.bus.topics import Topics, all_topics
from hookline.config.models import HooklineSettings
from hookline.ingress.app import create_app
from hookline.ingress.dedup import DedupStore, MemoryDedupStore
from hookline.ingress.dedup_redis import RedisDedupStore
from hookline.signatures import build_scheme
from hookline.signatures.base import Headers, SignedRequest
from tests.support.ingress import running_ingress, settings_for
from tests.support.kafka import consume_all, create_topics
from tests.support.servers import RedisServer, running_broker, serve

# A leaked claim holds a retry for the publish timeout (plus the Redis lease margin):
# longer than the client waits, so a leak fails the test instead of slowing it down.
LONG_PUBLISH_TIMEOUT = 30.0
CLIENT_TIMEOUT = 15.0


@dataclass
class Store:
    """A dedup store and a way to count the claims it holds right now."""

    store: DedupStore
    held: Callable[[], Awaitable[int]]


@pytest.fixture(params=["memory", "redis"])
async def claims(request: pytest.FixtureRequest, redis_server: RedisServer) -> AsyncIterator[Store]:
    """Each test runs with the in-process store and with one on the real redis-server."""
    if request.param == "memory":
        memory = MemoryDedupStore(window_seconds=60)

        async def held_in_memory() -> int:
            return memory.inflight()

        yield Store(memory, held_in_memory)
        return
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    redis = RedisDedupStore.from_url(redis_server.url, 60, prefix=prefix)
    reader = Redis.from_url(redis_server.url)

    async def held_in_redis() -> int:
        values = [await reader.get(k) for k in await reader.keys(prefix + "*")]
        return sum(1 for v in values if v is not None and v.startswith(b"pending:"))

    try:
        yield Store(redis, held_in_redis)
    finally:
        await reader.aclose()


@pytest.fixture(scope="module")
def own_broker() -> Iterator[EmbeddedBroker]:
    """A broker of this module's own: it is paused."""
    with running_broker() as broker:
        yield broker


def settings_on(broker: EmbeddedBroker, publish_timeout: float) -> HooklineSettings:
    return settings_for(
        broker.bootstrap_servers,
        server={"max_body_bytes": 4096, "publish_timeout_seconds": publish_timeout},
    )


def delivery(settings: HooklineSettings, body: bytes | None = None) -> tuple[bytes, dict[str, str]]:
    """A signed billing delivery with a provider id of its own (so it is deduplicated)."""
    body = (
        body
        or json.dumps(
            {"type": "invoice.paid", "data": {"id": f"inv_{uuid.uuid4().hex[:8]}"}}
        ).encode()
    )
    headers = Headers({"content-type": "application/json", "webhook-id": f"msg_{uuid.uuid4().hex}"})
    signed = build_scheme(settings.sources["billing"].verify).sign(
        SignedRequest(body=body, headers=headers), time.time()
    )
    return body, dict(signed.headers)


# Parses (1e999999 is a double overflow, not a syntax error) and normalizes, so it is
# claimed; only writing the event finds that JSON cannot carry it.
UNWRITABLE = b'{"type": "reading.taken", "data": {"id": "r1", "value": 1e999999}}'


async def test_published_delivery_completes_its_claim(
    broker: EmbeddedBroker, claims: Store
) -> None:
    """202 then the retry is a duplicate, and no claim is left pending."""
    settings = settings_on(broker, LONG_PUBLISH_TIMEOUT)
    body, headers = delivery(settings)
    async with (
        running_ingress(settings, dedup=claims.store) as url,
        httpx.AsyncClient(timeout=CLIENT_TIMEOUT) as client,
    ):
        assert (
            await client.post(f"{url}/webhooks/billing", content=body, headers=headers)
        ).status_code == 202
        assert await claims.held() == 0
        assert (
            await client.post(f"{url}/webhooks/billing", content=body, headers=headers)
        ).status_code == 200


async def test_event_json_cannot_carry_releases_its_claim(
    broker: EmbeddedBroker, claims: Store
) -> None:
    """An event that cannot be written is kept in dlq.ingress (202); its claim is released,
    so the provider's retry is answered at once (kept again), not after the publish timeout."""
    settings = settings_on(broker, LONG_PUBLISH_TIMEOUT)
    body, headers = delivery(settings, UNWRITABLE)
    async with (
        running_ingress(settings, dedup=claims.store) as url,
        httpx.AsyncClient(timeout=CLIENT_TIMEOUT) as client,
    ):
        first = await client.post(f"{url}/webhooks/billing", content=body, headers=headers)
        assert first.status_code == 202, first.text
        assert await claims.held() == 0
        again = await client.post(f"{url}/webhooks/billing", content=body, headers=headers)
        assert again.status_code == 202, again.text
    topics = Topics(settings.kafka.topic_prefix)
    kept = await consume_all(broker.bootstrap_servers, topics.ingress_dlq, expect=2)
    assert len(kept) == 2
    assert await consume_all(broker.bootstrap_servers, topics.events("billing"), timeout=1) == []


async def test_crash_while_building_the_record_releases_its_claim(
    broker: EmbeddedBroker, claims: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug between claim and publish answers 500 once; the claim is released, so the
    retry (bug gone) publishes at once."""
    settings = settings_on(broker, LONG_PUBLISH_TIMEOUT)
    body, headers = delivery(settings)

    def explode(event: Any) -> bytes:
        raise RuntimeError("bug while writing the event")

    async with (
        running_ingress(settings, dedup=claims.store) as url,
        httpx.AsyncClient(timeout=CLIENT_TIMEOUT) as client,
    ):
        with monkeypatch.context() as patch:
            patch.setattr("hookline.ingress.webhooks.to_json_exact", explode)
            assert (
                await client.post(f"{url}/webhooks/billing", content=body, headers=headers)
            ).status_code == 500
        assert await claims.held() == 0
        retry = await client.post(f"{url}/webhooks/billing", content=body, headers=headers)
        assert retry.status_code == 202 and retry.json()["duplicate"] is False
    events = await consume_all(
        broker.bootstrap_servers, Topics(settings.kafka.topic_prefix).events("billing"), expect=1
    )
    assert [json.loads(r.value)["id"] for r in events] == [retry.json()["id"]]


@pytest.mark.parametrize("body", [None, UNWRITABLE], ids=["event", "dead-letter"])
async def test_failed_publish_releases_its_claim(
    own_broker: EmbeddedBroker, claims: Store, body: bytes | None
) -> None:
    """Broker paused: the event's (or the dead letter's) publish times out, 503, and the
    claim is released; once the broker is back the same delivery is accepted."""
    settings = settings_on(own_broker, 1.0)
    body, headers = delivery(settings, body)
    async with (
        running_ingress(settings, dedup=claims.store) as url,
        httpx.AsyncClient(timeout=CLIENT_TIMEOUT) as client,
    ):
        own_broker.pause()
        try:
            answer = await client.post(f"{url}/webhooks/billing", content=body, headers=headers)
            assert answer.status_code == 503, answer.text
            assert await claims.held() == 0
        finally:
            own_broker.resume()
        retry = await client.post(f"{url}/webhooks/billing", content=body, headers=headers)
        assert retry.status_code == 202, retry.text


async def test_cancelled_publish_releases_its_claim(
    own_broker: EmbeddedBroker, claims: Store
) -> None:
    """A request cancelled while its publish waits on a stalled broker (the server shutting
    down) releases its claim before the server lets go of the store."""
    settings = settings_on(own_broker, LONG_PUBLISH_TIMEOUT)
    bootstrap = own_broker.bootstrap_servers
    await create_topics(bootstrap, all_topics(settings, extra_domains=settings.sources), 3)
    body, headers = delivery(settings)
    app = create_app(settings, bootstrap_servers=bootstrap, embedded=True, dedup=claims.store)
    server = serve(app, timeout_graceful_shutdown=0.5)
    url = await server.__aenter__()
    stopping: asyncio.Task[Any] | None = None
    async with httpx.AsyncClient(timeout=60) as client:
        own_broker.pause()
        try:
            posting = asyncio.create_task(
                client.post(f"{url}/webhooks/billing", content=body, headers=headers)
            )
            await until(lambda: claims.held(), 1)
            # The server stops: after its grace period it cancels the request still publishing.
            stopping = asyncio.create_task(server.__aexit__(None, None, None))
            await until(lambda: claims.held(), 0)
        finally:
            own_broker.resume()
            await (stopping or server.__aexit__(None, None, None))
        with contextlib.suppress(httpx.HTTPError):  # the connection closes without an answer
            await posting


async def until(count: Callable[[], Awaitable[int]], wanted: int, timeout: float = 20.0) -> None:
    """Poll until ``count()`` equals ``wanted``; fail after a generous ``timeout``."""
    deadline = time.monotonic() + timeout
    while (now := await count()) != wanted:
        assert time.monotonic() < deadline, f"still {now} claims held, wanted {wanted}"
        await asyncio.sleep(0.05)
