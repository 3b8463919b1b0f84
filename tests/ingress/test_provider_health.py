"""Per-provider health probes against the real simulators, through a real ingress.

Every provider with a client is configured as the shipped development
configuration has it, pointed at its simulator on a free port under uvicorn.
Faults come from each simulator's own ``POST /_sim/faults``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import yaml

from hookline.bus.broker import EmbeddedBroker, free_port
from hookline.config.loader import dev_config
from hookline.config.models import HooklineSettings
from hookline.observability.metrics import REGISTRY
from hookline.providers.health import Probe, ProviderProbes
from hookline.providers.registry import PROVIDERS
from hookline.providers.simulators import simulator_settings
from tests.support.ingress import running_ingress, settings_for
from tests.support.servers import serve

TOKEN = "admin-token-for-provider-health"
PROBED = sorted(n for n, s in PROVIDERS.items() if s.client is not None and s.simulator is not None)
# Where each provider's probe lands at its simulator (fault paths, simulator side).
PROBE_PATHS = {
    "colt": "/ebonding/v5/services/*",
    "twilio": "/2010-04-01/Accounts/*.json",
    "every8d": "/API21/HTTP/getCredit.ashx",
    "mitake": "/api/mtk/SmQuery",
    "opentable": "/v2/restaurants",
    "recreation_gov": "/api/v1/facilities",
    "shell_recharge": "/v2/stations",
}
FAST = {
    "interval_seconds": 0.2,
    "timeout_seconds": 5,
}


def test_every_probed_provider_has_a_fault_path_here() -> None:
    """A provider that gains a client and a simulator is swept by these tests too."""
    assert sorted(PROBE_PATHS) == PROBED


def _dev_with_ports(ports: dict[str, int]) -> dict[str, Any]:
    """The development configuration with every simulator moved to the given port."""
    text = dev_config().read_text()
    for name, port in ports.items():
        default = PROVIDERS[name].simulator_port
        text = re.sub(rf"127\.0\.0\.1:{default}\b", f"127.0.0.1:{port}", text)
        text = re.sub(rf"port: {default}\b", f"port: {port}", text)
    data: dict[str, Any] = yaml.safe_load(text)
    return data


@dataclass
class Sims:
    urls: dict[str, str]
    dev: dict[str, Any]

    def providers(self, **health: dict[str, Any]) -> dict[str, Any]:
        """``providers`` of the development configuration, probed fast; breakers recover
        quickly, so a cleared fault shows within the test."""
        out = {}
        for name in PROBED:
            config = dict(self.dev["providers"][name])
            config["health"] = {**FAST, **health.get(name, {})}
            config["breaker"] = {"failure_threshold": 5, "recovery_seconds": 0.5}
            config["retry"] = {"max_attempts": 2, "base_delay_ms": 10}
            out[name] = config
        return out

    async def fault(self, name: str, **spec: Any) -> Callable[[], Awaitable[None]]:
        """Register a fault on ``name``'s probe path until the returned clear() is awaited."""
        async with httpx.AsyncClient(base_url=self.urls[name], timeout=10) as http:
            added = await http.post(
                "/_sim/faults", json={"path": PROBE_PATHS[name], "count": 0, **spec}
            )
            assert added.status_code in (200, 201), added.text
            fault_id = added.json()["id"]

        async def clear() -> None:
            async with httpx.AsyncClient(base_url=self.urls[name], timeout=10) as http:
                assert (await http.delete(f"/_sim/faults/{fault_id}")).status_code in (200, 204)

        return clear


@pytest.fixture(scope="module")
async def sims() -> AsyncIterator[Sims]:
    ports = {name: free_port() for name in PROBED}
    dev = _dev_with_ports(ports)
    settings = HooklineSettings.model_validate(
        {k: dev[k] for k in ("sources", "providers", "sandbox")}
    )
    async with contextlib.AsyncExitStack() as stack:
        urls = {}
        for name in PROBED:
            spec = PROVIDERS[name]
            assert spec.simulator is not None
            app = spec.simulator(settings, simulator_settings(settings, name))
            urls[name] = await stack.enter_async_context(serve(app, port=ports[name]))
        yield Sims(urls, dev)


