"""One simulator under uvicorn and its real client on the HTTP stack, without Kafka: for contract tests.

The simulator requires OAuth2 bearer tokens / API keys and signed requests
exactly as in the full loop; callbacks are off (no ``callback_secret``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from hookline.bus.broker import free_port
from hookline.config.models import HooklineSettings, ProviderSettings
from hookline.http.client import ApiClient
from hookline.providers._reservation.clients import with_defaults
from hookline.providers.opentable import client as opentable
from hookline.providers.recreation_gov import client as recreation_gov
from hookline.providers.shell_recharge import client as shell_recharge
from hookline.providers.simulators import SIMULATORS
from tests.services.reservation.loop import PLATFORMS, raw_settings
from tests.support.servers import serve

CLIENTS = {
    "opentable": opentable,
    "recreation_gov": recreation_gov,
    "shell_recharge": shell_recharge,
}
ERRORS = {name: module.ERRORS for name, module in CLIENTS.items()}


@dataclass
class Direct:
    platform: str
    url: str
    provider: ProviderSettings
    api: ApiClient
    client: Any
    http: httpx.AsyncClient

    async def state(self) -> dict[str, Any]:
        body: dict[str, Any] = (await self.http.get(f"{self.url}/_sim/state")).json()
        return body

    async def fault(self, **spec: Any) -> None:
        (await self.http.post(f"{self.url}/_sim/faults", json=spec)).raise_for_status()


def _client(platform: str, api: ApiClient, provider: ProviderSettings) -> Any:
    if platform == "opentable":
        return opentable.OpenTableClient(api)
    if platform == "recreation_gov":
        return recreation_gov.RecreationGovClient(api, provider)
    return shell_recharge.ShellRechargeClient(api)


@contextlib.asynccontextmanager
async def direct(
    platform: str,
    *,
    provider_overrides: dict[str, Any] | None = None,
    sim_overrides: dict[str, Any] | None = None,
) -> AsyncIterator[Direct]:
    """Serve ``platform``'s simulator and yield its client (``provider_overrides`` change the client's settings)."""
    ports = {name: free_port() for name in ("ingress", *PLATFORMS)}
    raw = raw_settings("127.0.0.1:1", ports, redis_url=None)
    sim_raw = {
        k: v for k, v in raw["sandbox"]["providers"][platform].items() if k != "callback_secret"
    }
    raw["sandbox"]["providers"][platform] = {**sim_raw, **(sim_overrides or {})}
    provider_raw = raw["providers"][platform]
    for key, value in (provider_overrides or {}).items():
        provider_raw[key] = (
            {**provider_raw[key], **value}
            if isinstance(value, dict) and key in provider_raw
            else value
        )
    settings = HooklineSettings.model_validate(raw)
    app = SIMULATORS[platform](settings, settings.sandbox.providers[platform])
    provider = with_defaults(CLIENTS[platform].CLIENT_DEFAULTS, settings.providers[platform])
    async with serve(app, port=ports[platform]) as url:
        api = ApiClient(platform, provider, errors=ERRORS[platform])
        async with httpx.AsyncClient(timeout=5) as http:
            try:
                yield Direct(platform, url, provider, api, _client(platform, api, provider), http)
            finally:
                await api.aclose()
