"""Without Redis (one machine) the open entities live in a SQLite file: they survive a worker
killed and restarted, and ``hookline reconcile`` run as its own process sees what a running
worker recorded."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from hookline.bus.broker import EmbeddedBroker
from tests.services.reconcile.loop import ReconcileLoop, reconcile_loop
from tests.support.servers import RedisServer
from tests.worker.support import start_worker_process, stop_process

STATUS_READ = "/2010-04-01/Accounts/*/Messages/*.json"


def _reconcile(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    from tests.services.reconcile.test_reconcile_cli import ENV

    return subprocess.run(
        [sys.executable, "-m", "hookline", "--config", str(config), "reconcile", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
        check=False,
    )


async def _listed(loop: ReconcileLoop, provider: str, timeout: float = 30.0) -> list[Any]:
    """The open entities the admin endpoint (this process, the same file) lists, once there are."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        entities: list[Any] = (await loop.open_entities(provider))["entities"]
        if entities:
            return entities
        await asyncio.sleep(0.2)
    raise AssertionError(f"no open {provider} entity recorded within {timeout}s")


async def test_without_redis_an_entity_survives_a_worker_kill_and_hookline_reconcile_sees_it(
    broker: EmbeddedBroker, redis_server: RedisServer, tmp_path: Path
) -> None:
    """Worker process records an SMS, `hookline reconcile --dry-run` lists it, SIGKILL, restart: delivered once."""
    store = tmp_path / "state" / "open-entities.sqlite3"
    reconcile = {
        "interval_seconds": 0.5,
        "store_path": str(store),
        "providers": {"twilio": {"after_seconds": 1.5, "recheck_seconds": 0.5}},
    }
    async with reconcile_loop(
        broker.bootstrap_servers,
        redis_server.url,
        reconcile=reconcile,
        reconciler=False,
        redis=False,
    ) as loop:
        assert loop.settings.redis_url is None
        config = tmp_path / "hookline.yaml"
        config.write_text(yaml.safe_dump(loop.raw))
        log = tmp_path / "reconcile.log"
        await loop.hold_callbacks("twilio", drop=True)
        # While the first worker runs, Twilio's status reads fail: it records, it cannot reconcile.
        fault = await loop.fault("twilio", path=STATUS_READ, method="GET", status=500, count=0)
        first = start_worker_process(config, log, "reconcile")
        try:
            command = loop.command("+14155550123")
            await loop.send(command)
            accepted = await loop.wait_event("sms.message.accepted", command.id, timeout=30)
            sid = accepted.data["provider_message_id"]
            [entity] = await _listed(loop, "twilio")
            assert entity["entity_id"] == sid
            dry = await asyncio.to_thread(_reconcile, config, "--provider", "twilio", "--dry-run")
            assert f"open          twilio:{sid}  " in dry.stdout, dry.stdout + dry.stderr
            assert "open: 1" in dry.stdout
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        finally:
            stop_process(first)
        assert store.exists()
        assert loop.count("sms.message.delivered", command.id) == 0
        await loop.clear_fault("twilio", fault)
        second = start_worker_process(config, log, "reconcile")
        try:
            delivered = await loop.wait_event("sms.message.delivered", command.id, timeout=40)
            await loop.settle(2)
        finally:
            stop_process(second)
        assert delivered.data["provider_message_id"] == sid
        assert loop.count("sms.message.delivered", command.id) == 1
        assert (await loop.state("twilio"))["callbacks"]["delivered"] == 0
        assert (await loop.open_entities("twilio"))["entities"] == []
        print("reconciled events (twilio, no Redis, worker killed and restarted): 1")
