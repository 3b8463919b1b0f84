"""``services.sms`` in the configuration file (docs/sms.md#configuration)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hookline.config.loader import Problem
from hookline.config.models import HooklineSettings
from hookline.errors import ConfigError
from hookline.messages.sms import ProviderName
from hookline.services.sms.templates import MessageTemplate


def _names(*names: ProviderName) -> list[ProviderName]:
    return list(names)


class SmsSettings(BaseModel):
    """Routing, failover and cost of the SMS service."""

    model_config = ConfigDict(extra="forbid")

    priority: list[ProviderName] = Field(
        default_factory=lambda: _names("every8d", "mitake", "twilio"), min_length=1
    )
    # Providers that only take +886 numbers; other countries use the rest of the list.
    taiwan_only: list[ProviderName] = Field(default_factory=lambda: _names("every8d", "mitake"))
    # Cost of one segment per provider (exported as hookline_sms_cost_total).
    cost_per_segment: dict[ProviderName, float] = Field(default_factory=dict)
    currency: str = "TWD"
    # A provider whose success rate over this window is below the threshold moves to the end.
    success_window_seconds: float = Field(default=900.0, gt=0)
    success_threshold: float = Field(default=0.8, ge=0, le=1)
    # Below this many outcomes in the window the rate is not trusted yet.
    success_min_samples: int = Field(default=10, ge=1)
    # A provider whose limiter cannot admit a call within this time is skipped.
    admit_within_seconds: float = Field(default=1.0, ge=0)
    # How long the message state (attempts, current provider) is kept.
    state_ttl_seconds: int = Field(default=7 * 86_400, ge=60)
    # How long a delivery report waits for the send that produced it to be recorded.
    report_wait_seconds: float = Field(default=2.0, gt=0)
    # Each provider's health check (Twilio account, Every8d credit, Mitake query) runs
    # this often; a provider that fails it moves to the end of the route. 0 turns it off.
    health_interval_seconds: float = Field(default=300.0, ge=0)
    # Message templates with A/B variants an sms.send may name instead of a body.
    templates: dict[str, MessageTemplate] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique(self) -> SmsSettings:
        if len(set(self.priority)) != len(self.priority):
            raise ValueError("services.sms.priority lists a provider twice")
        return self


def sms_settings(settings: HooklineSettings) -> SmsSettings:
    raw: Any = settings.services.get("sms", {})
    try:
        return SmsSettings.model_validate(raw or {})
    except ValueError as exc:
        raise ConfigError(f"services.sms is invalid: {exc}") from exc


def settings_problems(settings: HooklineSettings) -> list[Problem]:
    """``hookline config check``: each problem in ``services.sms`` with its path (templates too)."""
    if "sms" not in settings.services:
        return []
    try:
        SmsSettings.model_validate(settings.services["sms"] or {})
    except ValidationError as exc:
        return [
            Problem(".".join(["services", "sms", *(str(p) for p in error["loc"])]), error["msg"])
            for error in exc.errors()
        ]
    return []
