"""The Shell Recharge client against its simulator over HTTP: stations, reservations, sessions, codes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hookline.errors import ProviderRejected
from hookline.http.errors import Rejected
from tests.services.reservation.direct import direct
from tests.services.reservation.loop import create_data


def _body(**over: Any) -> dict[str, Any]:
    data = create_data("shell_recharge", 0)
    body = {
        "station_id": data["venue_id"],
        "connector_id": data["connector_id"],
        "start_time": data["start_time"],
        "duration_minutes": data["duration_minutes"],
        "vehicle": data["vehicle"],
    }
    vehicle = over.pop("vehicle", {})
    body["vehicle"] = {**body["vehicle"], **vehicle}
    return {**body, **over}


@pytest.mark.parametrize(
    ("over", "code", "status"),
    [
        ({"station_id": "shell_ev_404"}, "STATION_NOT_FOUND", 404),
        (
            {"connector_id": "conn_003", "vehicle": {"connector_type": "Type2"}},
            "CONNECTOR_UNAVAILABLE",
            409,
        ),
        ({"connector_id": "conn_002"}, "VEHICLE_INCOMPATIBLE", 422),
        ({"vehicle": {"driver_email": "nopay@example.com"}}, "PAYMENT_REQUIRED", 402),
        ({"duration_minutes": 241}, "MAX_DURATION_EXCEEDED", 422),
    ],
)
async def test_reservation_errors_carry_the_provider_code(
    over: dict[str, Any], code: str, status: int
) -> None:
    """Each docs/providers/shell_recharge.md#simulator trigger answers its code; the client raises it once, without inline retries."""
    async with direct("shell_recharge") as sr:
        with pytest.raises(ProviderRejected) as refused:
            await sr.client.reserve(_body(**over), idempotency_key="k")
        assert refused.value.code == code
        assert getattr(refused.value, "status", None) == status
        assert (await sr.state())["requests"]["by_route"]["POST /v2/reservations"] == 1


async def test_overlapping_reservation_conflicts_until_cancelled() -> None:
    """A second reservation overlapping the first is RESERVATION_CONFLICT; after a cancel it succeeds."""
    async with direct("shell_recharge") as sr:
        first = await sr.client.reserve(_body(), idempotency_key="a")
        with pytest.raises(Rejected) as refused:
            await sr.client.reserve(_body(), idempotency_key="b")
        assert refused.value.code == "RESERVATION_CONFLICT"
        assert (
            await sr.client.cancel_reservation(first.reservation_id, idempotency_key="c")
        ).status == "cancelled"
        assert (await sr.client.reserve(_body(), idempotency_key="d")).status == "reserved"


async def test_session_charges_then_stops_with_a_receipt() -> None:
    """A session charges every tick; stop answers the receipt, and stopping again answers the same."""
    async with direct("shell_recharge", sim_overrides={"tick_ms": 20}) as sr:
        started = await sr.client.start("shell_ev_001", "conn_001", idempotency_key="s")
        assert started.status == "starting"
        with pytest.raises(Rejected) as busy:
            await sr.client.start("shell_ev_001", "conn_001", idempotency_key="s2")
        assert busy.value.code == "CONNECTOR_UNAVAILABLE"
        for _ in range(100):
            status = await sr.client.session(started.session_id)
            if status.energy_kwh >= 5:
                break
            await asyncio.sleep(0.02)
        assert status.status == "charging" and status.power_kw == 150.0
        receipt = await sr.client.stop(started.session_id, idempotency_key="t")
        again = await sr.client.stop(started.session_id, idempotency_key="t2")
        assert receipt.energy_kwh >= 5 and receipt.cost.total == pytest.approx(
            receipt.cost.energy + 1.0
        )
        assert again.model_dump() == receipt.model_dump()
        assert (await sr.client.session(started.session_id)).status == "completed"


async def test_unknown_session_is_invalid_session() -> None:
    """GET and stop of an unknown session answer 410 INVALID_SESSION (permanent)."""
    async with direct("shell_recharge") as sr:
        with pytest.raises(Rejected) as refused:
            await sr.client.stop("sr_sess_nope", idempotency_key="x")
        assert (refused.value.code, refused.value.status) == ("INVALID_SESSION", 410)


async def test_stations_filter_by_connector_and_power() -> None:
    """Station search filters connectors by type, power and availability, with pricing."""
    async with direct("shell_recharge") as sr:
        stations = await sr.client.stations(
            connector_type="CCS", min_power_kw=300, available_only="true"
        )
        assert [s["station_id"] for s in stations] == ["shell_ev_002"]
        assert stations[0]["pricing"]["per_kwh"] == 0.4
        free = await sr.client.availability(
            "shell_ev_001", connector_id="conn_003", duration_minutes=30
        )
        assert free["available"] is False
