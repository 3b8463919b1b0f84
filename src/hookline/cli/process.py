"""Running several asyncio parts in one process until a signal stops them."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Generator
from typing import Any, Protocol

import uvicorn


class Component(Protocol):
    """A part of ``hookline run``: started in order, stopped in reverse."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def where(self) -> str: ...


class EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the process owner decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class UvicornComponent:
    def __init__(self, name: str, config: uvicorn.Config, label: str = "") -> None:
        self.name = name
        self.server = EmbeddedServer(config)
        self.label = label
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self.server.serve(), name=f"serve-{self.name}")
        while not self.server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError(f"{self.name} did not start")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            await self._task

    def where(self) -> str:
        config = self.server.config
        return f"http://{config.host}:{config.port}{self.label}"


async def wait_for_signal() -> int:
    """Block until SIGINT/SIGTERM; a second signal ends the process at once."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    received: list[int] = []

    def handler(signum: int) -> None:
        if received:
            raise SystemExit(128 + signum)
        received.append(signum)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, handler, sig)
    await stop.wait()
    return received[0]


def describe(components: list[Any]) -> list[tuple[str, str]]:
    return [(c.name, c.where()) for c in components]
