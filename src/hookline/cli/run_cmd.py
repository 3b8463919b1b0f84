"""``hookline run``: everything on this machine, in one command."""

from __future__ import annotations

import argparse
import secrets
import shlex
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from hookline.bus.broker import EmbeddedBroker
from hookline.cli.common import ingress_url, load
from hookline.cli.process import Interrupted, StopSignals, UvicornComponent
from hookline.cli.sandbox_cmd import sandbox_components
from hookline.cli.serve_cmd import build, uvicorn_config
from hookline.cli.topics_cmd import ensure_topics
from hookline.cli.worker_cmd import run_components as worker_components
from hookline.config.models import HooklineSettings, bootstrap
from hookline.config.secrets import Secret
from hookline.errors import HooklineError
from hookline.observability.masking import SECRETS

# The parts beyond broker and ingress: (settings, args) → components.
ComponentFactory = Callable[[HooklineSettings, argparse.Namespace], list[Any]]
# Order matters: simulators before the workers that call them.
EXTRA_COMPONENTS: list[ComponentFactory] = [sandbox_components, worker_components]


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "run", help="run everything on this machine (broker, ingress, workers, sandbox)"
    )
    parser.add_argument(
        "--no-sandbox", action="store_true", help="do not start the provider simulators"
    )
    parser.set_defaults(func=run)


def _config_flag(args: argparse.Namespace) -> str:
    return f" --config {shlex.quote(args.config)}" if args.config else ""


def try_it(settings: HooklineSettings, args: argparse.Namespace) -> list[str]:
    """What to type next: the demo when the loop runs, and a webhook round trip."""
    flag = _config_flag(args)
    lines = []
    if not args.no_sandbox and {"colt", "sms"} <= set(worker_names()):
        lines.append(
            f"hookline{flag} demo          (a Colt order that completes and ends in an SMS)"
        )
    source = next(iter(settings.sources), None)
    if source is not None:
        lines.append(
            f"hookline{flag} send {source} && hookline{flag} tail --from-beginning --count 1"
        )
    return lines or ["add a source to the configuration to receive webhooks"]


def worker_names() -> list[str]:
    from hookline.worker.registry import WORKERS

    return sorted(WORKERS)


def console_login(settings: HooklineSettings) -> str:
    """The console's address: a login link with a token made up for this run when none is
    configured; a configured token is never printed (log in with it at the address)."""
    if settings.admin_token is not None:
        return f"{ingress_url(settings)}/console  (log in with the configured admin_token)"
    settings.admin_token = Secret(secrets.token_urlsafe(24))
    SECRETS.add([settings.admin_token.get()])
    query = urlencode({"token": settings.admin_token.get()})
    return f"{ingress_url(settings)}/console/login?{query}"


async def run(args: argparse.Namespace) -> int:
    settings = load(args)
    login = console_login(settings)
    servers, embedded = bootstrap(settings.kafka)
    signals = StopSignals()
    broker = EmbeddedBroker(port=settings.kafka.embedded_port).start() if embedded else None
    started: list[Any] = []
    try:
        errors = await signals.race(ensure_topics(settings))
        if errors:
            raise HooklineError("cannot create topics: " + "; ".join(errors))
        components: list[Any] = [
            UvicornComponent(
                "ingress", uvicorn_config(settings, build(settings)), "/webhooks/{source}"
            )
        ]
        for factory in EXTRA_COMPONENTS:
            components.extend(factory(settings, args))
        for component in components:
            await signals.race(component.start())
            started.append(component)
        rows = [("console", login)]
        rows += [("kafka", f"{servers}" + ("  (embedded, in memory)" if embedded else ""))]
        rows += [(c.name, c.where()) for c in started]
        width = max(len(name) for name, _ in rows)
        print("hookline is running:")
        for name, where in rows:
            print(f"  {name:<{width}}  {where}")
        first, *others = try_it(settings, args)
        print(f"\ntry it:  {first}")
        for other in others:
            print(f"   or:   {other}")
        print("Ctrl-C stops everything.", flush=True)
        await signals.wait()
        print("stopping…", file=sys.stderr, flush=True)
    except Interrupted:
        print("stopping (interrupted during start-up)…", file=sys.stderr, flush=True)
    finally:
        for component in reversed(started):
            await component.stop()
        if broker is not None:
            broker.stop()
    return 0
