"""A running worker process follows a rotated Redis password and a reissued OAuth refresh token
from their ``file:`` secrets, without a restart (real processes, real Redis, real simulators)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from redis.asyncio import Redis

from hookline.bus.broker import EmbeddedBroker, free_port
from hookline.bus.topics import all_topics
from tests.services.reservation.loop import reservation_loop
from tests.services.sms.loop import sms_loop
from tests.support.ingress import WHSEC, settings_for, signed_invoice
from tests.support.kafka import create_topics
from tests.support.processes import Hookline
from tests.support.servers import RedisServer
from tests.worker.support import start_worker_process, stop_process

SF = {"latitude": 37.7749, "longitude": -122.4194}
# Another search than the first: the GET cache must not answer it without a call.
OAKLAND = {"latitude": 37.8044, "longitude": -122.2712}


@contextlib.contextmanager
def redis_with_password(password: str) -> Iterator[int]:
    """A redis-server of its own (``requirepass``) on a free port."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (make test installs it)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--requirepass", password],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.02)
        yield port
    finally:
        process.terminate()
        process.wait(5)


def write_secret(path: Path, value: str) -> None:
    """Replace the file in one step, as a Kubernetes Secret update or `mv` does."""
    staging = path.with_suffix(".new")
    staging.write_text(value + "\n")
    os.replace(staging, path)


def _text(log: Path) -> str:
    return log.read_text(errors="replace")


