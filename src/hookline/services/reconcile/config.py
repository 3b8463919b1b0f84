"""``services.reconcile`` in the configuration file (docs/reconcile.md#configuration)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hookline.config.models import HooklineSettings
from hookline.errors import ConfigError


class ProviderReconcile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    # Ask the provider once an entity has had no news for this long.
    after_seconds: float = Field(default=300.0, gt=0)
    # After an answer that changed nothing, ask again only this long after it (default:
    # ``after_seconds``): a booking open for weeks is asked once per this, not once per pass.
    recheck_seconds: float | None = Field(default=None, gt=0)
    # Still open this long after it started: a ``*.stale`` event, and no more asking.
    give_up_after_seconds: float = Field(default=172_800.0, gt=0)
    # The ingress source whose callbacks the reconciled events stand for (the event id
    # derives from it); default: the source configured for the provider, else its spec's.
    source: str | None = None


class ReconcileSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Seconds between passes in the ``reconcile`` worker; 0 turns the periodic pass off.
    interval_seconds: float = Field(default=60.0, ge=0)
    # Status calls at most this many at once per provider (on top of its limits).
    concurrency: int = Field(default=4, ge=1)
    # After a pass cut short by a 429 or an open breaker, the next waits this many
    # times longer, doubling up to the cap (a provider that pushes back is asked less).
    max_backoff_factor: int = Field(default=16, ge=1)
    providers: dict[str, ProviderReconcile] = Field(default_factory=dict)
    # Without ``redis_url``: the SQLite file of the open entities (worker/open_entities.py
    # reads it; default ``$XDG_STATE_HOME/hookline/{kafka.topic_prefix}/open-entities.sqlite3``).
    store_path: str | None = None

    def provider(self, name: str) -> ProviderReconcile:
        return self.providers.get(name) or ProviderReconcile()


def reconcile_settings(settings: HooklineSettings) -> ReconcileSettings:
    raw: Any = settings.services.get("reconcile", {})
    try:
        return ReconcileSettings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"services.reconcile is invalid: {exc}") from exc
