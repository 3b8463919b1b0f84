"""Automatic lifecycle progress: a step function run every ``tick_ms`` (docs/providers/simulators.md#callbacks)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger("hookline.sandbox.ticker")

Step = Callable[[], Awaitable[None]]


class Ticker:
    """Runs ``step`` every ``interval`` seconds until stopped; a failing step is logged, not fatal.

    The interval is measured from the end of one step to the start of the next,
    so a slow step never piles up overlapping runs.
    """

    def __init__(self, step: Step, interval: float, name: str = "tick") -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.step = step
        self.interval = interval
        self.name = name
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if not self.running:
            self._task = asyncio.create_task(self._loop(), name=f"ticker-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def tick(self) -> None:
        """One step now (also what ``/_sim/emit``-style forcing can call)."""
        self.ticks += 1
        try:
            await self.step()
        except Exception as exc:  # a broken step must not stop the simulator
            log.error(
                "sandbox.tick_failed", ticker=self.name, error=type(exc).__name__, exc_info=exc
            )

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.tick()
