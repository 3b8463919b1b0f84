"""``hookline reconcile``: one pass from the command line, dry run first, then for real."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import yaml

from hookline.bus.broker import EmbeddedBroker
from tests.services.reconcile.loop import FAST_RECONCILE, reconcile_loop
from tests.support.servers import RedisServer

ENV = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}


def _reconcile(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hookline", "--config", str(config), "reconcile", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
        check=False,
    )


async def test_reconcile_command_dry_run_publishes_nothing_then_publishes_once(
    broker: EmbeddedBroker, redis_server: RedisServer, tmp_path: Path
) -> None:
    """--dry-run prints the change it would publish and publishes nothing; the real pass publishes it."""
    manual = {**FAST_RECONCILE, "interval_seconds": 0}  # the worker only keeps the entities
    async with reconcile_loop(broker.bootstrap_servers, redis_server.url, reconcile=manual) as loop:
        config = tmp_path / "hookline.yaml"
        config.write_text(yaml.safe_dump(loop.raw))
        await loop.hold_callbacks("twilio", drop=True)
        command = loop.command("+14155550123")
        await loop.send(command)
        accepted = await loop.wait_event("sms.message.accepted", command.id)
        sid = accepted.data["provider_message_id"]
        await asyncio.sleep(2)  # past after_seconds, and the worker has opened the entity
        dry = await asyncio.to_thread(_reconcile, config, "--provider", "twilio", "--dry-run")
        assert dry.returncode == 0, dry.stdout + dry.stderr
        assert f"would_publish twilio:{sid}  delivered  sms.message.delivered" in dry.stdout
        assert "would publish: 1" in dry.stdout
        await loop.settle(1)
        assert loop.count("sms.message.delivered", command.id) == 0
        real = await asyncio.to_thread(_reconcile, config)
        assert real.returncode == 0, real.stdout + real.stderr
        assert f"published     twilio:{sid}" in real.stdout and "published: 1" in real.stdout
        await loop.wait_event("sms.message.delivered", command.id)
        again = await asyncio.to_thread(_reconcile, config)
        assert "open: 0" in again.stdout and "published: 0" in again.stdout
        await loop.settle(1)
        assert loop.count("sms.message.delivered", command.id) == 1
        print("reconciled events (hookline reconcile): 1")
