"""The reservation simulator kit (``providers/_reservation/simdesk``), served for real by the desks example."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from hookline.config.models import HooklineSettings, SimulatorSettings
from hookline.config.secrets import Secret
from tests.providers._reservation import desks
from tests.sandbox.receiver import Receiver
from tests.support.servers import serve

SECRET = "desks-callback-secret-0123456789"


@asynccontextmanager
async def running(receiver: Receiver, *, signed: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """The desks simulator under uvicorn, its callbacks going to ``receiver``."""
    async with serve(receiver.app()) as receiver_url:
        sim_settings = SimulatorSettings(
            port=0,
            callback_url=f"{receiver_url}/webhooks/desks",
            callback_secret=Secret(SECRET) if signed else None,
        )
        app = desks.create_app(HooklineSettings.model_validate({}), sim_settings)
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
            yield http


async def _callbacks(receiver: Receiver, count: int) -> list[dict[str, Any]]:
    """The first ``count`` callbacks' bodies, waiting up to 10 s for them (a busy machine)."""
    for _ in range(500):
        if len(receiver.arrivals) >= count:
            break
        await asyncio.sleep(0.02)
    return [json.loads(a.body) for a in receiver.arrivals]


async def test_each_change_is_one_callback_and_a_repeat_cancel_sends_none() -> None:
    """Create, modify and cancel each send their callback; an unchanged modify and a second cancel send none."""
    receiver = Receiver()
    async with running(receiver) as http:
        created = await http.post("/v1/bookings", json={"day": "2030-01-02"})
        assert created.status_code == 201
        booking = created.json()["reservation_id"]
        assert (await http.patch(f"/v1/bookings/{booking}", json={})).status_code == 200
        modified = await http.patch(f"/v1/bookings/{booking}", json={"note": "window"})
        assert modified.json()["note"] == "window"
        first = await http.post(f"/v1/bookings/{booking}/cancel", json={"reason": "ill"})
        second = await http.post(f"/v1/bookings/{booking}/cancel", json={})
        assert first.json() == second.json()
        assert first.json()["status"] == "cancelled"
        bodies = await _callbacks(receiver, 3)
        await asyncio.sleep(0.3)  # room for a wrong fourth callback to arrive
        assert len(receiver.arrivals) == 3
    assert [b["type"] for b in bodies] == [
        "reservation.created",
        "reservation.modified",
        "reservation.cancelled",
    ]
    assert bodies[1]["data"]["changes"] == {"note": {"from": None, "to": "window"}}
    assert (bodies[2]["data"]["cancelled_by"], bodies[2]["data"]["reason"]) == ("guest", "ill")


async def test_a_cancelled_booking_cannot_change_and_gives_its_desk_back() -> None:
    """Modifying a cancelled booking answers the platform's refusal; its day can be booked again."""
    async with running(Receiver()) as http:
        booking = (await http.post("/v1/bookings", json={"day": "2030-01-03"})).json()
        taken = await http.post("/v1/bookings", json={"day": "2030-01-03"})
        assert (taken.status_code, taken.json()["error"]["code"]) == (409, "DESK_TAKEN")
        await http.post(f"/v1/bookings/{booking['reservation_id']}/cancel", json={})
        refused = await http.patch(f"/v1/bookings/{booking['reservation_id']}", json={"note": "x"})
        assert (refused.status_code, refused.json()["error"]["code"]) == (409, "INVALID_REQUEST")
        again = await http.post("/v1/bookings", json={"day": "2030-01-03"})
        assert again.status_code == 201


async def test_unknown_booking_answers_reservation_not_found() -> None:
    """Read, modify and cancel of an unknown id answer 404 RESERVATION_NOT_FOUND in the kit's format."""
    async with running(Receiver()) as http:
        for answer in (
            await http.get("/v1/bookings/dk_nope"),
            await http.patch("/v1/bookings/dk_nope", json={}),
            await http.post("/v1/bookings/dk_nope/cancel", json={}),
        ):
            assert answer.status_code == 404
            assert answer.json()["error"]["code"] == "RESERVATION_NOT_FOUND"


async def test_emit_sends_a_reminder_and_a_cancel_by_the_venue() -> None:
    """/_sim/emit: a reminder carries hours_before; a venue cancel cancels the booking and says who and why."""
    receiver = Receiver()
    async with running(receiver) as http:
        booking = (await http.post("/v1/bookings", json={"day": "2030-01-04"})).json()
        entity = booking["reservation_id"]
        for event in ("reservation.reminder", "reservation.cancelled"):
            emitted = await http.post("/_sim/emit", json={"event": event, "entity_id": entity})
            assert emitted.status_code == 202, emitted.text
        bodies = await _callbacks(receiver, 3)
        state = (await http.get(f"/v1/bookings/{entity}")).json()
    assert state["status"] == "cancelled"
    reminder, cancelled = bodies[1]["data"], bodies[2]["data"]
    assert reminder["hours_before"] == 24
    assert (cancelled["status"], cancelled["cancelled_by"], cancelled["reason"]) == (
        "cancelled",
        "office",
        "office closed",
    )


async def test_emit_refuses_unknown_event_unknown_booking_and_missing_secret() -> None:
    """/_sim/emit answers 400 for an unknown event, 404 for an unknown booking, 409 without a callback_secret."""
    async with running(Receiver()) as http:
        booking = (await http.post("/v1/bookings", json={"day": "2030-01-05"})).json()
        unknown_event = await http.post(
            "/_sim/emit", json={"event": "desk.moved", "entity_id": booking["reservation_id"]}
        )
        assert unknown_event.status_code == 400
        missing = await http.post(
            "/_sim/emit", json={"event": "reservation.reminder", "entity_id": "dk_nope"}
        )
        assert missing.status_code == 404
    receiver = Receiver()
    async with running(receiver, signed=False) as http:
        booking = (await http.post("/v1/bookings", json={"day": "2030-01-06"})).json()
        assert booking["status"] == "confirmed"
        disabled = await http.post(
            "/_sim/emit",
            json={"event": "reservation.reminder", "entity_id": booking["reservation_id"]},
        )
        assert disabled.status_code == 409
        await asyncio.sleep(0.3)  # room for a wrong callback to arrive
    assert receiver.arrivals == []