def _settings(broker: EmbeddedBroker, sims: Sims, **health: dict[str, Any]) -> HooklineSettings:
    return settings_for(
        broker.bootstrap_servers, admin_token=TOKEN, providers=sims.providers(**health)
    )


async def _until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never: {what}")


def _up(name: str) -> float | None:
    return REGISTRY.get_sample_value("hookline_provider_up", {"provider": name})


@pytest.mark.parametrize("name", PROBED)
async def test_probe_passes_against_the_simulator(
    name: str, sims: Sims, broker: EmbeddedBroker
) -> None:
    """Token and the cheapest authenticated read pass: up, a latency, no error, gauge 1."""
    probes = ProviderProbes.from_settings(_settings(broker, sims))
    try:
        status = await probes.probes[name].check()
        assert status.up is True, status.error
        assert status.error is None
        assert status.latency_seconds is not None and status.latency_seconds > 0
        assert _up(name) == 1.0
    finally:
        await probes.stop()


@pytest.mark.parametrize("name", PROBED)
@pytest.mark.parametrize("status", [503, 401])
async def test_a_fault_on_the_probe_path_turns_the_provider_down(
    name: str, status: int, sims: Sims, broker: EmbeddedBroker
) -> None:
    """A 503 or 401 answered to the probe's call: down, gauge 0, the error kept; cleared: up."""
    probes = ProviderProbes.from_settings(_settings(broker, sims))
    probe = probes.probes[name]
    try:
        assert (await probe.check()).up is True
        clear = await sims.fault(name, status=status)
        try:
            result = await probe.check()
            assert result.up is False
            assert _up(name) == 0.0
            assert result.error and str(status) in result.error, result.error
        finally:
            await clear()
        await _until(lambda: _passes(probe), f"{name} up again after the fault cleared")
        assert _up(name) == 1.0
    finally:
        await probes.stop()


async def _passes(probe: Probe) -> bool:
    return (await probe.check()).up is True


async def test_ingress_serves_provider_health_and_readyz_follows_required_providers(
    sims: Sims, broker: EmbeddedBroker
) -> None:
    """/admin/providers lists every probe; a required provider's fault fails /readyz until cleared."""
    settings = _settings(broker, sims, colt={"required_for_ready": True})
    admin = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        running_ingress(settings) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as http,
    ):

        async def all_up() -> bool:
            listed = (await http.get("/admin/providers", headers=admin)).json()["providers"]
            return {p["provider"]: p["up"] for p in listed} == dict.fromkeys(PROBED, True)

        await _until(all_up, "every provider up at the ingress")
        assert (await http.get("/readyz")).status_code == 200
        assert (await http.get("/health/integration/colt")).status_code == 200

        clear = await sims.fault("colt", status=503)
        try:

            async def colt_down() -> bool:
                return (await http.get("/readyz")).status_code == 503

            await _until(colt_down, "/readyz 503 while colt's probe fails")
            ready = (await http.get("/readyz")).json()
            assert ready["providers_down"] == ["colt"] and ready["kafka"] == "ok"
            listed = (await http.get("/admin/providers", headers=admin)).json()["providers"]
            colt = next(p for p in listed if p["provider"] == "colt")
            assert colt["up"] is False and colt["state"] == "down"
            assert colt["error"] and colt["checked_at"] and colt["latency_seconds"] is not None
            integration = await http.get("/health/integration/colt")
            assert integration.status_code == 503
            assert integration.json()["status"] == "unhealthy"
            metrics = (await http.get("/metrics")).text
            assert re.search(r'^hookline_provider_up\{provider="colt"\} 0\.0$', metrics, re.M)
            assert 'hookline_provider_probe_seconds{provider="colt"}' in metrics
        finally:
            await clear()

        async def ready_again() -> bool:
            return (await http.get("/readyz")).status_code == 200

        await _until(ready_again, "/readyz 200 once colt's probe passes again")
        metrics = (await http.get("/metrics")).text
        assert re.search(r'^hookline_provider_up\{provider="colt"\} 1\.0$', metrics, re.M)


