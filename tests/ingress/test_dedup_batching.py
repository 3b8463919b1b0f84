"""Redis dedup batched per event-loop pass (ingress/dedup_redis.py), through a running ingress.

Many deliveries at once share a few Redis round trips, yet each keeps its own
claim: its own receipt, a duplicate within the same batch answered duplicate,
and a key Redis refuses answered 503 (never 2xx without the claim) while the
rest of its batch goes through.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from hookline.bus.broker import EmbeddedBroker
from hookline.config.models import HooklineSettings
from hookline.envelope import event_id, source_uri
from hookline.ingress.dedup import DedupUnavailable
from hookline.ingress.dedup_redis import RedisDedupStore
from hookline.signatures import build_scheme
from hookline.signatures.base import Headers, SignedRequest
from tests.support.ingress import running_ingress, settings_for
from tests.support.servers import RedisServer


def delivery(settings: HooklineSettings, message_id: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {"type": "invoice.paid", "data": {"id": f"inv_{uuid.uuid4().hex[:8]}"}}
    ).encode()
    signed = build_scheme(settings.sources["billing"].verify).sign(
        SignedRequest(
            body=body,
            headers=Headers({"content-type": "application/json", "webhook-id": message_id}),
        ),
        time.time(),
    )
    return body, dict(signed.headers)


async def eval_calls(reader: Redis) -> int:
    """Script calls Redis has run so far (the store's only commands)."""
    stats = await reader.info("commandstats")
    return int(stats.get("cmdstat_eval", {}).get("calls", 0))


@pytest.fixture
async def reader(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url)
    try:
        yield client
    finally:
        await client.aclose()


async def post_all(
    url: str, deliveries: list[tuple[bytes, dict[str, str]]]
) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(deliveries))
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        return await asyncio.gather(
            *(
                client.post(f"{url}/webhooks/billing", content=body, headers=headers)
                for body, headers in deliveries
            )
        )


async def test_concurrent_deliveries_each_get_their_receipt_in_few_round_trips(
    broker: EmbeddedBroker, redis_server: RedisServer, reader: Redis
) -> None:
    """60 deliveries at once: 60 different receipts, each the one its retry is answered
    with, in fewer script calls than deliveries (one claim and one completion each
    without batching: 120)."""
    settings = settings_for(broker.bootstrap_servers)
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    store = RedisDedupStore.from_url(redis_server.url, 60, prefix=prefix)
    deliveries = [delivery(settings, f"msg_{uuid.uuid4().hex}") for _ in range(60)]
    async with running_ingress(settings, dedup=store) as url:
        before = await eval_calls(reader)
        answers = await post_all(url, deliveries)
        calls = await eval_calls(reader) - before
        retries = await post_all(url, deliveries)
    assert [a.status_code for a in answers] == [202] * 60, [a.text for a in answers]
    receipts = [a.json() for a in answers]
    places = {(r["topic"], r["partition"], r["offset"]) for r in receipts}
    assert len(places) == 60 and len({r["id"] for r in receipts}) == 60
    assert calls < 60, calls
    for receipt, retry in zip(receipts, retries, strict=True):
        assert retry.status_code == 200, retry.text
        assert retry.json() == {**receipt, "duplicate": True}
    # Every claim was completed: nothing is left pending.
    values = [await reader.get(k) for k in await reader.keys(prefix + "*")]
    assert len(values) == 60 and all(v is not None and v.startswith(b"done:") for v in values)


async def test_a_duplicate_within_the_same_batch_is_answered_duplicate(
    broker: EmbeddedBroker, redis_server: RedisServer
) -> None:
    """Each of 20 deliveries sent twice at once: one 202 and one 200 with the same receipt."""
    settings = settings_for(broker.bootstrap_servers)
    store = RedisDedupStore.from_url(redis_server.url, 60, prefix=f"t{uuid.uuid4().hex[:8]}:")
    firsts = [delivery(settings, f"msg_{uuid.uuid4().hex}") for _ in range(20)]
    async with running_ingress(settings, dedup=store) as url:
        answers = await post_all(url, [d for d in firsts for _ in range(2)])
    for one, two in zip(answers[::2], answers[1::2], strict=True):
        assert sorted([one.status_code, two.status_code]) == [200, 202], (one.text, two.text)
        first, second = one.json(), two.json()
        assert {first["duplicate"], second["duplicate"]} == {False, True}
        assert {k: v for k, v in first.items() if k != "duplicate"} == {
            k: v for k, v in second.items() if k != "duplicate"
        }


