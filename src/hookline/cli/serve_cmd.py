"""``hookline serve``: the ingress alone, under uvicorn."""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path
from typing import Any

import uvicorn

from hookline.bus.connection import client_options
from hookline.cli.common import load
from hookline.config.loader import CONFIG_ENV
from hookline.config.models import HooklineSettings, bootstrap
from hookline.ingress.app import create_app
from hookline.ingress.server import PROTOCOL_PATH, EdgeProtocol
from hookline.observability.cells import fresh_directory


def register(sub: Any) -> None:
    parser = sub.add_parser("serve", help="run the ingress (webhook receiver)")
    parser.add_argument("--host", help="bind address (default: server.host)")
    parser.add_argument("--port", type=int, help="port (default: server.port)")
    parser.add_argument(
        "--workers", type=int, help="uvicorn worker processes (default: server.workers)"
    )
    parser.set_defaults(func=run)


def uvicorn_config(settings: HooklineSettings, app: Any, **overrides: Any) -> uvicorn.Config:
    options: dict[str, Any] = {
        "host": settings.server.host,
        "port": settings.server.port,
        "log_config": None,  # our structlog configuration handles uvicorn's loggers
        "access_log": False,  # the ingress logs one structured line per request itself
        # Client addresses come from server.trusted_proxies (every X-Forwarded-For
        # line counts); uvicorn's own rewrite would trust 127.0.0.1 behind our back.
        "proxy_headers": False,
        "loop": "auto",
        # uvicorn's httptools protocol plus the edge limits of server: (docs/edge.md).
        "http": EdgeProtocol,
        "lifespan": "on",
        "timeout_graceful_shutdown": 10,
    }
    options.update({k: v for k, v in overrides.items() if v is not None})
    return uvicorn.Config(app, **options)


def build(settings: HooklineSettings) -> Any:
    servers, embedded = bootstrap(settings.kafka)
    # Kafka is connected in the background, but its settings (TLS files) are
    # checked now: a configuration error stops start-up in one line.
    client_options(settings.kafka, servers)
    return create_app(settings, bootstrap_servers=servers, embedded=embedded)


def run(args: argparse.Namespace) -> int:
    settings = load(args)
    if args.host:
        settings.server.host = args.host
    if args.port:
        settings.server.port = args.port
    workers = args.workers or settings.server.workers
    if workers > 1:
        client_options(settings.kafka, bootstrap(settings.kafka)[0])  # as build() does
        # Several processes need an import string; each re-reads the same configuration,
        # and finds there where the processes share their metrics (one scrape, all totals).
        shared, temporary = fresh_directory(settings.observability.metrics_dir)
        os.environ["HOOKLINE_OBSERVABILITY__METRICS_DIR"] = str(shared)
        if getattr(args, "config", None):
            # The workers load --config too, not whatever ./hookline.yaml they find.
            os.environ[CONFIG_ENV] = str(Path(args.config).resolve())
        try:
            uvicorn.run(
                "hookline.ingress.factory:app",
                factory=True,
                workers=workers,
                host=settings.server.host,
                port=settings.server.port,
                log_config=None,
                access_log=False,
                proxy_headers=False,
                http=PROTOCOL_PATH,
            )
        finally:
            if temporary:
                shutil.rmtree(shared, ignore_errors=True)
        return 0
    server = uvicorn.Server(uvicorn_config(settings, build(settings)))
    server.run()
    return 0 if server.started else 1