async def test_a_provider_not_required_for_ready_never_fails_readyz(
    sims: Sims, broker: EmbeddedBroker
) -> None:
    """Without required_for_ready a down provider shows at /admin/providers, not in /readyz."""
    settings = _settings(broker, sims)
    admin = {"Authorization": f"Bearer {TOKEN}"}
    clear = await sims.fault("twilio", status=503)
    try:
        async with (
            running_ingress(settings) as url,
            httpx.AsyncClient(base_url=url, timeout=10) as http,
        ):

            async def twilio_down() -> bool:
                listed = (await http.get("/admin/providers", headers=admin)).json()["providers"]
                return any(p["provider"] == "twilio" and p["up"] is False for p in listed)

            await _until(twilio_down, "twilio down at /admin/providers")
            assert (await http.get("/readyz")).status_code == 200
            assert (await http.get("/health/integration/twilio")).status_code == 503
    finally:
        await clear()


async def test_admin_providers_needs_the_token_and_unknown_integrations_are_404(
    sims: Sims, broker: EmbeddedBroker
) -> None:
    """No token: 401 problem; an integration nobody probes: 404 problem."""
    settings = _settings(broker, sims)
    async with (
        running_ingress(settings) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as http,
    ):
        refused = await http.get("/admin/providers")
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/problem+json")
        missing = await http.get("/health/integration/github")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")


async def test_a_disabled_probe_is_not_run(sims: Sims, broker: EmbeddedBroker) -> None:
    """health.enabled false: no probe for that provider."""
    settings = _settings(broker, sims, mitake={"enabled": False})
    probes = ProviderProbes.from_settings(settings)
    assert "mitake" not in probes.probes and "twilio" in probes.probes


async def test_a_probe_error_never_shows_the_providers_secret() -> None:
    """The error kept for /admin/providers has the provider's secret values masked."""
    secret = "sk-very-secret-value-0123"
    settings = HooklineSettings.model_validate(
        {
            "providers": {
                "twilio": {
                    "base_url": "http://127.0.0.1:9",
                    "auth": {"type": "basic", "username": "AC1", "password": secret},
                }
            }
        }
    )

    def build(_: HooklineSettings) -> Any:
        raise RuntimeError(f"cannot log in with password {secret}")

    specs = {"twilio": dataclasses.replace(PROVIDERS["twilio"], client=build)}
    probe = ProviderProbes.from_settings(settings, specs).probes["twilio"]
    status = await probe.check()
    assert status.up is False and status.error is not None
    assert secret not in status.error and "***" in status.error


async def test_a_configured_health_path_replaces_the_providers_own_read(
    sims: Sims, broker: EmbeddedBroker
) -> None:
    """health.path: the probe GETs that path instead, and only a 2xx passes (a 404 here)."""
    settings = _settings(broker, sims, recreation_gov={"path": "/facilities/no-such-facility"})
    probes = ProviderProbes.from_settings(settings)
    try:
        status = await probes.probes["recreation_gov"].check()
        assert status.up is False
        assert status.error is not None and "404" in status.error
    finally:
        await probes.stop()


async def test_a_probe_slower_than_its_timeout_fails(sims: Sims, broker: EmbeddedBroker) -> None:
    """A read that does not answer within health.timeout_seconds is a failed probe."""
    settings = _settings(broker, sims, shell_recharge={"timeout_seconds": 0.5})
    probes = ProviderProbes.from_settings(settings)
    probe = probes.probes["shell_recharge"]
    try:
        assert (await probe.check()).up is True
        clear = await sims.fault("shell_recharge", delay_ms=3000)
        try:
            status = await probe.check()
        finally:
            await clear()
        assert status.up is False
        assert status.error is not None and "Timeout" in status.error
    finally:
        await probes.stop()


def test_a_required_provider_not_yet_probed_keeps_the_ingress_not_ready(sims: Sims) -> None:
    """Until a required provider's first probe passes, it counts as failing for /readyz."""
    settings = HooklineSettings.model_validate(
        {"providers": sims.providers(colt={"required_for_ready": True})}
    )
    probes = ProviderProbes.from_settings(settings)
    assert probes.failing_required() == ["colt"]
    status = probes.status("colt")
    assert status is not None and status.state == "unknown"
