"""Running several asyncio parts in one process until a signal stops them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Generator
from typing import Any, Protocol, TypeVar

import uvicorn

T = TypeVar("T")


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
        try:
            while not self.server.started:
                if self._task.done():
                    self._task.result()
                    raise RuntimeError(f"{self.name} did not start")
                await asyncio.sleep(0.02)
        except asyncio.CancelledError:
            # Stopped while starting (a signal): shut the server down cleanly rather
            # than leave its task, lifespan included, to die with the event loop.
            await self.stop()
            raise

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            await self._task

    def where(self) -> str:
        config = self.server.config
        return f"http://{config.host}:{config.port}{self.label}"


class Interrupted(Exception):
    """A stop signal arrived before start-up finished."""


class StopSignals:
    """SIGINT/SIGTERM as an event on the running loop, installed at once.

    Installed before start-up, so that a signal while a command still waits
    (for Kafka, for a consumer group) stops it too. A second signal ends the
    process at once; children started with a parent-death signal follow it.
    """

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.event = asyncio.Event()
        self.signum: int | None = None
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._handle, sig)

    def _handle(self, signum: int) -> None:
        if self.signum is not None:
            print("hookline: stopping at once", file=sys.stderr, flush=True)
            os._exit(128 + signum)
        self.signum = signum
        self.event.set()

    async def wait(self) -> int:
        await self.event.wait()
        assert self.signum is not None
        return self.signum

    async def race(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable`` unless a signal comes first: then cancel it and raise Interrupted."""
        task = asyncio.ensure_future(awaitable)
        waiter = asyncio.ensure_future(self.event.wait())
        try:
            await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if task.done():
            return task.result()
        task.cancel()
        # Whatever the cancelled start-up raises on its way out, we are stopping anyway.
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        raise Interrupted


async def wait_for_signal() -> int:
    """Block until SIGINT/SIGTERM; a second signal ends the process at once."""
    return await StopSignals().wait()


def describe(components: list[Any]) -> list[tuple[str, str]]:
    return [(c.name, c.where()) for c in components]
