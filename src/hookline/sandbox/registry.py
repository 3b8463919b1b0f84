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

# The ingress source each provider's callbacks go to (providers.md §0.1).
DEFAULT_SOURCES: dict[str, str] = {
    "colt": "colt",
    "twilio": "sms-twilio",
    "every8d": "every8d-dlr",
    "mitake": "mitake-dlr",
    "opentable": "opentable",
    "recreation_gov": "recreation-gov",
    "shell_recharge": "shell-recharge",
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
    "opentable": lazy("hookline.providers.opentable.simulator:create_app"),
    "recreation_gov": lazy("hookline.providers.recreation_gov.simulator:create_app"),
    "shell_recharge": lazy("hookline.providers.shell_recharge.simulator:create_app"),
}


def callback_source(settings: HooklineSettings, key: str) -> str | None:
    """The ingress source that receives this provider's callbacks, if one is configured.

    ``providers.<key>.webhook_source`` when set, else the source named in
    providers.md §0.1, else the first source whose ``provider`` is ``key``.
    """
    provider = settings.providers.get(key)
    if provider is not None and provider.webhook_source:
        return provider.webhook_source
    default = DEFAULT_SOURCES.get(key)
    if default is not None and default in settings.sources:
        return default
    return next((name for name, src in settings.sources.items() if src.provider == key), None)


def simulator_settings(settings: HooklineSettings, key: str) -> SimulatorSettings:
    """``sandbox.providers.<key>`` (or defaults with the provider's default port), completed.

    Without a ``callback_secret`` the simulator signs with the first secret of
    the source that verifies its callbacks, so a configuration that lists the
    source once runs the loop; a source under another name than §0.1's also
    becomes the ``callback_url``.
    """
    sim = settings.sandbox.providers.get(key) or SimulatorSettings(port=DEFAULT_PORTS.get(key, 0))
    source = callback_source(settings, key)
    if source is None or source not in settings.sources:
        return sim
    update: dict[str, object] = {}
    secrets = getattr(settings.sources[source].verify, "secrets", None)
    if sim.callback_secret is None and secrets:
        update["callback_secret"] = secrets[0]
    if sim.callback_url is None and source != DEFAULT_SOURCES.get(key, source):
        update["callback_url"] = f"{settings.sandbox.ingress_url.rstrip('/')}/webhooks/{source}"
    return sim.model_copy(update=update) if update else sim
