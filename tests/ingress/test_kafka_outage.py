"""Kafka down: 503 with Retry-After, never a 2xx that is lost; recovery without a restart."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import httpx
import pytest

from hookline.bus.admin import create_topics as hookline_create_topics
from hookline.bus.broker import EmbeddedBroker
from hookline.bus.topics import Topics, all_topics
from hookline.config.models import HooklineSettings
from tests.support.ingress import running_ingress, settings_for, signed_invoice
from tests.support.kafka import consume_all
from tests.support.servers import running_broker

PUBLISH_TIMEOUT = 1.0


@pytest.fixture
def own_broker() -> Iterator[EmbeddedBroker]:
    """A broker of this test's own: it is paused and killed."""
    with running_broker() as broker:
        yield broker


def delivery(settings: HooklineSettings) -> tuple[bytes, dict[str, str]]:
    return signed_invoice(settings)


async def post(client: httpx.AsyncClient, url: str, settings: HooklineSettings) -> httpx.Response:
    body, headers = delivery(settings)
    return await client.post(f"{url}/webhooks/billing", content=body, headers=headers)


def outage_settings(broker: EmbeddedBroker) -> HooklineSettings:
    return settings_for(
        broker.bootstrap_servers,
        server={
            "max_body_bytes": 4096,
            "publish_timeout_seconds": PUBLISH_TIMEOUT,
            "retry_after_seconds": 3,
        },
    )


async def test_paused_broker_answers_503_then_recovers(own_broker: EmbeddedBroker) -> None:
    """With the broker stopped (SIGSTOP) requests get 503 + Retry-After in time; after SIGCONT, 202."""
    settings = outage_settings(own_broker)
    async with running_ingress(settings) as url, httpx.AsyncClient(timeout=30) as client:
        assert (await post(client, url, settings)).status_code == 202
        own_broker.pause()
        try:
            started = time.monotonic()
            response = await post(client, url, settings)
            waited = time.monotonic() - started
            assert response.status_code == 503
            assert response.headers["retry-after"] == "3"
            assert response.headers["content-type"] == "application/problem+json"
            # Bounded by the publish timeout (1 s), not by Kafka's request timeout (30 s);
            # the factor is room for a loaded machine.
            assert waited < PUBLISH_TIMEOUT * 10
            assert (await client.get(f"{url}/readyz")).status_code == 503
        finally:
            own_broker.resume()
        for _ in range(50):
            response = await post(client, url, settings)
            if response.status_code == 202:
                break
            await asyncio.sleep(0.2)
        assert response.status_code == 202


async def test_killed_broker_answers_503_and_recovers_after_restart(
    own_broker: EmbeddedBroker,
) -> None:
    """Broker killed → 503; restarted on the same port plus topics create → 202, no ingress restart."""
    settings = outage_settings(own_broker)
    async with running_ingress(settings) as url, httpx.AsyncClient(timeout=30) as client:
        assert (await post(client, url, settings)).status_code == 202
        own_broker.stop()
        response = await post(client, url, settings)
        assert response.status_code == 503
        assert "retry-after" in response.headers
        own_broker.start()
        results = await hookline_create_topics(
            settings.kafka,
            own_broker.bootstrap_servers,
            all_topics(settings, extra_domains=settings.sources),
        )
        assert all(r.ok for r in results)
        accepted = None
        for _ in range(50):
            response = await post(client, url, settings)
            if response.status_code == 202:
                accepted = response.json()["id"]
                break
            assert response.status_code == 503
            await asyncio.sleep(0.2)
        assert accepted is not None
    records = await consume_all(
        own_broker.bootstrap_servers,
        Topics(settings.kafka.topic_prefix).events("billing"),
        expect=1,
    )
    assert accepted in {json.loads(r.value)["id"] for r in records}


async def test_no_acknowledged_request_is_lost_under_load_during_outage(
    own_broker: EmbeddedBroker,
) -> None:
    """Concurrent requests across a pause: every id answered 202 is on the topic afterwards."""
    settings = outage_settings(own_broker)
    accepted: list[str] = []
    statuses: list[int] = []
    async with running_ingress(settings) as url, httpx.AsyncClient(timeout=30) as client:

        async def sender(stop: asyncio.Event) -> None:
            while not stop.is_set():
                response = await post(client, url, settings)
                statuses.append(response.status_code)
                if response.status_code == 202:
                    accepted.append(response.json()["id"])
                else:
                    assert response.status_code == 503

        stop = asyncio.Event()
        senders = [asyncio.create_task(sender(stop)) for _ in range(16)]
        try:
            await asyncio.sleep(0.5)
            own_broker.pause()
            await asyncio.sleep(PUBLISH_TIMEOUT * 2)
        finally:
            own_broker.resume()
        await asyncio.sleep(1.0)
        stop.set()
        await asyncio.gather(*senders)
    assert 503 in statuses and 202 in statuses
    records = await consume_all(
        own_broker.bootstrap_servers,
        Topics(settings.kafka.topic_prefix).events("billing"),
        expect=len(accepted),
        timeout=15,
    )
    on_topic = {json.loads(r.value)["id"] for r in records}
    missing = set(accepted) - on_topic
    assert not missing, f"{len(missing)} acknowledged events are not on the topic"
