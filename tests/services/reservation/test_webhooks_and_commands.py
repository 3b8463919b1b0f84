"""Provider-initiated webhooks (reminders, venue-side cancellations, redeliveries) and malformed commands."""

from __future__ import annotations

import asyncio

import pytest

from tests.services.reservation.loop import ReservationLoop, create_data


async def _reservation(rloop: ReservationLoop, platform: str, n: int) -> str:
    command = rloop.command("reservation.create", create_data(platform, n))
    await rloop.send(command)
    result = await rloop.result(command)
    assert result.type == "reservation.command.succeeded", result.data
    return str(result.data["reservation_id"])


@pytest.mark.parametrize("platform", ["opentable", "recreation_gov"])
async def test_a_redelivered_reminder_is_one_event(rloop: ReservationLoop, platform: str) -> None:
    """A reminder the provider delivers twice (same event id) becomes one reservation.booking.reminder."""
    reservation_id = await _reservation(rloop, platform, 9)
    await rloop.emit(platform, event="reservation.reminder", entity_id=reservation_id, duplicate=1)
    reminder = await rloop.booking("reservation.booking.reminder", reservation_id)
    assert reminder.data["hours_before"] == 24
    await asyncio.sleep(0.5)  # time for the duplicate delivery to be answered
    state = await rloop.state(platform)
    assert any(c["duplicate"] and c["status"] == 200 for c in state["callbacks"]["last"])
    assert [e.type for e in rloop.of(reservation_id)].count("reservation.booking.reminder") == 1


@pytest.mark.parametrize(
    ("platform", "by"), [("opentable", "restaurant"), ("recreation_gov", "facility")]
)
async def test_venue_side_cancellation_reaches_the_topic(
    rloop: ReservationLoop, platform: str, by: str
) -> None:
    """A cancellation the venue makes (no command) still arrives as reservation.booking.cancelled."""
    reservation_id = await _reservation(rloop, platform, 10)
    await rloop.emit(platform, event="reservation.cancelled", entity_id=reservation_id)
    cancelled = await rloop.booking("reservation.booking.cancelled", reservation_id)
    assert cancelled.data["cancellation"]["by"] == by
    state = await rloop.state(platform)
    assert state["entities"]["reservations"][reservation_id]["status"] == "cancelled"


@pytest.mark.parametrize(
    ("type_", "data", "code"),
    [
        (
            "reservation.create",
            {"provider": "opentable", "venue_id": "rest_001"},
            "INVALID_COMMAND",
        ),
        ("reservation.create", {"provider": "resy", "venue_id": "x"}, "INVALID_COMMAND"),
        (
            "reservation.modify",
            {"provider": "opentable", "reservation_id": "ot_res_1", "changes": {"colour": "red"}},
            "INVALID_COMMAND",
        ),
        (
            "charging.session.start",
            {
                "station_id": "shell_ev_001",
                "connector_id": "conn_001",
                "command_id": "not-this-command",
            },
            "COMMAND_ID_MISMATCH",
        ),
    ],
)
async def test_malformed_commands_fail_once_without_a_provider_call(
    rloop: ReservationLoop, type_: str, data: dict, code: str
) -> None:
    """A command that does not validate fails with a hookline code, is dead-lettered, and calls nobody."""
    before = {
        p: (await rloop.state(p))["requests"]["total"] for p in ("opentable", "shell_recharge")
    }
    command = rloop.command(type_, data)
    await rloop.send(command)
    failed = await rloop.result(command)
    assert failed.type.endswith(".command.failed")
    assert failed.data["error"]["code"] == code
    assert failed.data["error"]["retryable"] is False
    letters = [r for r in await rloop.dead_letters() if r.key == command.key.encode()]
    assert len(letters) == 1
    after = {
        p: (await rloop.state(p))["requests"]["total"] for p in ("opentable", "shell_recharge")
    }
    assert after == before
