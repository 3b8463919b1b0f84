"""Every provider simulator, one line each (providers.md §0.1).

A factory takes the whole settings tree and the simulator's own settings and
returns the ASGI app. Entries are :func:`lazy` import strings so that listing
the simulators imports no provider code.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import cast

from starlette.types import ASGIApp

from hookline.config.models import HooklineSettings, SimulatorSettings

SimulatorFactory = Callable[[HooklineSettings, SimulatorSettings], ASGIApp]

# Default ports when sandbox.providers.<key> is absent (providers.md §0.1).
DEFAULT_PORTS: dict[str, int] = {
    "colt": 8101,
    "twilio": 8102,
    "every8d": 8103,
    "mitake": 8104,
    "opentable": 8105,
    "recreation_gov": 8106,
    "shell_recharge": 8107,
}


def lazy(target: str) -> SimulatorFactory:
    """``"package.module:function"`` → a factory that imports it on first call."""
    module_name, _, attr = target.partition(":")

    def factory(settings: HooklineSettings, sim: SimulatorSettings) -> ASGIApp:
        function = getattr(import_module(module_name), attr)
        return cast(ASGIApp, function(settings, sim))

    factory.__qualname__ = f"lazy({target})"
    return factory


# provider key → simulator factory. One line per provider.
SIMULATORS: dict[str, SimulatorFactory] = {
    "colt": lazy("hookline.providers.colt.simulator:create_app"),
    "twilio": lazy("hookline.providers.twilio.simulator:create_app"),
    "every8d": lazy("hookline.providers.every8d.simulator:create_app"),
    "mitake": lazy("hookline.providers.mitake.simulator:create_app"),
}


def simulator_settings(settings: HooklineSettings, key: str) -> SimulatorSettings:
    """``sandbox.providers.<key>``, or the defaults with the provider's default port."""
    configured = settings.sandbox.providers.get(key)
    if configured is not None:
        return configured
    return SimulatorSettings(port=DEFAULT_PORTS.get(key, 0))
