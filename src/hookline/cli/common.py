"""What most commands share: settings loading and start-up preparation."""

from __future__ import annotations

import argparse
import logging as stdlib_logging

from hookline.config.check import prepare
from hookline.config.loader import dev_config, load_settings
from hookline.config.models import HooklineSettings
from hookline.config.secrets import iter_secrets
from hookline.observability.logging import configure_logging
from hookline.observability.masking import SECRETS
from hookline.observability.tracing import configure_tracing
from hookline.providers.registry import names as provider_names

DEV_COMMANDS = frozenset(
    {
        "run",
        "send",
        "sign",
        "tail",
        "demo",
        "sandbox",
        "dlq",
        "events",
        "rejected",
        "breakers",
        "trace",
    }
)


def load(args: argparse.Namespace, *, logging: bool = True) -> HooklineSettings:
    """Load, validate and resolve the configuration; raises ConfigProblems."""
    # The one-machine commands fall back to the shipped development configuration;
    # serve, worker and the rest never do (production must say what it runs).
    fallback = dev_config() if getattr(args, "command", None) in DEV_COMMANDS else None
    settings = load_settings(getattr(args, "config", None), fallback=fallback)
    prepare(settings, provider_names())
    SECRETS.add(secret.get() for _, secret in iter_secrets(settings))
    if logging:
        configure_logging(settings.observability.log_level, settings.observability.log_format)
        # Long-running commands trace when the OTEL_* variables say so (off by default).
        configure_tracing(f"hookline-{getattr(args, 'command', None) or 'cli'}")
    else:
        # Tools speak for themselves in one line; library chatter would bury it.
        configure_logging("error", settings.observability.log_format)
        stdlib_logging.getLogger("aiokafka").setLevel(stdlib_logging.CRITICAL)
    return settings


def ingress_url(settings: HooklineSettings) -> str:
    host = settings.server.host
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{host}:{settings.server.port}"
