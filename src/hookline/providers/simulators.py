"""The sandbox simulators of every registered provider: factory, default port, callback source.

Read from each provider's spec (:mod:`hookline.providers.registry`); a factory takes
the whole settings tree and the simulator's own settings and returns the ASGI app,
imported only when the simulator starts.
"""

from __future__ import annotations

from hookline.config.models import HooklineSettings, SimulatorSettings
from hookline.providers.base import SimulatorFactory
from hookline.providers.registry import PROVIDERS

__all__ = [
    "DEFAULT_PORTS",
    "DEFAULT_SOURCES",
    "SIMULATORS",
    "SimulatorFactory",
    "callback_source",
    "simulator_settings",
]

# provider key → simulator factory, default port and callback source, from each spec.
SIMULATORS: dict[str, SimulatorFactory] = {
    name: spec.simulator for name, spec in PROVIDERS.items() if spec.simulator is not None
}
DEFAULT_PORTS: dict[str, int] = {
    name: spec.simulator_port for name, spec in PROVIDERS.items() if spec.simulator_port is not None
}
DEFAULT_SOURCES: dict[str, str] = {
    name: spec.callback_source for name, spec in PROVIDERS.items() if spec.callback_source
}


def callback_source(settings: HooklineSettings, key: str) -> str | None:
    """The ingress source that receives this provider's callbacks, if one is configured.

    ``providers.<key>.webhook_source`` when set, else the source named in
    docs/providers/simulators.md#ports-and-callback-sources, else the first source whose ``provider`` is ``key``.
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
    source once runs the loop; a source under another name than docs/providers/simulators.md#ports-and-callback-sources's also
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
