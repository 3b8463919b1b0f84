"""A worker process answers /healthz and /metrics on worker.probe_port; a stalled fetch loop fails /healthz."""

from __future__ import annotations

import asyncio
import os
import signal

import httpx
import yaml

from hookline.bus.broker import free_port
from hookline.bus.topics import Topics
from hookline.worker.component import WorkerComponent
from hookline.worker.probe import probe_app
from tests.support.kafka import create_topics
from tests.worker.support import (
    SERVICE,
    command,
    eventually,
    produce,
    provider_spec,
    start_worker_process,
    worker_settings,
)


async def test_worker_process_serves_health_and_metrics_then_stops_cleanly(
    broker, provider, tmp_path
):
    """hookline worker with a probe port: /healthz ok once running, /metrics counts the handled
    records, SIGTERM stops both (exit 0, port closed)."""
    settings = worker_settings(broker.bootstrap_servers, probe_port=free_port())
    data = settings.model_dump(mode="json", exclude_none=True)
    data["services"] = {"crashtest": {"provider_url": provider.url}}
    data["observability"] = {"log_level": "warning"}
    config = tmp_path / "hookline.yaml"
    config.write_text(yaml.safe_dump(data))
    topic = Topics(settings.kafka.topic_prefix).commands(SERVICE)
    await create_topics(broker.bootstrap_servers, [topic], 3)
    url = f"http://127.0.0.1:{settings.worker.probe_port}"
    process = start_worker_process(config, tmp_path / "worker.log")
    try:
        async with httpx.AsyncClient(timeout=2) as client:

            async def health() -> httpx.Response | None:
                try:
                    return await client.get(f"{url}/healthz")
                except httpx.TransportError:
                    return None

            async def up() -> bool:
                if process.poll() is not None:
                    return True  # exited: the assertion below shows the log
                answer = await health()
                # 200 "starting" while it waits for Kafka; "ok" once its fetch loops run.
                return (
                    answer is not None
                    and answer.status_code == 200
                    and answer.json()["status"] == "ok"
                )

            await eventually(up, timeout=60)
            answer = await health()
            assert answer is not None and answer.status_code == 200, (
                tmp_path / "worker.log"
            ).read_text()
            assert answer.json() == {"status": "ok", "workers": [SERVICE]}
            await produce(broker.bootstrap_servers, topic, [command(f"k{i}", 0) for i in range(5)])
            await eventually(lambda: len(provider.effects.applied) == 5, timeout=30)

            async def handled() -> bool:
                text = (await client.get(f"{url}/metrics")).text
                return any(
                    line.startswith("hookline_worker_records_total")
                    and 'outcome="handled"' in line
                    and line.rstrip().endswith(" 5.0")
                    for line in text.splitlines()
                )

            await eventually(handled, timeout=10)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 30) == 0
        async with httpx.AsyncClient(timeout=1) as client:
            try:
                await client.get(f"{url}/healthz")
                raise AssertionError("the probe server outlived the worker")
            except httpx.ConnectError:
                pass
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)


async def test_healthz_fails_for_a_stalled_or_stopped_fetch_loop(broker, provider) -> None:
    """A fetch loop that has not turned within stall_seconds, or has stopped, makes /healthz 503."""
    settings = worker_settings(broker.bootstrap_servers)

    async def build(_settings):  # type: ignore[no-untyped-def]
        return provider_spec(settings, provider.url)

    from hookline.worker import registry

    registry.WORKERS["probetest"] = build
    component = WorkerComponent(settings, ["probetest"], bootstrap_servers=broker.bootstrap_servers)
    try:
        await component.start()
        app = probe_app(lambda: component.workers, stall_seconds=30)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
            assert (await client.get("/healthz")).status_code == 200
            worker = component.workers[0]
            worker.last_turn -= 100
            stalled = await client.get("/healthz")
            assert stalled.status_code == 503
            assert "has not turned for" in stalled.json()["problems"][SERVICE]
            worker.last_turn += 100
            await eventually(lambda: worker.problem(30) is None, timeout=5)
            await worker.stop()
            stopped = await client.get("/healthz")
            assert (
                stopped.status_code == 503 and stopped.json()["problems"][SERVICE] == "not running"
            )
    finally:
        registry.WORKERS.pop("probetest", None)
        await component.stop()
