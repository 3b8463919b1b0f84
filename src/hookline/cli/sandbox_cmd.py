"""``hookline sandbox``: every registered provider simulator, in this process.

:func:`sandbox_components` is also what ``hookline run`` starts unless
``--no-sandbox`` is given.
"""

from __future__ import annotations

import argparse
import socket
import sys
from typing import Any

import uvicorn

from hookline.cli.common import ingress_url, load
from hookline.cli.process import Interrupted, StopSignals, UvicornComponent
from hookline.config.models import HooklineSettings
from hookline.errors import ConfigError, HooklineError
from hookline.providers.simulators import SIMULATORS, simulator_settings


def register(sub: Any) -> None:
    parser = sub.add_parser("sandbox", help="run the provider simulators")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="PROVIDER",
        help="start only these simulators (default: all registered)",
    )
    parser.add_argument("--host", help="bind address (default: sandbox.host)")
    parser.set_defaults(func=run)


class SimulatorComponent(UvicornComponent):
    """A simulator under uvicorn; reports the port it really bound (port 0 picks a free one)."""

    def where(self) -> str:
        servers = getattr(self.server, "servers", [])
        for server in servers:
            for sock in server.sockets:
                host, port = sock.getsockname()[:2]
                return f"http://{host}:{port}"
        return super().where()


def _check_port_free(name: str, host: str, port: int) -> None:
    if port == 0:
        return
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise HooklineError(
                f"cannot start the {name} simulator: {host}:{port} is in use "
                f"(set sandbox.providers.{name}.port)"
            ) from exc


def selected(settings: HooklineSettings, only: list[str] | None) -> list[str]:
    if not only:
        return list(SIMULATORS)
    unknown = sorted(set(only) - set(SIMULATORS))
    if unknown:
        known = ", ".join(sorted(SIMULATORS)) or "none"
        raise ConfigError(f"no simulator for {', '.join(unknown)} (registered: {known})")
    return [key for key in SIMULATORS if key in only]


def with_ingress_url(settings: HooklineSettings) -> HooklineSettings:
    """Callbacks follow ``server.host``/``server.port`` unless ``sandbox.ingress_url`` is set."""
    if "ingress_url" in settings.sandbox.model_fields_set:
        return settings
    sandbox = settings.sandbox.model_copy(update={"ingress_url": ingress_url(settings)})
    return settings.model_copy(update={"sandbox": sandbox})


def build_components(
    settings: HooklineSettings,
    only: list[str] | None = None,
    host: str | None = None,
    *,
    skip_unconfigured: bool = False,
) -> list[SimulatorComponent]:
    """One uvicorn server per simulator, not started yet.

    With ``skip_unconfigured`` a simulator whose configuration is incomplete
    (e.g. no callback secret and no source to take it from) is left out with
    a warning on stderr instead of stopping everything.
    """
    host = host or settings.sandbox.host
    settings = with_ingress_url(settings)
    components: list[SimulatorComponent] = []
    for key in selected(settings, only):
        sim_settings = simulator_settings(settings, key)
        _check_port_free(key, host, sim_settings.port)
        try:
            app = SIMULATORS[key](settings, sim_settings)
        except ConfigError as exc:
            if not skip_unconfigured:
                raise ConfigError(f"cannot start the {key} simulator: {exc}") from exc
            print(f"hookline: {key} simulator not started: {exc}", file=sys.stderr)
            continue
        config = uvicorn.Config(
            app,
            host=host,
            port=sim_settings.port,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
        components.append(SimulatorComponent(f"sim {key}", config))
    return components


def sandbox_components(settings: HooklineSettings, args: argparse.Namespace) -> list[Any]:
    """The simulators as parts of ``hookline run`` (none with ``--no-sandbox``)."""
    if getattr(args, "no_sandbox", False):
        return []
    return list(build_components(settings, skip_unconfigured=True))


async def run(args: argparse.Namespace) -> int:
    settings = load(args)
    components = build_components(settings, args.only, args.host)
    if not components:
        print("hookline: no simulators are registered", file=sys.stderr)
        return 1
    signals = StopSignals()
    started: list[SimulatorComponent] = []
    try:
        for component in components:
            await signals.race(component.start())
            started.append(component)
        width = max(len(c.name) for c in started)
        print("hookline sandbox is running:")
        for component in started:
            print(f"  {component.name:<{width}}  {component.where()}")
        print(f"\ncallbacks go to {settings.sandbox.ingress_url}/webhooks/<source>")
        print("admin API: <simulator>/_sim/state, /_sim/faults, /_sim/reset, /_sim/emit")
        print("Ctrl-C stops everything.", flush=True)
        await signals.wait()
        print("stopping…", file=sys.stderr, flush=True)
    except Interrupted:
        print("stopping (interrupted during start-up)…", file=sys.stderr, flush=True)
    finally:
        for component in reversed(started):
            await component.stop()
    return 0
