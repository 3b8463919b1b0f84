"""The simulator admin API (docs/providers/simulators.md#admin-api): state, reset, errors, and the ticker."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request
from starlette.responses import Response

from hookline.config.models import SimulatorSettings
from hookline.sandbox import Simulator, Ticker
from tests.sandbox import widgets
from tests.sandbox.conftest import Running, StartWidgets
from tests.sandbox.receiver import Receiver
from tests.support.servers import serve


async def test_state_counts_requests_by_route_template(widgets_sim: Running) -> None:
    """Every provider request is counted by method and route template; admin calls are not."""
    c = widgets_sim.client
    created = (await c.post("/v1/widgets", json={"colour": "red"})).json()
    await c.get(f"/v1/widgets/{created['widget_id']}")
    await c.get("/v1/widgets/w_missing")
    await c.get("/v1/nowhere")
    await c.get("/_sim/faults")
    state = await widgets_sim.state()
    assert state["provider"] == "widgets"
    assert state["requests"] == {
        "total": 4,
        "by_route": {"POST /v1/widgets": 1, "GET /v1/widgets/{widget_id}": 2, "GET /v1/nowhere": 1},
    }
    assert set(state) >= {"provider", "requests", "faults", "idempotency", "callbacks", "entities"}


async def test_unknown_path_answers_in_provider_format(widgets_sim: Running) -> None:
    """A path the provider does not serve answers 404 in the provider's error format."""
    response = await widgets_sim.client.get("/v1/nowhere")
    assert (response.status_code, response.json()) == (404, {"error": {"code": "NOT_FOUND"}})
    admin = await widgets_sim.client.get("/_sim/nothing")
    assert admin.status_code == 404
    assert "error" in admin.json()


async def test_reset_clears_everything(widgets_sim: Running) -> None:
    """``POST /_sim/reset`` clears faults, entities, keys, counters and callback queues."""
    c = widgets_sim.client
    receiver = Receiver(script=(500,))
    async with serve(receiver.app()) as url:
        widgets_sim.sim.callback_url = f"{url}/hook"
        widget = (await c.post("/v1/widgets", json={}, headers={"Idempotency-Key": "k"})).json()
        await c.post("/v1/widgets", json={}, headers={"Idempotency-Key": "k"})
        await widgets_sim.fault(path="/v1/**", status=500, count=0)
        await c.get("/v1/widgets/w_1")
        emitted = await c.post(
            "/_sim/emit", json={"event": "widget.ready", "entity_id": widget["widget_id"]}
        )
        assert emitted.status_code == 202
        before = await widgets_sim.state()
        assert before["callbacks"]["sent"] == 1
        reset = await c.post("/_sim/reset")
        assert reset.status_code == 204
        state = await widgets_sim.state()
    assert state["requests"] == {"total": 0, "by_route": {}}
    assert state["faults"] == {"active": [], "applied": 0}
    assert state["idempotency"] == {"keys": 0, "repeats": 0, "mismatches": 0}
    assert state["entities"] == {"widgets": {}}
    assert state["callbacks"] == {
        "sent": 0,
        "delivered": 0,
        "retrying": 0,
        "abandoned": 0,
        "attempts": 0,
        "queued": 0,
        "last": [],
        "dropped": 0,
        "pending": 0,
        "hold": {"drop": False, "delay_seconds": 0.0},
    }
    # The key is gone too: the same key now creates a new widget for real.
    again = await c.post("/v1/widgets", json={}, headers={"Idempotency-Key": "k"})
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert (await c.get("/_sim/faults")).json() == []


async def test_ticker_runs_steps_and_survives_failures() -> None:
    """A ticker runs its step repeatedly; a step that raises is logged and the next tick still runs."""
    calls: list[int] = []
    done = asyncio.Event()

    async def step() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("first step fails")
        if len(calls) >= 3:
            done.set()

    ticker = Ticker(step, 0.01, name="test")
    ticker.start()
    try:
        async with asyncio.timeout(5):
            await done.wait()
    finally:
        await ticker.stop()
    assert not ticker.running
    assert ticker.ticks >= 3
    count = len(calls)
    await asyncio.sleep(0.05)
    assert len(calls) == count


async def test_tickers_start_and_stop_with_the_app(start_widgets: StartWidgets) -> None:
    """The app's lifespan starts the simulator's tickers and stops them on shutdown."""
    async with start_widgets(tick_ms=20) as sim:
        ticker = sim.sim.tickers[0]
        assert ticker.running
        assert ticker.interval == 0.02
    assert not ticker.running


async def test_provider_admin_route_is_served_but_never_counted_or_faulted(
    widgets_sim: Running,
) -> None:
    """A provider's own ``/_sim/...`` route works even under a catch-all fault and is not counted."""
    c = widgets_sim.client
    await c.post("/v1/widgets", json={"colour": "red"})
    await widgets_sim.fault(path="/**", status=503, count=0)
    painted = await c.post("/_sim/widgets/paint", json={"colour": "green"})
    assert (painted.status_code, painted.json()) == (200, {"painted": 1})
    state = await widgets_sim.state()
    assert state["requests"]["total"] == 1
    assert state["faults"]["applied"] == 0
    assert [w["colour"] for w in state["entities"]["widgets"].values()] == ["green"]


def test_admin_routes_must_live_under_sim() -> None:
    """Provider admin routes outside ``/_sim/`` are refused at build time."""
    sim = Simulator("x", SimulatorSettings(port=0), fmt=widgets.FORMAT)

    async def endpoint(request: Request) -> Response:
        return Response()

    with pytest.raises(ValueError, match="/_sim/"):
        sim.admin_route("/admin/x", endpoint)


async def test_callback_hold_is_set_checked_and_cleared_by_reset(widgets_sim: Running) -> None:
    """``POST /_sim/callbacks`` sets a drop or delay hold, refuses a bad one with 400; reset ends it."""
    c = widgets_sim.client
    assert (await c.post("/_sim/callbacks", json={"drop": True})).json() == {
        "drop": True,
        "delay_seconds": 0.0,
    }
    assert (await c.get("/_sim/state")).json()["callbacks"]["hold"]["drop"] is True
    bad = await c.post("/_sim/callbacks", json={"delay_seconds": -1})
    assert bad.status_code == 400 and "error" in bad.json()
    assert (await c.post("/_sim/callbacks", json={"drop": "maybe"})).status_code == 400
    await c.post("/_sim/reset")
    assert (await c.get("/_sim/state")).json()["callbacks"]["hold"] == {
        "drop": False,
        "delay_seconds": 0.0,
    }
