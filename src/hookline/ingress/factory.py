"""Import-string entry point for multi-process uvicorn (``hookline serve --workers N``)."""

from __future__ import annotations

from pathlib import Path

from hookline.config.check import prepare
from hookline.config.loader import load_settings
from hookline.config.models import bootstrap
from hookline.ingress.app import create_app
from hookline.ingress.edge import IngressApp
from hookline.observability.logging import configure_logging
from hookline.observability.loop_metrics import share
from hookline.observability.tracing import configure_tracing
from hookline.providers.registry import names


def app() -> IngressApp:
    settings = prepare(load_settings(), names())
    configure_logging(settings.observability.log_level, settings.observability.log_format)
    # Each server process exports its own spans (a provider is not shared across fork).
    configure_tracing("hookline-serve")
    if settings.observability.metrics_dir:
        share(Path(settings.observability.metrics_dir))
    servers, embedded = bootstrap(settings.kafka)
    return create_app(settings, bootstrap_servers=servers, embedded=embedded)
