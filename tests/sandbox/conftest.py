"""Fixtures for the sandbox tests: the example widgets simulator under real uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from hookline.config.models import HooklineSettings, SimulatorSettings
from hookline.sandbox import Simulator, SimulatorLayer
from tests.sandbox import widgets
from tests.support.servers import serve


@dataclass
class Running:
    url: str
    app: SimulatorLayer
    client: httpx.AsyncClient

    @property
    def sim(self) -> Simulator:
        assert self.app.simulator is not None
        return self.app.simulator

    async def state(self) -> dict[str, Any]:
        response = await self.client.get("/_sim/state")
        assert response.status_code == 200
        result: dict[str, Any] = response.json()
        return result

    async def fault(self, **spec: Any) -> dict[str, Any]:
        response = await self.client.post("/_sim/faults", json=spec)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result


StartWidgets = Callable[..., AbstractAsyncContextManager[Running]]


@pytest.fixture
def start_widgets() -> StartWidgets:
    """Serve a fresh widgets simulator; keyword arguments go to its factory, settings or uvicorn (http)."""

    @asynccontextmanager
    async def start(
        *, ingress_url: str = "http://127.0.0.1:9", tick_ms: int = 60_000, **options: Any
    ) -> AsyncIterator[Running]:
        settings = HooklineSettings.model_validate({"sandbox": {"ingress_url": ingress_url}})
        sim_settings = SimulatorSettings(
            port=0, tick_ms=tick_ms, callback_url=options.pop("callback_url", None)
        )
        server_options = {"http": options.pop("http")} if "http" in options else {}
        app = widgets.create_app(settings, sim_settings, **options)
        async with (
            serve(app, **server_options) as url,
            httpx.AsyncClient(base_url=url, timeout=10) as client,
        ):
            yield Running(url, app, client)

    return start


@pytest.fixture
async def widgets_sim(start_widgets: StartWidgets) -> AsyncIterator[Running]:
    """One widgets simulator with defaults (no automatic ticks, callbacks to nowhere)."""
    async with start_widgets() as running:
        yield running
