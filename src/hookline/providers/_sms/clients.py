"""What every SMS provider client shares: its ApiClient, breaker and limiter views, and the config.

Each provider's ``client.py`` holds only its endpoint methods and error map;
this module builds the :class:`~hookline.http.client.ApiClient` for it and
answers the router's questions (breaker open? can the limiter admit soon?).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hookline.config.models import HooklineSettings, ProviderSettings
from hookline.config.secrets import Secret
from hookline.errors import ConfigError
from hookline.http.client import ApiClient
from hookline.http.errors import ErrorMap
from hookline.providers.base import with_defaults


def provider_settings(settings: HooklineSettings, name: str) -> ProviderSettings:
    try:
        return settings.providers[name]
    except KeyError as exc:
        raise ConfigError(f"providers.{name} is not configured") from exc


def extra(provider: ProviderSettings, key: str, default: Any = None) -> Any:
    return (provider.model_extra or {}).get(key, default)


def secret_extra(provider: ProviderSettings, name: str, key: str) -> Secret | None:
    """A provider-specific secret kept as an extra (``env:NAME``, ``file:/path`` or inline).

    Resolved now (a missing one stops start-up) and put back into the settings as a
    :class:`Secret`, so that the worker's watcher rotates a ``file:`` one with the rest.
    """
    value = extra(provider, key)
    if value is None:
        return None
    secret = value if isinstance(value, Secret) else Secret(str(value))
    secret.resolve()
    if provider.model_extra is not None:
        provider.model_extra[key] = secret
    return secret


# What every SMS gateway's client gets where the configuration is silent
# (docs/providers/sms.md): the breaker opens after 5 failures for 3 minutes.
SMS_CLIENT_DEFAULTS: dict[str, Any] = {"breaker": {"failure_threshold": 5, "recovery_seconds": 180}}


def api_client(
    settings: HooklineSettings,
    name: str,
    provider: ProviderSettings,
    errors: ErrorMap,
    defaults: Mapping[str, Any] | None = None,
) -> ApiClient:
    """The gateway's ApiClient: the family defaults, then the gateway's own (``defaults``), under
    whatever ``providers.<name>`` sets."""
    provider = with_defaults(with_defaults(provider, defaults or {}), SMS_CLIENT_DEFAULTS)
    # Breakers and rate windows shared through Redis are namespaced like the topics.
    return ApiClient(
        name,
        provider,
        errors=errors,
        redis_url=settings.redis_url,
        redis_prefix=settings.kafka.topic_prefix,
    )


def webhook_url(
    settings: HooklineSettings, provider: ProviderSettings, default_source: str
) -> str | None:
    """``{server.public_base_url}/webhooks/{source}``, or None without a public base URL."""
    base = settings.server.public_base_url
    if not base:
        return None
    return f"{base.rstrip('/')}/webhooks/{provider.webhook_source or default_source}"
