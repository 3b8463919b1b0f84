"""Reservation commands through the whole loop, one contract run per platform.

worker → simulator (OAuth2 / API key, signed requests, Idempotency-Key) → signed
webhook → ingress → ``reservation.booking.*`` event, and the worker's own
``reservation.command.*`` result carrying the command id.
"""

from __future__ import annotations

import pytest

from tests.services.reservation.loop import (
    EVENTS_DOMAIN,
    PLATFORMS,
    ReservationLoop,
    create_data,
    modify_changes,
)

pytestmark = pytest.mark.parametrize("platform", PLATFORMS)


async def _created(rloop: ReservationLoop, platform: str, n: int) -> tuple[str, dict]:
    command = rloop.command("reservation.create", create_data(platform, n))
    await rloop.send(command)
    result = await rloop.result(command)
    assert result.type == "reservation.command.succeeded", result.data
    return result.data["reservation_id"], result.data["result"]


async def test_create_confirms(rloop: ReservationLoop, platform: str) -> None:
    """create → reservation.command.succeeded with command_id, and the webhook's reservation.booking.created."""
    command = rloop.command("reservation.create", create_data(platform, 1))
    await rloop.send(command)
    result = await rloop.result(command)
    assert result.type == "reservation.command.succeeded"
    assert result.source == "/hookline/workers/reservation"
    assert result.data["command_id"] == command.id
    assert result.data["provider"] == platform
    assert result.data["result"]["status"] == "confirmed"
    reservation_id = result.data["reservation_id"]
    assert result.subject == reservation_id

    booked = await rloop.booking("reservation.booking.created", reservation_id)
    assert booked.provider == platform
    assert booked.source == f"/hookline/sources/{booked.source.rsplit('/', 1)[1]}"
    assert booked.data["status"] == "confirmed"
    assert booked.data["reservation_id"] == reservation_id
    assert booked.data["customer"]["phone"].startswith("+1555555")
    state = await rloop.state(platform)
    assert reservation_id in state["entities"]["reservations"]


async def test_modify_changes_the_reservation(rloop: ReservationLoop, platform: str) -> None:
    """modify → succeeded with the new values, and reservation.booking.modified lists from → to."""
    reservation_id, created = await _created(rloop, platform, 2)
    changes = modify_changes(platform, created)
    command = rloop.command(
        "reservation.modify",
        {"provider": platform, "reservation_id": reservation_id, "changes": changes},
        key=reservation_id,
    )
    await rloop.send(command)
    result = await rloop.result(command)
    assert result.type == "reservation.command.succeeded", result.data
    field, value = next(iter(changes.items()))
    assert result.data["result"][field] == value

    modified = await rloop.booking("reservation.booking.modified", reservation_id)
    assert modified.data["changes"][field]["to"] == value
    assert modified.data["changes"][field]["from"] == created[field]


async def test_cancel_arrives_as_booking_cancelled(rloop: ReservationLoop, platform: str) -> None:
    """cancel → the provider's cancellation webhook → reservation.booking.cancelled, after the created event."""
    reservation_id, _ = await _created(rloop, platform, 3)
    command = rloop.command(
        "reservation.cancel",
        {"provider": platform, "reservation_id": reservation_id, "reason": "plans changed"},
        key=reservation_id,
    )
    await rloop.send(command)
    result = await rloop.result(command)
    assert result.type == "reservation.command.succeeded"
    assert result.data["result"]["status"] == "cancelled"

    cancelled = await rloop.booking("reservation.booking.cancelled", reservation_id)
    assert cancelled.data["status"] == "cancelled"
    assert cancelled.data["cancellation"]["reason"] == "plans changed"
    # Ordering per reservation: the webhooks arrive created → cancelled on one partition.
    types = [e.type for e in rloop.of(reservation_id) if e.type.startswith("reservation.booking.")]
    assert types.index("reservation.booking.created") < types.index("reservation.booking.cancelled")
    if platform == "recreation_gov":
        assert cancelled.data["cancellation"]["refund"] == {"amount": 60.0, "currency": "USD"}


def _conflicting(platform: str) -> tuple[list[dict], str]:
    """Commands whose last one finds nothing left: (commands, the provider's permanent code)."""
    if platform == "opentable":
        # tables_per_slot is 2: the third booking of one slot finds no table.
        return [create_data(platform, 5) | {"time": "22:30"} for _ in range(3)], "NO_AVAILABILITY"
    if platform == "recreation_gov":
        return [create_data(platform, 5), create_data(platform, 5)], "NO_AVAILABILITY"
    return [create_data(platform, 5), create_data(platform, 5)], "RESERVATION_CONFLICT"


async def test_exhausted_availability_is_dead_lettered_without_retry(
    rloop: ReservationLoop, platform: str
) -> None:
    """When availability runs out the provider's permanent code goes to the result and the DLQ; one call only."""
    datas, code = _conflicting(platform)
    *first, last = [rloop.command("reservation.create", d) for d in datas]
    for command in first:
        await rloop.send(command)
        assert (await rloop.result(command)).type == "reservation.command.succeeded"
    calls = await rloop.create_calls(platform)
    await rloop.send(last)
    failed = await rloop.result(last)
    assert failed.type == "reservation.command.failed"
    assert failed.data["error"]["code"] == code
    assert failed.data["error"]["http_status"] == 409
    assert failed.data["error"]["retryable"] is False
    assert failed.data["attempts"] == 1
    assert failed.subject == last.id
    letters = [r for r in await rloop.dead_letters() if r.key == last.key.encode()]
    assert len(letters) == 1
    headers = {k: v.decode() for k, v in letters[0].headers}
    assert code in headers["hookline-error-message"]
    assert headers["hookline-dlq-reason"] == "permanent"
    assert await rloop.create_calls(platform) == calls + 1


async def test_retryable_error_is_retried_then_handled(
    rloop: ReservationLoop, platform: str
) -> None:
    """Three failed attempts (the client's whole budget) → the worker retries → one reservation, no DLQ."""
    spec = (
        {"error_code": "CONNECTOR_UNAVAILABLE"} if platform == "shell_recharge" else {"status": 503}
    )
    await rloop.fault(platform, path=_create_path(platform), method="POST", count=3, **spec)
    calls = await rloop.create_calls(platform)
    command = rloop.command("reservation.create", create_data(platform, 7))
    await rloop.send(command)
    result = await rloop.result(command)
    assert result.type == "reservation.command.succeeded", result.data
    assert await rloop.create_calls(platform) == calls + 4
    state = await rloop.state(platform)
    assert state["faults"]["active"] == []
    mine = [
        r
        for r in state["entities"]["reservations"].values()
        if r["reservation_id"] == result.data["reservation_id"]
    ]
    assert len(mine) == 1
    assert not [r for r in await rloop.dead_letters(timeout=1.0) if r.key == command.key.encode()]
    await rloop.booking("reservation.booking.created", result.data["reservation_id"])
    assert EVENTS_DOMAIN[platform] in ("reservation", "charging")


def _create_path(platform: str) -> str:
    from tests.services.reservation.loop import CREATE_PATH

    return CREATE_PATH[platform]
