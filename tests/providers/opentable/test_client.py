"""The OpenTable client against its simulator over HTTP: auth, signing, availability, the error-code map."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from hookline.errors import ProviderRejected
from hookline.http.errors import AuthFailed, Rejected
from tests.services.reservation.direct import direct
from tests.services.reservation.loop import create_data, open_day


def _body(**over: Any) -> dict[str, Any]:
    data = create_data("opentable", 0)
    body = {
        "restaurant_id": data["venue_id"],
        "party_size": data["party_size"],
        "date": data["date"],
        "time": data["time"],
        "customer": data["customer"],
    }
    return {**body, **over}


async def test_tables_run_out_and_come_back_on_cancel() -> None:
    """Each slot has two tables: the third booking is NO_AVAILABILITY until one is cancelled."""
    async with direct("opentable") as ot:
        day = open_day().isoformat()
        first = await ot.client.create(_body(date=day, time="19:00"), idempotency_key="k1")
        await ot.client.create(
            _body(date=day, time="19:00", customer={"name": "B", "email": "b@example.com"}),
            idempotency_key="k2",
        )
        slots = await ot.client.availability(
            "rest_001", party_size=4, date=day, time_preference="19:00"
        )
        assert "19:00" not in [s.time for s in slots.slots]
        with pytest.raises(Rejected) as refused:
            await ot.client.create(
                _body(date=day, time="19:00", customer={"name": "C", "email": "c@example.com"}),
                idempotency_key="k3",
            )
        assert (refused.value.code, refused.value.status) == ("NO_AVAILABILITY", 409)
        cancelled = await ot.client.cancel(
            first.reservation_id, reason="plans changed", idempotency_key="k4"
        )
        assert cancelled.status == "cancelled"
        again = await ot.client.cancel(first.reservation_id, idempotency_key="k5")
        assert again.status == "cancelled"
        third = await ot.client.create(
            _body(date=day, time="19:00", customer={"name": "C", "email": "c@example.com"}),
            idempotency_key="k6",
        )
        assert (await ot.client.get(third.reservation_id)).status == "confirmed"


@pytest.mark.parametrize(
    ("over", "code", "status"),
    [
        ({"restaurant_id": "rest_404"}, "RESTAURANT_NOT_FOUND", 404),
        ({"time": "23:59"}, "NO_AVAILABILITY", 409),
        ({"party_size": 21}, "INVALID_PARTY_SIZE", 422),
        ({"party_size": 10}, "PAYMENT_REQUIRED", 402),
        ({"date": (open_day() + timedelta(days=120)).isoformat()}, "BOOKING_WINDOW_EXCEEDED", 422),
        (
            {"date": (open_day() + timedelta(days=7 - open_day().weekday())).isoformat()},
            "RESTAURANT_CLOSED",
            422,
        ),
    ],
)
async def test_business_errors_are_permanent_with_the_provider_code(
    over: dict[str, Any], code: str, status: int
) -> None:
    """Each docs/providers/opentable.md#simulator trigger answers its code; the client raises ProviderRejected once (no retry)."""
    async with direct("opentable") as ot:
        with pytest.raises(ProviderRejected) as refused:
            await ot.client.create(_body(**over), idempotency_key="k")
        assert refused.value.code == code
        assert getattr(refused.value, "status", None) == status
        state = await ot.state()
        assert state["requests"]["by_route"]["POST /v2/reservations"] == 1


async def test_same_booking_with_a_new_key_is_a_duplicate_and_the_same_key_replays() -> None:
    """A repeat with the same Idempotency-Key replays the first answer; with a new key it is DUPLICATE_RESERVATION."""
    async with direct("opentable") as ot:
        body = _body()
        first = await ot.client.create(body, idempotency_key="same")
        replay = await ot.client.create(body, idempotency_key="same")
        assert replay.reservation_id == first.reservation_id
        with pytest.raises(Rejected) as refused:
            await ot.client.create(body, idempotency_key="other")
        assert refused.value.code == "DUPLICATE_RESERVATION"
        state = await ot.state()
        assert state["idempotency"]["repeats"] == 1
        assert len(state["entities"]["reservations"]) == 1


async def test_a_wrong_signing_secret_is_signature_invalid() -> None:
    """Requests signed with another secret answer 401 SIGNATURE_INVALID, which is permanent."""
    async with direct(
        "opentable", provider_overrides={"auth": {"signing": {"enabled": True, "secret": "wrong"}}}
    ) as ot:
        with pytest.raises(ProviderRejected) as refused:
            await ot.client.availability("rest_001", party_size=2, date=open_day().isoformat())
        assert refused.value.code == "SIGNATURE_INVALID"


async def test_wrong_api_key_is_refused_after_one_refresh() -> None:
    """A wrong X-API-Key answers UNAUTHORIZED; the client refreshes its token once, then fails (class A)."""
    async with direct(
        "opentable",
        provider_overrides={"auth": {"api_key": {"header": "X-API-Key", "value": "nope"}}},
    ) as ot:
        with pytest.raises(AuthFailed):
            await ot.client.get("ot_res_x")
        state = await ot.state()
        assert state["tokens"]["issued"] == 2


async def test_modify_moves_the_table() -> None:
    """Modifying the time frees the old slot and takes the new one; a full target slot refuses the move."""
    async with direct("opentable", sim_overrides={"tables_per_slot": 1}) as ot:
        day = open_day().isoformat()
        first = await ot.client.create(_body(date=day, time="18:00"), idempotency_key="a")
        moved = await ot.client.modify(first.reservation_id, {"time": "18:30"}, idempotency_key="b")
        assert moved.time == "18:30"
        other = await ot.client.create(
            _body(date=day, time="18:00", customer={"name": "X", "email": "x@example.com"}),
            idempotency_key="c",
        )
        with pytest.raises(Rejected) as refused:
            await ot.client.modify(other.reservation_id, {"time": "18:30"}, idempotency_key="d")
        assert refused.value.code == "NO_AVAILABILITY"