async def test_a_key_redis_refuses_answers_503_and_the_rest_of_its_batch_goes_through(
    broker: EmbeddedBroker, redis_server: RedisServer, reader: Redis
) -> None:
    """One delivery's key holds a list (Redis answers WRONGTYPE for it mid-batch): that
    delivery gets 503 and nothing is published for it, its neighbours 202; no claim is
    left pending, and once the key is gone the same delivery is accepted."""
    settings = settings_for(broker.bootstrap_servers)
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    store = RedisDedupStore.from_url(redis_server.url, 60, prefix=prefix)
    ids = [f"msg_{uuid.uuid4().hex}" for _ in range(30)]
    refused = f"{prefix}billing:{event_id(source_uri('billing'), ids[7])}"
    await reader.rpush(refused, "not a dedup value")
    deliveries = [delivery(settings, message_id) for message_id in ids]
    async with running_ingress(settings, dedup=store) as url:
        answers = await post_all(url, deliveries)
        statuses = [a.status_code for a in answers]
        assert statuses == [202] * 7 + [503] + [202] * 22, [a.text for a in answers]
        assert answers[7].headers["retry-after"]
        values = [
            await reader.get(k) for k in await reader.keys(prefix + "*") if k != refused.encode()
        ]
        assert len(values) == 29 and all(v is not None and v.startswith(b"done:") for v in values)
        await reader.delete(refused)
        [retry] = await post_all(url, [deliveries[7]])
        assert retry.status_code == 202, retry.text


async def test_redis_gone_mid_round_answers_503_to_every_delivery(
    broker: EmbeddedBroker,
) -> None:
    """Redis stops while a batch of claims is due: every delivery of it gets 503, none a 2xx."""
    own = RedisServer().start()
    settings = settings_for(broker.bootstrap_servers)
    store = RedisDedupStore.from_url(own.url, 60, timeout_seconds=0.5)
    deliveries = [delivery(settings, f"msg_{uuid.uuid4().hex}") for _ in range(20)]
    try:
        async with running_ingress(settings, dedup=store) as url:
            assert (await post_all(url, deliveries[:1]))[0].status_code == 202
            own.stop()
            answers = await post_all(url, deliveries[1:])
        assert [a.status_code for a in answers] == [503] * 19, [a.text for a in answers]
    finally:
        own.stop()


async def test_the_store_answers_again_once_a_restarted_redis_is_back() -> None:
    """The store's own connection dies with Redis: claims answer DedupUnavailable meanwhile,
    then the first claim after the restart goes through (new connection, the script sent
    again to a Redis that forgot it)."""
    own = RedisServer().start()
    store = RedisDedupStore.from_url(own.url, 60, timeout_seconds=0.5)
    try:
        assert (await store.claim(f"src:{uuid.uuid4()}", "ev", 1.0)).state == "new"
        own.stop()
        with pytest.raises(DedupUnavailable):
            await store.claim(f"src:{uuid.uuid4()}", "ev", 1.0)
        own.start()
        assert (await store.claim(f"src:{uuid.uuid4()}", "ev", 1.0)).state == "new"
    finally:
        await store.close()
        own.stop()


async def test_a_reply_not_shaped_as_expected_fails_the_batch_instead_of_hanging(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch whose handling breaks (here: a reply one answer short) answers its claims
    DedupUnavailable (503 at the ingress); none waits forever, and the next batch works."""
    store = RedisDedupStore.from_url(redis_server.url, 60, prefix=f"t{uuid.uuid4().hex[:8]}:")
    real = store._script

    async def short(*keys_and_args: object) -> object:
        return (await real(*keys_and_args))[1:]

    try:
        monkeypatch.setattr(store, "_script", short)
        claims = [store.claim(f"src:{uuid.uuid4()}", "ev", 1.0) for _ in range(3)]
        results = await asyncio.wait_for(asyncio.gather(*claims, return_exceptions=True), 10)
        assert all(isinstance(r, DedupUnavailable) for r in results), results
        monkeypatch.setattr(store, "_script", real)
        assert (await store.claim(f"src:{uuid.uuid4()}", "ev", 1.0)).state == "new"
    finally:
        await store.close()
