"""Long-running commands as real processes: start-up without Kafka, signals, children reaped."""

from __future__ import annotations

import asyncio
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
from hookline.providers.registry import names
from tests.support.ingress import signed_invoice
from tests.support.kafka import consume_all
from tests.support.processes import Hookline, children, exists

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
# Generous: an idle command stops in about a second; a hang waits for SIGKILL.
EXIT_WITHIN = 20.0
REPO_CONFIG = Path(__file__).resolve().parents[2] / "hookline.yaml"


def ingress_config(tmp_path: Path, http_port: int, bootstrap: str) -> tuple[Path, HooklineSettings]:
    raw: dict[str, Any] = {
        "server": {
            "host": "127.0.0.1",
            "port": http_port,
            "publish_timeout_seconds": 1.0,
            "retry_after_seconds": 7,
        },
        "kafka": {
            "bootstrap_servers": bootstrap,
            "topic_prefix": f"t{uuid.uuid4().hex[:10]}",
            "partitions": 1,
        },
        "sources": {
            "billing": {
                "provider": "standard",
                "verify": {"scheme": "standard-webhooks", "secrets": [WHSEC]},
            }
        },
        "worker": {
            "session_timeout_ms": 3000,
            "heartbeat_interval_ms": 500,
            "shutdown_grace_seconds": 5,
        },
    }
    path = tmp_path / f"hookline-{http_port}.yaml"
    path.write_text(json.dumps(raw))  # JSON is YAML
    return path, prepare(HooklineSettings.model_validate(raw), names())


def signed_delivery(settings: HooklineSettings) -> tuple[bytes, dict[str, str]]:
    return signed_invoice(settings)


@pytest.fixture
def cleanup() -> Iterator[list[Any]]:
    """Processes and brokers a test started; whatever is left is killed afterwards."""
    started: list[Any] = []
    yield started
    for thing in reversed(started):
        if isinstance(thing, EmbeddedBroker):
            thing.stop()
        else:
            thing.close()


async def test_serve_without_kafka_answers_503_then_publishes_when_it_comes(
    tmp_path: Path, cleanup: list[Any]
) -> None:
    """Broker down: serve starts, webhooks 503 + Retry-After, /readyz 503, /healthz 200; broker up: 202, event on Kafka."""
    kafka_port, http_port = free_port(), free_port()
    config, settings = ingress_config(tmp_path, http_port, f"127.0.0.1:{kafka_port}")
    server = Hookline(tmp_path, "serve", config=config)
    cleanup.append(server)
    server.wait_for_port(http_port)
    url = f"http://127.0.0.1:{http_port}"
    async with httpx.AsyncClient(timeout=30) as client:
        assert (await client.get(f"{url}/healthz")).status_code == 200
        assert (await client.get(f"{url}/readyz")).status_code == 503
        body, headers = signed_delivery(settings)
        response = await client.post(f"{url}/webhooks/billing", content=body, headers=headers)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "7"
        assert response.headers["content-type"] == "application/problem+json"

        broker = EmbeddedBroker(port=kafka_port).start()
        cleanup.append(broker)
        results = await create_topics(
            settings.kafka,
            broker.bootstrap_servers,
            all_topics(settings, extra_domains=settings.sources),
        )
        assert all(r.ok for r in results)
        accepted = None
        deadline = time.monotonic() + 90
        while accepted is None and time.monotonic() < deadline:
            body, headers = signed_delivery(settings)
            response = await client.post(f"{url}/webhooks/billing", content=body, headers=headers)
            if response.status_code == 202:
                accepted = response.json()["id"]
            else:
                assert response.status_code == 503
                await asyncio.sleep(0.5)
        assert accepted is not None, "never published after the broker came up"
        # Readiness is a cached, time-limited probe of its own: give it a few tries.
        deadline = time.monotonic() + 60
        while (await client.get(f"{url}/readyz")).status_code != 200:
            assert time.monotonic() < deadline, "/readyz never became 200"
            await asyncio.sleep(0.5)
    records = await consume_all(
        broker.bootstrap_servers, Topics(settings.kafka.topic_prefix).events("billing"), expect=1
    )
    assert accepted in {json.loads(r.value)["id"] for r in records}
    assert server.process.poll() is None, "the ingress was restarted"
    server.stop(signal.SIGTERM, EXIT_WITHIN)


def test_worker_waits_for_kafka_then_starts(tmp_path: Path, cleanup: list[Any]) -> None:
    """Broker down: the worker logs kafka.unreachable, keeps trying and is alive; broker up: it starts."""
    kafka_port, probe_port = free_port(), free_port()
    config, _ = ingress_config(tmp_path, free_port(), f"127.0.0.1:{kafka_port}")
    raw = json.loads(config.read_text())
    raw["worker"]["probe_port"] = probe_port
    config.write_text(json.dumps(raw))
    worker = Hookline(tmp_path, "worker", "tests.cli.idle_worker:build", config=config)
    cleanup.append(worker)
    worker.wait_for_output("kafka.unreachable")
    time.sleep(1.5)  # a few more attempts: it is waiting, not exiting
    assert worker.process.poll() is None
    # Alive while waiting: a liveness probe must not restart a process that only waits.
    health = httpx.get(f"http://127.0.0.1:{probe_port}/healthz", timeout=30)
    assert health.status_code == 200 and health.json()["status"] == "starting"
    cleanup.append(EmbeddedBroker(port=kafka_port).start())
    worker.wait_for_output("hookline worker running", timeout=120)
    health = httpx.get(f"http://127.0.0.1:{probe_port}/healthz", timeout=30)
    assert health.status_code == 200 and health.json()["workers"] == ["idle"]
    assert worker.stop(signal.SIGTERM, EXIT_WITHIN) == 0


