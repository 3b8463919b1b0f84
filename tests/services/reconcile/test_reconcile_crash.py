"""A reconcile worker SIGKILLed in the middle of a pass forgets no entity and publishes nothing twice."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections import Counter
from pathlib import Path

import yaml

from hookline.bus.broker import EmbeddedBroker
from tests.services.reconcile.loop import ReconcileLoop, reconcile_loop
from tests.support.servers import RedisServer
from tests.worker.support import start_worker_process, stop_process

MESSAGES = 12


def _spawn(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return start_worker_process(config, log, "reconcile")


def _delivered(loop: ReconcileLoop) -> Counter[str]:
    return Counter(e.subject or "" for e in loop.events if e.type == "sms.message.delivered")


async def _until(check: object, timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        await asyncio.sleep(0.05)


async def test_sigkilled_mid_pass_restarted_reconciles_each_message_once(
    broker: EmbeddedBroker, redis_server: RedisServer, tmp_path: Path
) -> None:
    """SIGKILL after the pass published some of its events, restart: all delivered, each once."""
    async with reconcile_loop(broker.bootstrap_servers, redis_server.url, reconciler=False) as loop:
        config = tmp_path / "hookline.yaml"
        config.write_text(yaml.safe_dump(loop.raw))
        log = tmp_path / "reconcile.log"
        await loop.hold_callbacks("every8d", drop=True)
        # Each status read takes 0.3 s, so one pass over the messages lasts seconds.
        await loop.fault(
            "every8d", path="/API21/HTTP/getDeliveryStatus.ashx", delay_ms=300, count=0
        )
        # Endings 0001-0003 are the simulators' failure numbers: plain deliveries only.
        commands = [loop.command(f"+8869123{30100 + i:05d}") for i in range(MESSAGES)]
        first = _spawn(config, log)
        try:
            await loop.send(*commands)
            await _until(lambda: len(_delivered(loop)) >= 1, 60, "a first reconciled report")
            first.send_signal(signal.SIGKILL)
            first.wait(5)
            killed_at = len(_delivered(loop))
            assert killed_at < MESSAGES, "the pass ended before the worker could be killed"
            second = _spawn(config, log)
            try:
                await _until(lambda: len(_delivered(loop)) >= MESSAGES, 60, "every report")
                await asyncio.sleep(2)
            finally:
                stop_process(second)
        finally:
            stop_process(first)
        delivered = _delivered(loop)
        assert set(delivered) == {c.id for c in commands}
        assert set(delivered.values()) == {1}, delivered
        print(
            f"reconciled events (every8d, killed mid-pass): {MESSAGES} "
            f"({killed_at} before the kill)"
        )