async def logged(log: Path, event: str, timeout: float = 30.0) -> None:
    """Wait until the process's log holds a line of ``event``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while f'"{event}"' not in _text(log):
        assert asyncio.get_running_loop().time() < deadline, (
            f"no {event} in the log within {timeout}s:\n{_text(log)[-3000:]}"
        )
        await asyncio.sleep(0.1)


def worker_config(raw: dict[str, Any], tmp: Path, **changes: Any) -> Path:
    data = {**raw, **changes}
    data["secrets"] = {"reload_interval_seconds": 0.2}
    data["observability"] = {"log_level": "info", "log_format": "json"}
    config = tmp / "hookline.yaml"
    config.write_text(yaml.safe_dump(data))
    return config


async def test_redis_password_rotated_in_its_file_is_used_by_the_next_connection(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    """`hookline worker sms` with redis_url from a file: Redis's password changes (open
    connections stay logged in), the file gets the new URL, every client connection is then
    dropped (a Redis failover): the worker reconnects with the new password and keeps sending."""
    with redis_with_password("redis-pass-old-1") as port:
        secret = tmp_path / "redis_url"
        write_secret(secret, f"redis://:redis-pass-old-1@127.0.0.1:{port}/0")
        async with sms_loop(broker.bootstrap_servers, worker=False) as loop:
            config = worker_config(loop.raw, tmp_path, redis_url=f"file:{secret}")
            log = tmp_path / "worker.log"
            process = start_worker_process(config, log, "sms")
            admin = Redis(host="127.0.0.1", port=port, password="redis-pass-old-1")
            try:
                first = loop.command("+14155550171")
                await loop.send(first)
                await loop.wait_event("sms.message.accepted", first.id, timeout=60)
                assert await admin.keys("*idem*"), "the worker keeps no state in this Redis"

                await admin.config_set("requirepass", "redis-pass-new-2")
                write_secret(secret, f"redis://:redis-pass-new-2@127.0.0.1:{port}/0")
                await logged(log, "config.secrets_rotated")
                # Every connection opened with the old password goes (SKIPME: not ours).
                killed = await admin.client_kill_filter(_type="normal", skipme=True)
                assert killed >= 1

                second = loop.command("+14155550172")
                await loop.send(second)
                await loop.wait_event("sms.message.accepted", second.id, timeout=60)
                assert process.poll() is None
                text = _text(log)
                assert "redis-pass-new-2" not in text and "redis-pass-old-1" not in text
            finally:
                stop_process(process)
                await admin.aclose()


async def test_reissued_refresh_token_in_its_file_is_used_at_the_next_refresh(
    broker: EmbeddedBroker, redis_server: RedisServer, tmp_path: Path
) -> None:
    """`hookline worker reservation` with Shell Recharge's refresh token from a file (and the
    rotated one kept in Redis): the account is re-consented (the old refresh token and every
    access token die), the operator writes the new refresh token to the file, and the next
    command refreshes with it instead of the dead one."""
    async with reservation_loop(
        broker.bootstrap_servers, redis_url=redis_server.url, worker=False
    ) as loop:
        secret = tmp_path / "shell_refresh_token"
        write_secret(secret, loop.raw["providers"]["shell_recharge"]["auth"]["refresh_token"])
        raw = yaml.safe_load(yaml.safe_dump(loop.raw))
        raw["providers"]["shell_recharge"]["auth"]["refresh_token"] = f"file:{secret}"
        config = worker_config(raw, tmp_path)
        log = tmp_path / "worker.log"
        process = start_worker_process(config, log, "reservation")
        shell = loop.urls["shell_recharge"]
        try:
            first = loop.command("charging.station.search", SF)
            await loop.send(first)
            assert (await loop.result(first, timeout=60)).type.endswith(".command.succeeded")

            async with httpx.AsyncClient(timeout=5) as http:
                answer = await http.post(f"{shell}/_sim/tokens/reissue")
                assert answer.status_code == 201
                write_secret(secret, answer.json()["refresh_token"])
                await logged(log, "config.secrets_rotated")

                second = loop.command("charging.station.search", OAKLAND)
                await loop.send(second)
                result = await loop.result(second, timeout=60)
                assert result.type.endswith(".command.succeeded"), result.data
                state = (await http.get(f"{shell}/_sim/state")).json()
            assert state["tokens"]["refused"] == 0
            await logged(log, "http.refresh_token_replaced")
        finally:
            stop_process(process)


def test_a_rotated_kafka_password_is_logged_as_needing_a_restart(tmp_path: Path) -> None:
    """kafka.sasl_password is followed like every file: secret, and its change says a
    restart is needed (aiokafka keeps the password it was built with)."""
    from structlog.testing import capture_logs

    from hookline.config.models import HooklineSettings
    from hookline.config.watch import SecretWatcher
    from hookline.observability.logging import configure_logging

    kafka_secret, webhook_secret = tmp_path / "kafka", tmp_path / "webhook"
    write_secret(kafka_secret, "kafka-old")
    write_secret(webhook_secret, "webhook-old")
    settings = HooklineSettings.model_validate(
        {
            "kafka": {
                "security_protocol": "SASL_PLAINTEXT",
                "sasl_mechanism": "PLAIN",
                "sasl_username": "hookline",
                "sasl_password": f"file:{kafka_secret}",
            },
            "admin_token": f"file:{webhook_secret}",
        }
    )
    watcher = SecretWatcher.for_settings(settings)
    # An earlier test in this process may have left a level that filters warnings out
    # before capture_logs sees them (tests/conftest.py restores it after this one).
    configure_logging("info", "json")
    write_secret(kafka_secret, "kafka-new")
    write_secret(webhook_secret, "webhook-new")
    with capture_logs() as logs:
        watcher.check(force=True)
    needs = [entry["ref"] for entry in logs if entry["event"] == "config.secret_needs_restart"]
    assert needs == [f"file:{kafka_secret}"]
    assert settings.kafka.sasl_password is not None
    assert settings.kafka.sasl_password.get() == "kafka-new"


async def test_ingress_dedup_follows_a_redis_password_rotated_in_its_file(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    """`hookline serve` with redis_url from a file: after the password changes, the file is
    rewritten and every connection is dropped, webhooks are claimed in Redis again (202, then
    200 duplicate for the same delivery), not refused 503 for good."""
    settings = settings_for(broker.bootstrap_servers)
    await create_topics(
        broker.bootstrap_servers, all_topics(settings, extra_domains=settings.sources), 3
    )
    with redis_with_password("dedup-pass-old-1") as redis_port:
        secret = tmp_path / "redis_url"
        write_secret(secret, f"redis://:dedup-pass-old-1@127.0.0.1:{redis_port}/0")
        port = free_port()
        raw = {
            "server": {"host": "127.0.0.1", "port": port},
            "kafka": {
                "bootstrap_servers": broker.bootstrap_servers,
                "topic_prefix": settings.kafka.topic_prefix,
            },
            "redis_url": f"file:{secret}",
            "sources": {
                "billing": {
                    "provider": "standard",
                    "verify": {"scheme": "standard-webhooks", "secrets": [WHSEC]},
                }
            },
        }
        config = worker_config(raw, tmp_path)
        server = Hookline(tmp_path, "serve", config=config)
        admin = Redis(host="127.0.0.1", port=redis_port, password="dedup-pass-old-1")
        url = f"http://127.0.0.1:{port}/webhooks/billing"
        try:
            await asyncio.to_thread(server.wait_for_port, port)
            async with httpx.AsyncClient(timeout=30) as client:
                body, headers = signed_invoice(settings)
                assert (await client.post(url, content=body, headers=headers)).status_code == 202
                assert await admin.keys("hookline:dedup:*"), "the ingress claims nothing in Redis"

                await admin.config_set("requirepass", "dedup-pass-new-2")
                write_secret(secret, f"redis://:dedup-pass-new-2@127.0.0.1:{redis_port}/0")
                await asyncio.to_thread(
                    server.wait_until,
                    lambda: "config.secrets_rotated" in server.output(),
                    30,
                    "the rotated secret was read",
                )
                assert await admin.client_kill_filter(_type="normal", skipme=True) >= 1

                body, headers = signed_invoice(settings)
                # The store's connection was killed under it: the batch that finds it dead is
                # answered 503 (its claim may or may not have landed), as after any Redis
                # failover; the provider's retry is claimed on a new, newly logged-in one.
                for _ in range(3):
                    first = await client.post(url, content=body, headers=headers)
                    if first.status_code != 503:
                        break
                again = await client.post(url, content=body, headers=headers)
            assert first.status_code == 202, first.text
            assert again.status_code == 200 and again.json()["duplicate"] is True, again.text
            assert "dedup-pass-new-2" not in server.output()
        finally:
            server.close()
            await admin.aclose()
