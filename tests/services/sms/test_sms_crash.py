"""A worker SIGKILLed mid-stream and restarted still sends every SMS exactly once."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest
import yaml

from hookline.bus.broker import EmbeddedBroker
from tests.services.sms.loop import SmsLoop, sms_loop
from tests.support.servers import RedisServer
from tests.worker.support import start_worker_process, stop_process

MESSAGES = 300


def _spawn(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return start_worker_process(config, log, "sms")


async def _count(loop: SmsLoop, type_: str) -> int:
    return len({e.subject for e in loop.events if e.type == type_})


async def _wait(loop: SmsLoop, type_: str, n: int, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while await _count(loop, type_) < n:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(
                f"only {await _count(loop, type_)} of {n} {type_} within {timeout}s"
            )
        await asyncio.sleep(0.1)


@pytest.mark.slow
async def test_sigkilled_worker_restarted_sends_each_message_exactly_once(
    broker: EmbeddedBroker, redis_server: RedisServer, tmp_path: Path
) -> None:
    """SIGKILL during a burst of sends, restart: every message delivered, none sent twice."""
    async with sms_loop(broker.bootstrap_servers, redis_url=redis_server.url, worker=False) as loop:
        config = tmp_path / "hookline.yaml"
        config.write_text(yaml.safe_dump(loop.raw))
        log = tmp_path / "worker.log"
        numbers = [
            f"+8869123{10000 + i:05d}" if i % 3 else f"+1415555{i:04d}" for i in range(MESSAGES)
        ]
        # Endings 0001-0003 are the simulators' failure numbers; keep this run to plain deliveries.
        numbers = [
            n if n[-4:] not in ("0001", "0002", "0003") else n[:-4] + "0100" for n in numbers
        ]
        commands = [loop.command(n) for n in numbers]
        first = _spawn(config, log)
        try:
            await loop.send(*commands)
            await _wait(loop, "sms.message.accepted", 40, timeout=60)
            first.send_signal(signal.SIGKILL)
            first.wait(5)
            killed_at = await _count(loop, "sms.message.accepted")
            assert killed_at < MESSAGES, "the worker finished before it could be killed"
            second = _spawn(config, log)
            try:
                await _wait(loop, "sms.message.delivered", MESSAGES, timeout=60)
            finally:
                stop_process(second)
        finally:
            stop_process(first)

        by_ref: Counter[str] = Counter()
        for sim in ("twilio", "every8d", "mitake"):
            state = await loop.state(sim)
            by_ref.update(state["sms"]["by_ref"])
            assert state["sms"]["duplicates"] == {}
        assert set(by_ref) == {c.id for c in commands}
        assert set(by_ref.values()) == {1}
        delivered = [e for e in loop.events if e.type == "sms.message.delivered"]
        assert {e.subject for e in delivered} == {c.id for c in commands}
        bad = [
            e for e in loop.events if e.type in ("sms.message.failed", "sms.message.failed_over")
        ]
        assert not bad, [(e.type, e.data) for e in bad]
