"""Breakers and sources for the operator (``/admin/breakers``, ``/admin/sources``, the console, the CLI)."""

from __future__ import annotations

from typing import Any

from hookline.config.models import HooklineSettings
from hookline.config.secrets import Secret
from hookline.http.breaker import Snapshot
from hookline.http.registry import BreakerRegistry
from hookline.providers.registry import PROVIDERS

HIDDEN = "inline value (hidden)"


def _redis(settings: HooklineSettings) -> str | None:
    return settings.redis_url.get() if settings.redis_url is not None else None


async def breakers(settings: HooklineSettings, registry: BreakerRegistry) -> list[Snapshot]:
    """Every breaker this process knows, and configured providers' shared ones with Redis."""
    return await registry.snapshots(settings.providers, _redis(settings))


async def reset_breaker(
    settings: HooklineSettings, registry: BreakerRegistry, name: str
) -> Snapshot | None:
    """Close one breaker; None when no breaker of that name is known."""
    return await registry.reset(name, settings.providers, _redis(settings))


def shown_secret(secret: Secret) -> str:
    """A reference (``env:NAME``, ``file:/path``) names where the value is; a value never shows."""
    return secret.ref if secret.is_reference else HIDDEN


def sources(settings: HooklineSettings) -> dict[str, dict[str, Any]]:
    """Each source's configuration as it may be shown: secrets by reference or hidden."""
    prefix = settings.kafka.topic_prefix
    shown: dict[str, dict[str, Any]] = {}
    for name, source in sorted(settings.sources.items()):
        verify = source.verify.model_dump(mode="json", exclude={"secrets"})
        secrets: list[Secret] = getattr(source.verify, "secrets", [])
        verify["secrets"] = [shown_secret(s) for s in secrets]
        spec = PROVIDERS.get(source.provider)
        domain = spec.adapter.domain if spec is not None else None
        shown[name] = {
            "provider": source.provider,
            "scheme": source.verify.scheme,
            "verify": verify,
            "allow_ips": [str(net) for net in source.allow_ips],
            "dedup": source.dedup,
            "topic": f"{prefix}.events.{domain or name}",
            "url": f"/webhooks/{name}",
        }
    return shown