def test_worker_stops_promptly_while_waiting_for_kafka(tmp_path: Path, cleanup: list[Any]) -> None:
    """A worker still waiting for Kafka exits at once on SIGTERM."""
    config, _ = ingress_config(tmp_path, free_port(), f"127.0.0.1:{free_port()}")
    worker = Hookline(tmp_path, "worker", "tests.cli.idle_worker:build", config=config)
    cleanup.append(worker)
    worker.wait_for_output("kafka.unreachable")
    assert worker.stop(signal.SIGTERM, EXIT_WITHIN) == 0


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("server: {port: not-a-port}\nkafka: {bootstrap_servers: 127.0.0.1:1}\n", "server.port"),
        (
            "kafka: {bootstrap_servers: 127.0.0.1:1, security_protocol: SSL,"
            " ssl_cafile: /nonexistent/ca.pem}\n",
            "kafka.ssl_cafile",
        ),
    ],
    ids=["bad-port", "missing-tls-file"],
)
@pytest.mark.parametrize(
    "command", [["serve"], ["serve", "--workers", "2"], ["worker", "tests.cli.idle_worker:build"]]
)
def test_config_error_is_one_line(
    tmp_path: Path, command: list[str], text: str, names: str
) -> None:
    """A configuration error stops start-up with one clear stderr line, never a traceback."""
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    process = Hookline(tmp_path, *command, config=config)
    try:
        code = process.process.wait(60)
        stderr = process.err_path.read_text()
    finally:
        process.close()
    assert code == 1
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("hookline:") and names in lines[0], stderr


def dev_config(tmp_path: Path, http_port: int, kafka_port: int, sim_port: int) -> Path:
    """The shipped development configuration on free ports (tests run side by side)."""
    text = REPO_CONFIG.read_text()
    text = text.replace("port: 8000", f"port: {http_port}").replace(
        "127.0.0.1:8000", f"127.0.0.1:{http_port}"
    )
    text = text.replace(
        "bootstrap_servers: null", f"bootstrap_servers: null\n  embedded_port: {kafka_port}"
    )
    text = text.replace("twilio: {port: 8102,", f"twilio: {{port: {sim_port},")
    path = tmp_path / "dev.yaml"
    path.write_text(text)
    return path


def start(kind: str, tmp_path: Path, broker: EmbeddedBroker) -> Hookline:
    """One long-running command, started and ready."""
    if kind == "broker":
        port = free_port()
        process = Hookline(tmp_path, "broker", "--port", str(port))
        process.wait_for_port(port)
        return process
    if kind in ("serve", "serve-workers"):
        port = free_port()
        config, _ = ingress_config(tmp_path, port, broker.bootstrap_servers)
        extra = ["--workers", "2"] if kind == "serve-workers" else []
        process = Hookline(tmp_path, "serve", *extra, config=config)
        process.wait_for_port(port, timeout=120)
        return process
    if kind == "worker":
        config, _ = ingress_config(tmp_path, free_port(), broker.bootstrap_servers)
        process = Hookline(tmp_path, "worker", "tests.cli.idle_worker:build", config=config)
        process.wait_for_output("hookline worker running", timeout=120)
        return process
    config = dev_config(tmp_path, free_port(), free_port(), free_port())
    if kind == "sandbox":
        process = Hookline(tmp_path, "sandbox", "--only", "twilio", config=config)
    else:
        process = Hookline(tmp_path, "run", "--no-sandbox", config=config)
    process.wait_for_output("Ctrl-C stops everything.", timeout=120)
    return process


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("kind", ["broker", "serve", "serve-workers", "worker", "sandbox", "run"])
def test_long_running_command_exits_on_signal_and_reaps_children(
    kind: str, sig: signal.Signals, tmp_path: Path, broker: EmbeddedBroker, cleanup: list[Any]
) -> None:
    """SIGTERM or SIGINT ends the command within a generous bound, and no child process is left."""
    process = start(kind, tmp_path, broker)
    cleanup.append(process)
    descendants = children(process.pid)
    if kind in ("broker", "run", "serve-workers"):
        assert descendants, "the broker or the server processes should be children"
    process.stop(sig, EXIT_WITHIN)
    deadline = time.monotonic() + 5  # helpers that exit on their parent's exit get a moment
    while (left := [pid for pid in descendants if exists(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"{kind} left children behind: {left}"


def test_run_stopped_while_starting_exits_cleanly(tmp_path: Path, cleanup: list[Any]) -> None:
    """SIGTERM while hookline run is still starting: prompt exit, broker reaped, no traceback."""
    config = dev_config(tmp_path, free_port(), free_port(), free_port())
    process = Hookline(tmp_path, "run", "--no-sandbox", config=config)
    cleanup.append(process)
    process.wait_until(lambda: bool(children(process.pid)), 60, "starting the broker")
    time.sleep(0.5)  # topics, ingress, workers: somewhere in start-up
    descendants = children(process.pid)
    assert process.stop(signal.SIGTERM, EXIT_WITHIN) == 0
    deadline = time.monotonic() + 5
    while (left := [pid for pid in descendants if exists(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left
    assert "Traceback" not in process.output()
