"""Build each configured platform's client on the shared HTTP stack, with providers.md §0.3 defaults.

A default applies only where the configuration leaves the field unset: client-side
rate limits (sliding window, per minute, with a minimum interval), the GET cache
TTLs (availability 30–60 s, searches 300 s, RIDB 3600 s). ``cache: {}`` turns caching off.
"""

from __future__ import annotations

from dataclasses import dataclass

from hookline.config.models import HooklineSettings, ProviderSettings
from hookline.http.client import ApiClient
from hookline.providers.opentable import client as opentable
from hookline.providers.recreation_gov import client as recreation_gov
from hookline.providers.shell_recharge import client as shell_recharge
from hookline.services.reservation.platforms import (
    OpenTablePlatform,
    Platform,
    RecreationGovPlatform,
    ShellPlatform,
)


@dataclass(frozen=True)
class Defaults:
    requests_per_minute: float
    min_interval_ms: int
    cache: dict[str, float]


DEFAULTS: dict[str, Defaults] = {
    "opentable": Defaults(60, 100, {"/restaurants": 300, "/restaurants/*/availability": 60}),
    "recreation_gov": Defaults(50, 200, {"/facilities": 3600, "/facilities/**": 3600,
                                         "**/availability/campground/*/month": 60}),
    "shell_recharge": Defaults(120, 100, {"/stations": 300, "/stations/*/availability": 30}),
}


def with_defaults(name: str, settings: ProviderSettings) -> ProviderSettings:
    """``settings`` with §0.3's client-side rate limits and GET cache TTLs where they are unset."""
    wanted = DEFAULTS[name]
    limits = settings.limits
    if "limits" not in settings.model_fields_set or (
        limits.requests_per_minute is None and limits.requests_per_second is None
    ):
        limits = limits.model_copy(update={
            "requests_per_minute": wanted.requests_per_minute,
            "min_interval_ms": limits.min_interval_ms or wanted.min_interval_ms,
        })
    cache = settings.cache if "cache" in settings.model_fields_set else dict(wanted.cache)
    return settings.model_copy(update={"limits": limits, "cache": cache})


def build_platforms(settings: HooklineSettings) -> tuple[dict[str, Platform], list[ApiClient]]:
    """A :class:`Platform` for every seed-004 provider under ``providers``, and the clients to close."""
    redis_url = settings.redis_url.get() if settings.redis_url is not None else None
    platforms: dict[str, Platform] = {}
    apis: list[ApiClient] = []
    for name, errors in (("opentable", opentable.ERRORS), ("recreation_gov", recreation_gov.ERRORS),
                         ("shell_recharge", shell_recharge.ERRORS)):
        configured = settings.providers.get(name)
        if configured is None:
            continue
        provider = with_defaults(name, configured)
        api = ApiClient(name, provider, errors=errors, redis_url=redis_url)
        apis.append(api)
        if name == "opentable":
            platforms[name] = OpenTablePlatform(opentable.OpenTableClient(api))
        elif name == "recreation_gov":
            platforms[name] = RecreationGovPlatform(recreation_gov.RecreationGovClient(api, provider))
        else:
            delay = (provider.model_extra or {}).get("connector_retry_seconds", shell_recharge.CONNECTOR_RETRY_SECONDS)
            platforms[name] = ShellPlatform(shell_recharge.ShellRechargeClient(api), retry_later=float(delay))
    return platforms, apis
