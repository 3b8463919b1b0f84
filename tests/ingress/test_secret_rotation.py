"""Webhook secrets rotate without a restart: ``hookline serve`` follows a rewritten ``file:`` secret."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hookline.bus.admin import create_topics
from hookline.bus.broker import EmbeddedBroker, free_port
from hookline.bus.topics import Topics, all_topics
from hookline.config.check import prepare
from hookline.config.models import HooklineSettings
from hookline.config.secrets import Secret
from hookline.config.watch import Change
from hookline.ingress.sources import SourceRotation, prepare_sources, watch_sources
from hookline.observability.masking import SECRETS
from hookline.providers.registry import names
from hookline.signatures.base import Headers, SignedRequest, VerificationError
from tests.config.test_secret_watch import KubernetesSecretVolume
from tests.support.processes import Hookline

OLD, NEW = "old-webhook-secret-0123", "new-webhook-secret-4567"


def _config(tmp_path: Path, port: int, bootstrap: str, secret_ref: str, **rotation: float) -> Path:
    raw: dict[str, Any] = {
        "server": {"host": "127.0.0.1", "port": port},
        "kafka": {"bootstrap_servers": bootstrap, "topic_prefix": f"r{uuid.uuid4().hex[:10]}"},
        "sources": {
            "repo": {"provider": "github", "verify": {"scheme": "github", "secrets": [secret_ref]}}
        },
        "secrets": rotation,
    }
    path = tmp_path / f"hookline-{port}.yaml"
    path.write_text(json.dumps(raw))
    return path


async def _serve(
    tmp_path: Path, bootstrap: str, secret_ref: str, **rotation: float
) -> tuple[Hookline, str]:
    port = free_port()
    config = _config(tmp_path, port, bootstrap, secret_ref, **rotation)
    raw = json.loads(config.read_text())
    settings = prepare(HooklineSettings.model_validate(raw), names())
    results = await create_topics(
        settings.kafka, bootstrap, all_topics(settings, extra_domains=settings.sources)
    )
    assert all(r.ok for r in results)
    server = Hookline(tmp_path, "serve", config=config)
    server.wait_for_port(port)
    return server, f"http://127.0.0.1:{port}/webhooks/repo"


async def _post(client: httpx.AsyncClient, url: str, secret: str) -> int:
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "content-type": "application/json",
        "x-github-event": "ping",
        "x-github-delivery": str(uuid.uuid4()),
        "x-hub-signature-256": signature,
    }
    return (await client.post(url, content=body, headers=headers)).status_code


async def _eventually(client: httpx.AsyncClient, url: str, secret: str, status: int) -> None:
    """Wide room for a loaded machine: the poll runs every 0.2 s, the wait allows 60 s."""
    deadline = time.monotonic() + 60
    while (seen := await _post(client, url, secret)) != status:
        assert time.monotonic() < deadline, f"still {seen}, never {status}"
        await asyncio.sleep(0.2)


@pytest.fixture
def processes() -> Iterator[list[Hookline]]:
    started: list[Hookline] = []
    yield started
    for process in started:
        process.close()


async def test_serve_follows_a_rewritten_secret_file(
    tmp_path: Path, broker: EmbeddedBroker, processes: list[Hookline]
) -> None:
    """Kubernetes Secret update under a running serve: the new secret verifies, the old one is refused."""
    volume = KubernetesSecretVolume(tmp_path / "secret")
    volume.root.mkdir()
    volume.write(token=OLD)
    server, url = await _serve(
        tmp_path,
        broker.bootstrap_servers,
        volume.ref("token"),
        reload_interval_seconds=0.2,
        previous_valid_seconds=1,
    )
    processes.append(server)
    async with httpx.AsyncClient(timeout=30) as client:
        assert await _post(client, url, OLD) == 202
        assert await _post(client, url, NEW) == 401
        volume.write(token=NEW)
        await _eventually(client, url, NEW, 202)
        await _eventually(client, url, OLD, 401)
        assert await _post(client, url, NEW) == 202
    assert "config.secrets_rotated" in server.output()
    assert OLD not in server.output() and NEW not in server.output()


async def test_sighup_makes_serve_read_the_secret_file_again(
    tmp_path: Path, broker: EmbeddedBroker, processes: list[Hookline]
) -> None:
    """Polling off: a rewritten file changes nothing until SIGHUP, then only the new secret verifies."""
    path = tmp_path / "webhook-secret"
    path.write_text(OLD)
    server, url = await _serve(
        tmp_path,
        broker.bootstrap_servers,
        f"file:{path}",
        reload_interval_seconds=0,
        previous_valid_seconds=0,
    )
    processes.append(server)
    async with httpx.AsyncClient(timeout=30) as client:
        assert await _post(client, url, OLD) == 202
        path.write_text(NEW)
        await asyncio.sleep(0.5)
        assert await _post(client, url, NEW) == 401
        server.process.send_signal(signal.SIGHUP)
        await _eventually(client, url, NEW, 202)
        assert await _post(client, url, OLD) == 401
        assert server.process.poll() is None  # SIGHUP did not end the process


def _verifies(sources: dict[str, Any], secret: str) -> bool:
    body = b'{"zen": "x"}'
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    request = SignedRequest(body=body, headers=Headers({"x-hub-signature-256": signature}))
    try:
        sources["repo"].scheme.verify(request, time.time())
    except VerificationError:
        return False
    return True


async def test_the_previous_secret_verifies_for_the_rotation_window_then_not(
    tmp_path: Path,
) -> None:
    """Both secrets verify right after a rotation; the old one ends after previous_valid_seconds;
    a request that already holds the old scheme finishes with it."""
    path = tmp_path / "secret"
    path.write_text(OLD)
    settings = HooklineSettings.model_validate(
        {
            "sources": {
                "repo": {
                    "provider": "github",
                    "verify": {"scheme": "github", "secrets": [f"file:{path}"]},
                }
            }
        }
    )
    secret: Secret = settings.sources["repo"].verify.secrets[0]  # type: ignore[union-attr]
    secret.resolve()
    sources = prepare_sources(settings.sources, Topics("t"))
    in_flight = sources["repo"]
    rotation = SourceRotation(sources, previous_valid=0.5)
    secret.rotate(NEW)
    rotation([Change(secret.ref, OLD, NEW)])
    assert sources["repo"] is not in_flight
    assert _verifies(sources, NEW) and _verifies(sources, OLD)
    assert _verifies({"repo": in_flight}, OLD) and not _verifies({"repo": in_flight}, NEW)
    deadline = time.monotonic() + 30
    while _verifies(sources, OLD):
        assert time.monotonic() < deadline, "the previous secret never expired"
        await asyncio.sleep(0.05)
    assert _verifies(sources, NEW)


def test_a_rotated_value_is_masked_in_logs(tmp_path: Path) -> None:
    """The ingress's watcher adds each new value to the log masking, as start-up does."""
    path = tmp_path / "secret"
    fresh = f"rotated-{uuid.uuid4().hex}"
    path.write_text(OLD)
    settings = HooklineSettings.model_validate(
        {
            "sources": {
                "repo": {
                    "provider": "github",
                    "verify": {"scheme": "github", "secrets": [f"file:{path}"]},
                }
            }
        }
    )
    settings.sources["repo"].verify.secrets[0].resolve()  # type: ignore[union-attr]
    watcher = watch_sources(prepare_sources(settings.sources, Topics("t")), settings)
    path.write_text(fresh)
    assert SECRETS.redact(f"x {fresh} y") == f"x {fresh} y"
    assert [c.ref for c in watcher.check()] == [f"file:{path}"]
    assert SECRETS.redact(f"x {fresh} y") == "x *** y"
