"""SIGKILL the reservation worker while creates for all three platforms are in flight: each exists once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hookline.bus.broker import EmbeddedBroker
from tests.services.reservation.loop import (
    CREATE_PATH,
    PLATFORMS,
    ReservationLoop,
    create_data,
    reservation_loop,
)
from tests.support.servers import RedisServer

ROOT = Path(__file__).resolve().parents[3]
PER_PLATFORM = 20
KILLS = 2
CONCURRENCY = 6


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hookline", "--config", str(config), "worker", "reservation"],
            cwd=ROOT,
            stdout=out,
            stderr=out,
        )


def _results(loop: ReservationLoop) -> dict[str, list[Any]]:
    by_command: dict[str, list[Any]] = {}
    for event in loop.events:
        if event.type.startswith("reservation.command."):
            by_command.setdefault(event.data["command_id"], []).append(event)
    return by_command


async def _until(check: Any, timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_sigkilled_worker_creates_each_reservation_once(
    broker: EmbeddedBroker, redis_server: RedisServer, tmp_path: Path
) -> None:
    """Creates interleaved across OpenTable, Recreation.gov and Shell, worker SIGKILLed twice mid-stream:
    every command succeeds, each simulator holds exactly one reservation per create command, and
    only creates in flight at a kill reach a simulator twice."""
    async with reservation_loop(
        broker.bootstrap_servers, redis_url=redis_server.url, worker=False
    ) as loop:
        raw = dict(loop.raw)
        raw["worker"] = {**raw["worker"], "concurrency": CONCURRENCY}
        config = tmp_path / "hookline.yaml"
        config.write_text(yaml.safe_dump(raw))
        log = tmp_path / "worker.log"
        # Every create waits 120 ms at the simulator, so kills land with calls in flight.
        for platform in PLATFORMS:
            await loop.fault(
                platform, path=CREATE_PATH[platform], method="POST", delay_ms=120, count=0
            )
        commands = [
            loop.command("reservation.create", create_data(platform, n))
            for n in range(PER_PLATFORM)
            for platform in PLATFORMS
        ]
        total = len(commands)

        process = _start(config, log)
        try:
            await loop.send(*commands)
            for kill in range(1, KILLS + 1):
                await _until(
                    lambda k=kill: len(_results(loop)) >= total * k // (KILLS + 2), 60, "progress"
                )
                process.send_signal(signal.SIGKILL)
                process.wait(10)
                process = _start(config, log)
            await _until(lambda: len(_results(loop)) == total, 90, "every result")
            process.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(process.wait, 30) == 0
        finally:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(10)

        results = _results(loop)
        assert set(results) == {c.id for c in commands}
        failed = [
            e.data for events in results.values() for e in events if e.type.endswith(".failed")
        ]
        assert not failed, failed
        repeats = 0
        for platform in PLATFORMS:
            mine = [c.id for c in commands if c.data["provider"] == platform]
            # A command whose result was written twice (crash before done) wrote the same event twice.
            ids = {cid: {e.data["reservation_id"] for e in results[cid]} for cid in mine}
            assert all(len(r) == 1 for r in ids.values()), ids
            assert all(
                e.type == "reservation.command.succeeded" for cid in mine for e in results[cid]
            )
            state = await loop.state(platform)
            held = set(state["entities"]["reservations"])
            assert held == {next(iter(r)) for r in ids.values()}
            assert len(held) == PER_PLATFORM
            repeats += state["idempotency"]["repeats"]
        # Only a create in flight at a kill (begun, not yet marked done; at most
        # `concurrency` of them) may reach a simulator twice: the simulators' replay
        # by Idempotency-Key would hide any other repeat, so count them.
        bound = KILLS * CONCURRENCY
        print(
            f"\nreservation crash test: {total} creates, {KILLS} SIGKILLs, "
            f"{repeats} Idempotency-Key replays at the simulators (at most {bound} allowed)"
        )
        assert repeats <= bound, (
            f"{repeats} replays, more than the {bound} creates in flight at the kills"
        )
        with contextlib.suppress(FileNotFoundError):
            assert "Traceback" not in log.read_text()
