"""Client defaults are the providers' documented ones, read from a configuration that says nothing."""

from __future__ import annotations

from typing import Any

import pytest

from hookline.config.models import HooklineSettings
from hookline.http.client import ApiClient
from hookline.providers.registry import PROVIDERS

MINIMAL: dict[str, dict[str, Any]] = {
    "colt": {"base_url": "http://127.0.0.1:9/ebonding/v5"},
    "twilio": {
        "base_url": "http://127.0.0.1:9",
        "auth": {"type": "basic", "username": "AC1", "password": "p"},
    },
    "every8d": {
        "base_url": "http://127.0.0.1:9",
        "auth": {"type": "form_credentials", "username": "u", "password": "p"},
    },
    "mitake": {
        "base_url": "http://127.0.0.1:9",
        "auth": {"type": "form_credentials", "username": "u", "password": "p"},
    },
}
COLT_GUIDE_MS = {0: 5_000, 429: 60_000, 502: 10_000, 503: 30_000, 504: 10_000}


async def _api(name: str, **overrides: Any) -> tuple[ApiClient, Any]:
    settings = HooklineSettings.model_validate(
        {"providers": {name: {**MINIMAL[name], **overrides}}}
    )
    port = PROVIDERS[name].client(settings)  # type: ignore[misc]
    api = port.api if isinstance(getattr(port, "api", None), ApiClient) else port.client.api
    return api, port


async def test_colt_defaults_are_the_guides() -> None:
    """Colt: 30 s timeout, the guide's retry table, breaker 5 failures / 60 s."""
    api, port = await _api("colt")
    try:
        assert api.settings.timeout_seconds == 30.0
        assert api.settings.retry.status_delays_ms == COLT_GUIDE_MS
        assert (api.settings.breaker.failure_threshold, api.settings.breaker.recovery_seconds) == (
            5,
            60,
        )
    finally:
        await port.aclose()


@pytest.mark.parametrize("name", ["twilio", "every8d", "mitake"])
async def test_sms_breaker_recovers_after_three_minutes(name: str) -> None:
    """Every SMS gateway: the breaker opens after 5 failures for 3 minutes."""
    api, port = await _api(name)
    try:
        assert (api.settings.breaker.failure_threshold, api.settings.breaker.recovery_seconds) == (
            5,
            180,
        )
    finally:
        await port.aclose()


async def test_mitake_keeps_to_its_concurrency_limit() -> None:
    """Mitake: at most 15 requests in flight per account unless configured otherwise."""
    api, port = await _api("mitake")
    try:
        assert api.settings.limits.max_concurrency == 15
    finally:
        await port.aclose()


async def test_configured_values_win_field_by_field() -> None:
    """A configured field wins; the section's other fields keep the documented default."""
    api, port = await _api(
        "colt",
        timeout_seconds=12,
        breaker={"failure_threshold": 3},
        retry={"status_delays_ms": {503: 1000}},
    )
    try:
        assert api.settings.timeout_seconds == 12
        assert api.settings.breaker.failure_threshold == 3
        assert api.settings.breaker.recovery_seconds == 60
        assert api.settings.retry.status_delays_ms == {503: 1000}
    finally:
        await port.aclose()
    api, port = await _api("twilio", breaker={"recovery_seconds": 30})
    try:
        assert (api.settings.breaker.failure_threshold, api.settings.breaker.recovery_seconds) == (
            5,
            30,
        )
    finally:
        await port.aclose()
