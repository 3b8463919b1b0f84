"""The webhook fast path answers exactly as the router does, and its helpers keep their contracts."""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
import uuid
from typing import Any

import httpx
import pytest
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


async def test_router_path_under_a_root_path_answers_like_the_fast_path(
    broker: EmbeddedBroker,
) -> None:
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
            ok = await client.post(
                f"{url}/webhooks/billing", content=BODY, headers=dict(signed.headers)
            )
            bad = await client.post(
                f"{url}/webhooks/billing",
                content=BODY,
                headers={"content-type": "application/json"},
            )
            missing = await client.post(
                f"{url}/webhooks/nope", content=BODY, headers=dict(signed.headers)
            )
            wrong_method = await client.get(f"{url}/webhooks/billing")
        assert ok.status_code == 202 and ok.headers["content-type"] == "application/json", (
            root,
            ok.text,
        )
        assert ok.headers["x-request-id"]
        answers[root] = (
            ok.json()["duplicate"],
            bad.status_code,
            bad.json(),
            missing.status_code,
            wrong_method.status_code,
        )
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


async def test_a_crash_in_the_endpoint_answers_500_problem_with_the_request_id(
    broker: EmbeddedBroker, monkeypatch: Any
) -> None:
    """An unexpected exception gets the same 500 problem (and request id) at the edge as through the router."""

    # An adapter's exception is a kept delivery (202); a bug past it is not.
    def explode(event: Any) -> bytes:
        raise RuntimeError("adapter bug")

    monkeypatch.setattr("hookline.ingress.webhooks.to_json_exact", explode)
    settings = settings_for(broker.bootstrap_servers)
    signed = build_scheme(settings.sources["billing"].verify).sign(
        SignedRequest(body=BODY, headers=Headers({"content-type": "application/json"})), time.time()
    )
    stream = io.StringIO()
    configure_logging("info", stream=stream)
    try:
        for root in ("", "/hooks"):
            app = create_app(settings, bootstrap_servers=broker.bootstrap_servers, embedded=True)
            async with serve(app, root_path=root) as url, httpx.AsyncClient() as client:
                answer = await client.post(
                    f"{url}/webhooks/billing",
                    content=BODY,
                    headers={**signed.headers, "X-Request-ID": "crash-1"},
                )
            assert answer.status_code == 500, (root, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.headers["x-request-id"] == "crash-1"
            assert answer.json()["detail"] == "An internal error occurred."
            assert "adapter bug" not in answer.text
    finally:
        configure_logging("warning")
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    crashes = [line for line in lines if line["event"] == "ingress.internal_error"]
    assert len(crashes) == 2 and all(
        c["request_id"] == "crash-1" and c["error"] == "RuntimeError" for c in crashes
    )


async def test_a_client_gone_mid_body_is_logged_not_answered_and_publishes_nothing(
    broker: EmbeddedBroker,
) -> None:
    """A body cut short by the client is no server error: nothing is published, the line says client_gone."""
    settings = settings_for(broker.bootstrap_servers)
    topic = Topics(settings.kafka.topic_prefix).events("billing")
    await create_topics(broker.bootstrap_servers, [topic], 3)
    app = create_app(settings, bootstrap_servers=broker.bootstrap_servers, embedded=True)
    stream = io.StringIO()
    configure_logging("info", stream=stream)
    try:
        async with serve(app) as url:
            port = int(url.rsplit(":", 1)[1])
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                b"POST /webhooks/billing HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000\r\n\r\n" + BODY[:20]
            )
            await writer.drain()
            await asyncio.sleep(0.2)
            writer.close()
            assert await reader.read() == b""  # no answer was written
            for _ in range(50):
                if "client_gone" in stream.getvalue():
                    break
                await asyncio.sleep(0.05)
    finally:
        configure_logging("warning")
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    requests = [line for line in lines if line["event"] == "ingress.request"]
    assert [(r["outcome"], r["source"]) for r in requests] == [("client_gone", "billing")]
    assert not [line for line in lines if line["event"] == "ingress.internal_error"]
    assert await consume_all(broker.bootstrap_servers, topic, expect=0, timeout=1.0) == []


def test_json_bodies_parse_as_the_standard_library_parses_them() -> None:
    """The fast parser gives json.loads's values; what only json.loads accepts is still accepted."""
    from hookline.providers.base import UnparseableBody, parse_body

    big = b'{"id": 123456789012345678901234567890, "f": 1.5, "n": null, "s": "\\u00e9"}'
    assert parse_body(big, "application/json") == json.loads(big)
    assert isinstance(parse_body(big, "application/json")["id"], int)
    assert parse_body(b'\xef\xbb\xbf{"a": 1}', "application/json") == {"a": 1}  # a UTF-8 BOM
    assert parse_body(b'{"a": "\\ud800"}', "application/json") == {"a": "\ud800"}
    assert parse_body(b'{"a": 1, "a": 2}', "application/cloudevents+json") == {"a": 2}
    for bad in (b"", b"{", b'{"a": 1} extra', b'{"a": "\xff"}'):
        with pytest.raises(UnparseableBody, match="body is not valid JSON"):
            parse_body(bad, "application/json")


def test_serve_leaves_forwarded_headers_to_hookline() -> None:
    """uvicorn must not rewrite the client address: trusted_proxies decides (README.md#http-surface-of-the-ingress)."""
    from hookline.cli.serve_cmd import uvicorn_config

    settings = settings_for("127.0.0.1:9")
    assert uvicorn_config(settings, object()).proxy_headers is False


def test_hot_logger_says_when_info_lines_are_filtered() -> None:
    """for_info() gives the logger only while INFO lines are written, following reconfiguration."""
    logger = HotLogger("hookline.test")
    stream = io.StringIO()
    configure_logging("warning", stream=stream)
    assert logger.for_info() is None
    configure_logging("info", stream=stream)
    bound = logger.for_info()
    assert bound is not None
    bound.info("test.on")
    configure_logging("warning", stream=stream)
    assert logger.for_info() is None
    assert [json.loads(line)["event"] for line in stream.getvalue().splitlines()] == ["test.on"]
