"""Search, availability, permits and charging reads through the whole loop (worker, simulators, broker)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hookline.envelope import CloudEvent
from tests.services.reservation.loop import ReservationLoop, create_data, open_day

SF = {"latitude": 37.7749, "longitude": -122.4194}
PINE_FLAT = {"latitude": 39.5296, "longitude": -121.5524}


async def _run(rloop: ReservationLoop, type_: str, data: dict[str, Any]) -> CloudEvent:
    command = rloop.command(type_, data)
    await rloop.send(command)
    return await rloop.result(command)


async def test_opentable_search_filters_and_availability_slots(rloop: ReservationLoop) -> None:
    """reservation.search by cuisine and price range; availability answers slots around the preference."""
    italian = await _run(
        rloop, "reservation.search", {"provider": "opentable", **SF, "cuisine_type": "Italian"}
    )
    cheap = await _run(
        rloop, "reservation.search", {"provider": "opentable", **SF, "price_range": 2}
    )
    day = open_day().isoformat()
    slots = await _run(
        rloop,
        "reservation.availability.check",
        {
            "provider": "opentable",
            "venue_id": "rest_001",
            "party_size": 4,
            "date": day,
            "time_preference": "19:00",
        },
    )
    assert italian.type == "reservation.command.succeeded", italian.data
    assert [v["venue_id"] for v in italian.data["result"]["venues"]] == ["rest_001"]
    assert italian.subject == italian.data["command_id"]
    assert [v["price_range"] for v in cheap.data["result"]["venues"]] == ["$$"]
    result = slots.data["result"]
    assert result["available"] is True
    assert [s["time"] for s in result["slots"]] == ["18:00", "18:30", "19:00", "19:30", "20:00"]


async def test_recreation_gov_search_by_amenities_and_distance_then_sites_for_the_stay(
    rloop: ReservationLoop,
) -> None:
    """Campgrounds within the radius that have every amenity; sites free each night that allow the equipment."""
    near = await _run(
        rloop,
        "reservation.search",
        {
            "provider": "recreation_gov",
            **PINE_FLAT,
            "radius_miles": 50,
            "amenities": ["Restrooms", "Drinking Water"],
        },
    )
    start = open_day() + timedelta(days=60)
    sites = await _run(
        rloop,
        "reservation.availability.check",
        {
            "provider": "recreation_gov",
            "venue_id": "232447",
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=2)).isoformat(),
            "equipment_type": "rv",
        },
    )
    venues = near.data["result"]["venues"]
    assert [v["venue_id"] for v in venues] == ["232447"]
    assert venues[0]["distance_miles"] == 0.0
    assert sites.data["result"]["sites"] == ["A13", "B01"]
    assert sites.data["result"]["nights"] == 2


async def test_lottery_only_keeps_the_lottery_permits_of_an_activity(
    rloop: ReservationLoop,
) -> None:
    """Backpacking has a walk-up permit and a lottery one: lottery_only keeps only the second."""
    every = await _run(rloop, "reservation.permit.search", {"activity": "backpacking"})
    lottery = await _run(
        rloop, "reservation.permit.search", {"activity": "backpacking", "lottery_only": True}
    )
    assert sorted(p["permit_id"] for p in every.data["result"]["permits"]) == [
        "PRM-2231",
        "PRM-2245",
    ]
    assert [p["permit_id"] for p in lottery.data["result"]["permits"]] == ["PRM-2245"]
    assert lottery.data["result"]["count"] == 1


async def test_permits_by_activity_and_a_lottery_entry(rloop: ReservationLoop) -> None:
    """permit.search by activity and state; a lottery entry is submitted; a closed lottery fails for good."""
    hiking = await _run(rloop, "reservation.permit.search", {"activity": "hiking", "state": "CA"})
    entry = await _run(
        rloop,
        "reservation.permit.lottery.enter",
        {
            "permit_id": "PRM-3310",
            "preferred_dates": ["2099-07-12", "2099-07-19"],
            "group_size": 4,
            "customer": {"name": "Jane Smith", "email": "jane@example.com"},
        },
    )
    closed = await _run(
        rloop,
        "reservation.permit.lottery.enter",
        {
            "permit_id": "PRM-4471",
            "preferred_dates": ["2099-07-12"],
            "group_size": 2,
            "customer": {"name": "Jane Smith", "email": "jane@example.com"},
        },
    )
    permits = hiking.data["result"]["permits"]
    assert sorted(p["permit_id"] for p in permits) == ["PRM-3310", "PRM-4471"]
    assert all(p["lottery"] for p in permits)
    assert entry.type == "reservation.command.succeeded", entry.data
    assert entry.data["result"]["status"] == "submitted"
    assert entry.subject == entry.data["result"]["entry_id"]
    state = await rloop.state("recreation_gov")
    assert list(state["entities"]["lottery_entries"]) == [entry.subject]
    assert closed.type == "reservation.command.failed"
    assert closed.data["error"]["code"] == "LOTTERY_CLOSED"


async def test_permit_required_says_how_to_get_one_and_a_permit_books(
    rloop: ReservationLoop,
) -> None:
    """PERMIT_REQUIRED fails for good with the way to a permit; the same stay with customer.permit_id books."""
    data = create_data("recreation_gov", 20, venue_id="PERMIT-9001", site_id="W01")
    refused = await _run(rloop, "reservation.create", data)
    booked = await _run(
        rloop,
        "reservation.create",
        {**data, "customer": {**data["customer"], "permit_id": "PRM-2231"}},
    )
    assert refused.type == "reservation.command.failed"
    assert refused.data["error"]["code"] == "PERMIT_REQUIRED"
    assert "reservation.permit.search" in refused.data["error"]["message"]
    assert refused.data["error"]["retryable"] is False
    assert booked.type == "reservation.command.succeeded", booked.data


async def test_station_search_by_connector_type_and_power(rloop: ReservationLoop) -> None:
    """charging.station.search keeps only connectors of the type, at least the power, free when asked."""
    fast = await _run(
        rloop, "charging.station.search", {**SF, "connector_type": "CCS", "min_power_kw": 200}
    )
    free22 = await _run(
        rloop, "charging.station.search", {**SF, "min_power_kw": 20, "available_only": True}
    )
    chademo = await _run(rloop, "charging.station.search", {**SF, "connector_type": "CHAdeMO"})
    assert fast.type == "charging.command.succeeded", fast.data
    stations = fast.data["result"]["stations"]
    assert [(s["station_id"], [c["connector_id"] for c in s["connectors"]]) for s in stations] == [
        ("shell_ev_002", ["conn_001"])
    ]
    assert [
        (s["station_id"], [c["connector_id"] for c in s["connectors"]])
        for s in chademo.data["result"]["stations"]
    ] == [("shell_ev_001", ["conn_002"])]
    connectors = [c for s in free22.data["result"]["stations"] for c in s["connectors"]]
    assert connectors and all(
        c["status"] == "available" and c["power_kw"] >= 20 for c in connectors
    )
    assert "Type2" not in {
        c["type"] for c in connectors
    }  # both Type2 connectors are busy or out of service


async def test_session_status_then_emergency_stop(rloop: ReservationLoop) -> None:
    """charging.session.status reads a live session; emergency_stop ends it failed with the stop code."""
    start = await _run(
        rloop, "charging.session.start", {"station_id": "shell_ev_001", "connector_id": "conn_005"}
    )
    session_id = start.data["session_id"]
    await rloop.wait(
        lambda e: e.type == "charging.session.progress" and e.subject == session_id, "progress"
    )
    status = await _run(rloop, "charging.session.status", {"session_id": session_id})
    stop = await _run(
        rloop,
        "charging.session.emergency_stop",
        {"session_id": session_id, "code": "SAFETY_HAZARD", "reason": "smoke at the connector"},
    )
    failed = await rloop.wait(
        lambda e: e.type == "charging.session.failed" and e.subject == session_id,
        "charging.session.failed",
    )
    assert status.type == "charging.command.succeeded", status.data
    assert status.data["result"]["status"] == "charging"
    assert status.data["result"]["energy_kwh"] > 0
    assert stop.data["result"]["status"] == "failed"
    assert stop.data["result"]["failure"] == {
        "code": "SAFETY_HAZARD",
        "message": "smoke at the connector",
    }
    assert failed.data["failure"]["code"] == "SAFETY_HAZARD"
    state = await rloop.state("shell_recharge")
    assert state["entities"]["connectors"]["shell_ev_001/conn_005"] == "available"
