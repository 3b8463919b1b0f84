"""`hookline serve --workers 2`: every scrape of /metrics shows the whole server's totals."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from hookline.bus.broker import EmbeddedBroker, free_port
from hookline.bus.topics import all_topics
from hookline.observability.cells import CellReader
from tests.ingress.test_webhooks_e2e import sign
from tests.support.ingress import WHSEC, settings_for
from tests.support.kafka import create_topics

ENV = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def server(broker: EmbeddedBroker, tmp_path: Path) -> Iterator[tuple[str, Path, object]]:
    """A real `hookline serve --workers 2` process group on a free port, its metrics in tmp_path."""
    settings = settings_for(broker.bootstrap_servers)
    asyncio.run(
        create_topics(
            broker.bootstrap_servers, all_topics(settings, extra_domains=settings.sources), 3
        )
    )
    port = free_port()
    config = tmp_path / "hookline.yaml"
    document = {
        "kafka": {
            "bootstrap_servers": broker.bootstrap_servers,
            "topic_prefix": settings.kafka.topic_prefix,
        },
        "server": {"host": "127.0.0.1", "port": port},
        "sources": {
            "billing": {
                "provider": "standard",
                "verify": {"scheme": "standard-webhooks", "secrets": [WHSEC]},
            }
        },
    }
    config.write_text(yaml.safe_dump(document))
    shared = tmp_path / "metrics"
    shared.mkdir()
    (shared / "999999.keys").write_text(
        '["hookline_ingress_requests", ["billing", "accepted"], 0, 1, 0]\n'
    )
    env = ENV | {"HOOKLINE_OBSERVABILITY__METRICS_DIR": str(shared)}
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "hookline", "--config", str(config), "serve", "--workers", "2"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while len(list(shared.glob("*.keys"))) < 2 or not _up(url):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "serve --workers 2 did not come up"
            time.sleep(0.1)
        yield url, shared, settings
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _accepted_per_process(shared: Path) -> dict[int, float]:
    return {
        s.pid: s.values[0]
        for s in CellReader(shared).series("hookline_ingress_requests")
        if s.labels == ("billing", "accepted")
    }


def test_every_scrape_shows_the_sum_over_processes(server: tuple[str, Path, object]) -> None:
    """Under load spread over both worker processes, each of many scrapes shows exact server-wide sums."""
    url, shared, settings = server
    assert not (shared / "999999.keys").exists(), "an earlier run's files are cleared at start-up"
    # Readiness is unknown (not exported) until a probe reaches a process; then a process
    # never probed does not pull the server's minimum down to 0.
    assert ("hookline_kafka_ready", ()) not in scrape(url)
    assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200
    before_load = scrape(url)[
        ("hookline_ingress_last_accepted_timestamp_seconds", (("source", "billing"),))
    ]
    load_started = time.time()
    assert before_load <= load_started, (
        "until a webhook is accepted the gauge holds the start-up time"
    )
    sent = unverified = 0
    # Fresh connections until both processes have served some (the kernel picks the acceptor).
    while len([n for n in _accepted_per_process(shared).values() if n > 0]) < 2:
        assert sent < 2000, f"one process took every connection: {_accepted_per_process(shared)}"
        for _ in range(20):
            body = json.dumps({"type": "invoice.paid", "data": {"id": f"inv_{sent}"}}).encode()
            headers = sign(settings, "billing", body, **{"webhook-id": f"msg_{sent}"})  # type: ignore[arg-type]
            with httpx.Client() as client:
                assert (
                    client.post(
                        f"{url}/webhooks/billing", content=body, headers=headers
                    ).status_code
                    == 202
                )
            sent += 1
        for _ in range(3):
            with httpx.Client() as client:
                answer = client.post(
                    f"{url}/webhooks/billing",
                    content=b"{}",
                    headers={
                        "content-type": "application/json",
                        "webhook-id": "x",
                        "webhook-timestamp": "1",
                        "webhook-signature": "v1,AAAA",
                    },
                )
            assert answer.status_code == 401
            unverified += 1
    accepted = ("hookline_ingress_requests_total", (("outcome", "accepted"), ("source", "billing")))
    refused = (
        "hookline_ingress_requests_total",
        (("outcome", "unverified"), ("source", "billing")),
    )
    count = ("hookline_ingress_request_seconds_count", (("source", "billing"),))
    inf = ("hookline_ingress_request_seconds_bucket", (("le", "+Inf"), ("source", "billing")))
    published = ("hookline_ingress_publish_seconds_count", (("source", "billing"),))
    for _ in range(12):
        samples = scrape(url)  # a new connection each time, so both processes answer some
        assert samples[accepted] == sent
        assert samples[refused] == unverified
        assert samples[count] == samples[inf] == sent + unverified
        assert samples[published] == sent
        failures = sum(
            v
            for (name, _), v in samples.items()
            if name == "hookline_ingress_verification_failures_total"
        )
        assert failures == unverified
        assert samples[("hookline_kafka_ready", ())] == 1.0
        last = samples[
            ("hookline_ingress_last_accepted_timestamp_seconds", (("source", "billing"),))
        ]
        assert last >= load_started, "the latest accept, whichever process took it"
        assert any(name.startswith("process_") for name, _ in samples)
        assert any(name.startswith("python_") for name, _ in samples)
