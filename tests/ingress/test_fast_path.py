"""The webhook fast path answers exactly as the router does, and its helpers keep their contracts."""

from __future__ import annotations

import io
import json
import os
import time
import uuid

import httpx
import structlog

from hookline.bus.broker import EmbeddedBroker
from hookline.bus.topics import Topics
from hookline.ingress.app import create_app
from hookline.observability import entropy
from hookline.observability.logging import HotLogger, configure_logging
from hookline.signatures import build_scheme
from hookline.signatures.base import Headers, SignedRequest
from tests.support.ingress import settings_for
from tests.support.kafka import consume_all, create_topics
from tests.support.servers import serve

BODY = json.dumps({"type": "invoice.paid", "data": {"id": "inv_fp", "amount": 1}}).encode()


async def test_router_path_under_a_root_path_answers_like_the_fast_path(broker: EmbeddedBroker) -> None:
    """Mounted under a root path (left to the router), a webhook is verified, published and answered the same."""
    settings = settings_for(broker.bootstrap_servers)
    topic = Topics(settings.kafka.topic_prefix).events("billing")
    await create_topics(broker.bootstrap_servers, [topic], 3)
    signed = build_scheme(settings.sources["billing"].verify).sign(
        SignedRequest(body=BODY, headers=Headers({"content-type": "application/json"})), time.time()
    )
    answers = {}
    # uvicorn's root_path is what a proxy stripped: the client calls the bare path.
    for root in ("", "/hooks"):
        app = create_app(settings, bootstrap_servers=broker.bootstrap_servers, embedded=True)
        async with serve(app, root_path=root) as url, httpx.AsyncClient() as client:
            ok = await client.post(f"{url}/webhooks/billing", content=BODY, headers=dict(signed.headers))
            bad = await client.post(f"{url}/webhooks/billing", content=BODY, headers={"content-type": "application/json"})
            missing = await client.post(f"{url}/webhooks/nope", content=BODY, headers=dict(signed.headers))
            wrong_method = await client.get(f"{url}/webhooks/billing")
        assert ok.status_code == 202 and ok.headers["content-type"] == "application/json", (root, ok.text)
        assert ok.headers["x-request-id"]
        answers[root] = (ok.json()["duplicate"], bad.status_code, bad.json(), missing.status_code, wrong_method.status_code)
        assert bad.headers["content-type"] == "application/problem+json"
    assert answers[""] == answers["/hooks"] == (False, 401, answers[""][2], 404, 405)
    records = await consume_all(broker.bootstrap_servers, topic, expect=2)
    assert len(records) == 2


def test_random_ids_are_version_4_uuids_and_distinct() -> None:
    """The pooled ids have the uuid4 form, version and variant, and do not repeat."""
    seen = set()
    for _ in range(5000):
        text, hexed = entropy.uuid4_str(), entropy.uuid4_hex()
        parsed, parsed_hex = uuid.UUID(text), uuid.UUID(hex=hexed)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert parsed_hex.hex == hexed and parsed_hex.version == 4
        seen.update((text, hexed))
    assert len(seen) == 10000
    assert len(entropy.token_hex(8)) == 16


def test_forked_child_does_not_reuse_the_parents_random_bytes() -> None:
    """After fork the child draws fresh bytes, not the rest of the parent's block."""
    entropy.token_hex(1)  # the parent holds a partly used block
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.write(write, entropy.token_hex(32).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 128).decode()
    os.close(read)
    assert child != entropy.token_hex(32)


def test_hot_logger_follows_a_reconfiguration() -> None:
    """A line logged through HotLogger goes wherever structlog is configured now."""
    logger = HotLogger("hookline.test")
    first, second = io.StringIO(), io.StringIO()
    configure_logging("info", stream=first)
    logger.get().info("test.first", n=1)
    configure_logging("info", stream=second)
    logger.get().info("test.second", n=2)
    with structlog.testing.capture_logs() as captured:
        logger.get().info("test.captured", n=3)
    configure_logging("warning", stream=second)
    logger.get().info("test.filtered", n=4)
    assert json.loads(first.getvalue())["event"] == "test.first"
    assert [json.loads(line)["event"] for line in second.getvalue().splitlines()] == ["test.second"]
    assert [c["event"] for c in captured] == ["test.captured"]
