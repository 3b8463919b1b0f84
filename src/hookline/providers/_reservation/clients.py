"""Build a reservation platform's API client on the shared HTTP stack, with its documented defaults.

A default applies only where the configuration leaves the field unset:
client-side rate limits (sliding window, per minute, with a minimum interval)
and the GET cache TTLs (availability 30–60 s, searches 300 s, RIDB 3600 s); see
``docs/providers/README.md``. ``cache: {}`` turns caching off. Each platform's
``client.py`` declares its :class:`Defaults` as ``CLIENT_DEFAULTS``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hookline.config.models import HooklineSettings, ProviderSettings
from hookline.errors import ConfigError
from hookline.http.client import ApiClient
from hookline.http.errors import ErrorMap

__all__ = ["Defaults", "reservation_api", "with_defaults"]


@dataclass(frozen=True)
class Defaults:
    requests_per_minute: float
    min_interval_ms: int
    cache: dict[str, float]


def with_defaults(wanted: Defaults, settings: ProviderSettings) -> ProviderSettings:
    """``settings`` with the platform's client-side rate limits and GET cache TTLs where unset."""
    limits = settings.limits
    if "limits" not in settings.model_fields_set or (
        limits.requests_per_minute is None and limits.requests_per_second is None
    ):
        limits = limits.model_copy(
            update={
                "requests_per_minute": wanted.requests_per_minute,
                "min_interval_ms": limits.min_interval_ms or wanted.min_interval_ms,
            }
        )
    cache = settings.cache if "cache" in settings.model_fields_set else dict(wanted.cache)
    return settings.model_copy(update={"limits": limits, "cache": cache})


def reservation_api(
    settings: HooklineSettings, name: str, errors: ErrorMap, defaults: Defaults
) -> tuple[ApiClient, ProviderSettings]:
    """The :class:`ApiClient` for ``providers.<name>`` and the settings it was built from."""
    configured = settings.providers.get(name)
    if configured is None:
        raise ConfigError(f"providers.{name} is not configured")
    provider = with_defaults(defaults, configured)
    return ApiClient(name, provider, errors=errors, redis_url=settings.redis_url), provider
