"""Receipts: the 202 names where each event of the delivery is stored, and that is where it is;
the stored events carry their place in the causation chain."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from hookline.bus.broker import EmbeddedBroker
from hookline.bus.chain import Link, open_index
from hookline.ingress.receipts import StoredEvent, body, decode, encode
from hookline.signatures import build_scheme
from hookline.signatures.base import Headers, SignedRequest
from tests.support.ingress import running_ingress, settings_for
from tests.support.servers import RedisServer


async def read_at(bootstrap: str, topic: str, partition: int, offset: int) -> bytes:
    """The value of the one record at these coordinates."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        for _ in range(50):
            batch = await consumer.getmany(tp, timeout_ms=200, max_records=1)
            for record in batch.get(tp, []):
                assert record.offset == offset
                assert record.value is not None
                return record.value
    finally:
        await consumer.stop()
    raise AssertionError(f"nothing at {topic}[{partition}]@{offset}")


async def test_each_202_points_at_its_own_record(broker: EmbeddedBroker) -> None:
    """Ten deliveries at once: each 202's topic/partition/offset holds that very event (read back by coordinates)."""
    settings = settings_for(broker.bootstrap_servers)
    scheme = build_scheme(settings.sources["billing"].verify)
    async with running_ingress(settings) as url, httpx.AsyncClient() as client:
        posts = []
        for index in range(10):
            # One subject: every event on one partition, so a batch holds several of them.
            payload = json.dumps(
                {"type": "invoice.paid", "data": {"id": "inv_1", "n": index}}
            ).encode()
            request = SignedRequest(
                body=payload,
                headers=Headers(
                    {"content-type": "application/json", "webhook-id": f"msg_{uuid.uuid4().hex}"}
                ),
            )
            headers = dict(scheme.sign(request, time.time()).headers)
            posts.append(client.post(f"{url}/webhooks/billing", content=payload, headers=headers))
        answers = await asyncio.gather(*posts)
    for answer in answers:
        assert answer.status_code == 202, answer.text
        receipt = answer.json()
        assert receipt["duplicate"] is False
        [stored] = receipt["events"]
        assert stored == {k: receipt[k] for k in ("id", "topic", "partition", "offset")}
        value = json.loads(
            await read_at(
                broker.bootstrap_servers, receipt["topic"], receipt["partition"], receipt["offset"]
            )
        )
        assert value["id"] == receipt["id"]
        # The delivery's own event opens its chain and names the request that carried it.
        assert value["correlationid"] == receipt["id"] and "causationid" not in value
        assert value["requestid"] == answer.headers["x-request-id"]


def test_receipt_body_is_what_json_would_write() -> None:
    """The hand-rendered body equals json.dumps of the same receipt, and the store's text round-trips."""
    receipt = (
        StoredEvent("a", "hookline.events.x", 2, 17),
        StoredEvent('q"\\é', "hookline.events.x", 0, 3),
    )
    expected = {
        "id": "a",
        "duplicate": True,
        "topic": "hookline.events.x",
        "partition": 2,
        "offset": 17,
        "events": [s.as_dict() for s in receipt],
    }
    assert json.loads(body("a", True, receipt)) == expected
    assert json.loads(body("a", False, None)) == {"id": "a", "duplicate": False}
    assert decode(encode(receipt)) == receipt
    assert decode(b"") is None and decode(b"garbage") is None


@pytest.mark.parametrize("shared", [False, True])
async def test_a_callback_joins_the_chain_of_the_entity_it_is_about(
    broker: EmbeddedBroker, redis_server: RedisServer, shared: bool
) -> None:
    """A Colt callback about an order a worker remembered continues that order's chain (the
    in-process index, or Redis when redis_url is set); one about an unknown order starts its own."""
    extra: dict[str, Any] = {"redis_url": redis_server.url} if shared else {}
    settings = settings_for(broker.bootstrap_servers, sources={"orders": {
        "provider": "colt",
        "verify": {"scheme": "hmac", "header": "X-Colt-Signature", "algorithm": "sha256", "encoding": "hex",
                   "timestamp_header": "X-Colt-Timestamp", "secrets": ["test-colt-secret"]},
    }}, **extra)  # fmt: skip
    known, unknown = f"ORD-{uuid.uuid4().hex[:8]}", f"ORD-{uuid.uuid4().hex[:8]}"
    index = open_index(settings)
    await index.remember(known, Link("delivery-1", "submitted-1"))
    await index.close()
    scheme = build_scheme(settings.sources["orders"].verify)
    async with running_ingress(settings) as url, httpx.AsyncClient() as client:
        answers = []
        for order in (known, unknown):
            note = {"eventId": f"evt_{uuid.uuid4().hex}", "eventType": "order.state_changed",
                    "occurredAt": "2025-03-20T16:02:11Z",
                    "data": {"orderId": order, "previousStatus": "in_progress", "status": "completed"}}  # fmt: skip
            payload = json.dumps(note).encode()
            request = SignedRequest(
                body=payload, headers=Headers({"content-type": "application/json"})
            )
            headers = dict(scheme.sign(request, time.time()).headers)
            answers.append(
                (
                    await client.post(f"{url}/webhooks/orders", content=payload, headers=headers)
                ).json()
            )
    joined, alone = [
        json.loads(await read_at(broker.bootstrap_servers, a["topic"], a["partition"], a["offset"]))
        for a in answers
    ]
    assert (joined["correlationid"], joined["causationid"]) == ("delivery-1", "submitted-1")
    assert alone["correlationid"] == alone["id"] and "causationid" not in alone
