"""``hookline worker NAME…``: run workers until SIGTERM/SIGINT (a second signal exits at once)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from typing import Any

import uvicorn

from hookline.cli.common import load
from hookline.cli.process import Interrupted, StopSignals, UvicornComponent
from hookline.config.models import HooklineSettings
from hookline.errors import ConfigError
from hookline.worker.component import WorkerComponent
from hookline.worker.probe import probe_app
from hookline.worker.registry import WORKERS


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "worker",
        help="run workers (sms, colt, reservation, reactor, or package.module:factory)",
    )
    parser.add_argument(
        "names",
        nargs="+",
        metavar="NAME",
        help=f"worker names ({', '.join(sorted(WORKERS)) or 'none registered'}) "
        "or an import path package.module:factory",
    )
    parser.set_defaults(func=run)


def run_components(settings: HooklineSettings, args: argparse.Namespace) -> list[Any]:
    """Every registered worker joins ``hookline run``."""
    return [WorkerComponent(settings, sorted(WORKERS))] if WORKERS else []


def probe_component(
    component: WorkerComponent,
    settings: HooklineSettings,
    starting: Callable[[], bool] | None = None,
) -> UvicornComponent:
    """The worker's /healthz and /metrics server (worker.probe_port)."""
    config = settings.worker
    assert config.probe_port is not None
    app = probe_app(lambda: component.workers, config.stall_seconds, starting)
    server = uvicorn.Config(
        app,
        host=config.probe_host,
        port=config.probe_port,
        log_config=None,  # structlog handles uvicorn's loggers
        access_log=False,
        lifespan="off",
        proxy_headers=False,
    )
    return UvicornComponent("probe", server, " (/healthz, /metrics)")


async def run(args: argparse.Namespace) -> int:
    settings = load(args)
    component = WorkerComponent(settings, args.names)
    signals = StopSignals()
    stop = asyncio.ensure_future(signals.wait())
    started = asyncio.Event()
    probe = None
    if settings.worker.probe_port is not None:
        # Up before the workers: while they wait for Kafka, /healthz says "starting"
        # and a liveness probe does not restart a process that is only waiting.
        probe = probe_component(component, settings, lambda: not started.is_set())
        await probe.start()
        print(f"probes and metrics: {probe.where()}", flush=True)
    try:
        return await _run(settings, component, signals, stop, started)
    finally:
        if probe is not None:
            await probe.stop()


async def _run(
    settings: HooklineSettings,
    component: WorkerComponent,
    signals: StopSignals,
    stop: asyncio.Future[Any],
    started: asyncio.Event,
) -> int:
    try:
        # Start-up may wait for Kafka as long as it is down: a signal meanwhile stops it.
        await signals.race(component.start())
        started.set()
    except Interrupted:
        print("hookline: stopped before the workers started", file=sys.stderr, flush=True)
        return 0
    except ImportError as exc:  # a package.module:factory that does not import
        raise ConfigError(f"cannot load worker: {exc}") from exc
    print(f"hookline worker running: {component.where()}", flush=True)
    waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(w.wait()) for w in component.workers]
    done, _ = await asyncio.wait([stop, *waits], return_when=asyncio.FIRST_COMPLETED)
    failed = [t for t in done if t is not stop and t.exception() is not None]
    if stop in done:
        grace = settings.worker.shutdown_grace_seconds
        print(
            f"stopping: finishing in-flight work (up to {grace:g}s; signal again to exit now)",
            file=sys.stderr,
            flush=True,
        )
    for task in waits:
        task.cancel()
    await component.stop()
    if failed:
        print(f"hookline: worker failed: {failed[0].exception()}", file=sys.stderr)
        return 1
    return 0
