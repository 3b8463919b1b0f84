"""GET /admin/breakers and POST /admin/breakers/{name}/reset through the real ingress under uvicorn."""

from __future__ import annotations

import httpx
import pytest

from hookline.bus.broker import EmbeddedBroker
from hookline.errors import ProviderUnavailable
from hookline.http import ManualClock
from hookline.http.registry import BREAKERS, BreakerRegistry
from tests.http.conftest import client_for, settings, unique
from tests.http.fault_server import FaultServer, Step
from tests.support.ingress import running_ingress, settings_for
from tests.support.servers import RedisServer

ADMIN_TOKEN = "admin-token-for-tests-0123"
BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {ADMIN_TOKEN}"},
        {"Authorization": "Bearer"},
    ],
)
async def test_admin_breakers_need_the_token(
    broker: EmbeddedBroker, headers: dict[str, str]
) -> None:
    """Without the right bearer token both admin routes answer the same 401 problem."""
    app_settings = settings_for(broker.bootstrap_servers, admin_token=ADMIN_TOKEN)
    async with running_ingress(app_settings) as url, httpx.AsyncClient(base_url=url) as http:
        listed = await http.get("/admin/breakers", headers=headers)
        reset = await http.post("/admin/breakers/colt/reset", headers=headers)
    for response in (listed, reset):
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["status"] == 401
    assert listed.json() == reset.json()


async def test_admin_without_configured_token_refuses_everyone(broker: EmbeddedBroker) -> None:
    """With no admin_token configured the admin routes stay closed."""
    app_settings = settings_for(broker.bootstrap_servers)
    async with running_ingress(app_settings) as url, httpx.AsyncClient(base_url=url) as http:
        response = await http.get("/admin/breakers", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 401


async def test_admin_lists_and_resets_an_open_breaker(
    broker: EmbeddedBroker, fault: FaultServer, base_url: str
) -> None:
    """An open breaker shows in GET /admin/breakers; POST …/reset closes it and the client can call again."""
    name = unique("colt")
    fault.script("/api/x", Step(503))
    provider = settings(
        base_url,
        retry={"max_attempts": 1},
        breaker={"failure_threshold": 1, "recovery_seconds": 300},
    )
    app_settings = settings_for(broker.bootstrap_servers, admin_token=ADMIN_TOKEN)
    # BREAKERS is the process-wide registry every ApiClient joins by default.
    async with (
        client_for(provider, name=name, clock=ManualClock(), registry=BREAKERS) as client,
        running_ingress(app_settings) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        with pytest.raises(ProviderUnavailable):
            await client.request("GET", "/x")
        listed = (await http.get("/admin/breakers", headers=BEARER)).json()["breakers"]
        entry = next(b for b in listed if b["name"] == name)
        assert entry["state"] == "open"
        assert entry["consecutive_failures"] == 1
        assert entry["retry_in_seconds"] > 0
        assert entry["failure_threshold"] == 1

        response = await http.post(f"/admin/breakers/{name}/reset", headers=BEARER)
        assert response.status_code == 200
        assert response.json()["breaker"]["state"] == "closed"
        assert client.breaker.state == "closed"
        assert (await client.request("GET", "/x")).status_code == 200

        missing = await http.post("/admin/breakers/no-such-provider/reset", headers=BEARER)
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
    assert BREAKERS.get(name) is None  # a closed client leaves the registry


async def test_admin_sees_and_resets_a_shared_breaker_of_another_process(
    broker: EmbeddedBroker, fault: FaultServer, base_url: str, redis_server: RedisServer
) -> None:
    """With redis_url, the ingress reports and resets a configured provider's breaker tripped by a worker elsewhere."""
    name = unique("ot")
    fault.script("/api/x", Step(503))
    provider = settings(
        base_url,
        retry={"max_attempts": 1},
        breaker={"failure_threshold": 1, "recovery_seconds": 300},
    )
    app_settings = settings_for(
        broker.bootstrap_servers,
        admin_token=ADMIN_TOKEN,
        redis_url=redis_server.url,
        providers={name: provider.model_dump(mode="json")},
    )
    # The worker's registry is not the ingress's: only Redis connects them.
    async with (
        client_for(
            provider, name=name, redis_url=redis_server.url, registry=BreakerRegistry()
        ) as worker,
        running_ingress(app_settings) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        with pytest.raises(ProviderUnavailable):
            await worker.request("GET", "/x")
        listed = (await http.get("/admin/breakers", headers=BEARER)).json()["breakers"]
        entry = next(b for b in listed if b["name"] == name)
        assert entry["state"] == "open"
        assert entry["shared"] is True
        assert (await http.post(f"/admin/breakers/{name}/reset", headers=BEARER)).status_code == 200
        assert (await worker.request("GET", "/x")).status_code == 200
