"""The Recreation.gov client against its simulator over HTTP: RIDB, nights that run out, the code map."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from hookline.errors import ProviderRejected
from hookline.http.errors import AuthFailed, Rejected
from tests.services.reservation.direct import direct
from tests.services.reservation.loop import open_day

TOMORROW = date.today() + timedelta(days=1)


def _body(start: date | None = None, nights: int = 2, **over: Any) -> dict[str, Any]:
    start = start or open_day()
    customer = {
        "name": "Jane Smith",
        "email": "jane@example.com",
        "adults": 2,
        "children": 1,
        "equipment_type": "tent",
    }
    body = {
        "campground_id": "232447",
        "site_id": "A12",
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(days=nights)).isoformat(),
        "customer": customer,
    }
    customer.update(over.pop("customer", {}))
    return {**body, **over}


async def test_booked_nights_disappear_from_availability_and_return_on_cancel() -> None:
    """A booking holds every night of its stay: the site leaves the availability and an overlap is refused."""
    async with direct("recreation_gov", provider_overrides={"cache": {}}) as rg:
        start = open_day()
        assert "A12" in await rg.client.available_sites("232447", start, start + timedelta(days=2))
        booked = await rg.client.create(_body(start), idempotency_key="a")
        assert booked.status == "reserved"
        assert booked.fees is not None and booked.fees.total == 68.0
        assert "A12" not in await rg.client.available_sites(
            "232447", start + timedelta(days=1), start + timedelta(days=3)
        )
        with pytest.raises(Rejected) as refused:
            await rg.client.create(_body(start + timedelta(days=1)), idempotency_key="b")
        assert (refused.value.code, refused.value.status) == ("NO_AVAILABILITY", 409)
        cancelled = await rg.client.cancel(
            booked.reservation_id, reason="fire closure", idempotency_key="c"
        )
        assert cancelled.refund is not None and cancelled.refund.amount == 60.0
        assert "A12" in await rg.client.available_sites(
            "232447", start, start + timedelta(days=2), "tent"
        )


@pytest.mark.parametrize(
    ("over", "code", "status"),
    [
        ({"campground_id": "999999"}, "FACILITY_NOT_FOUND", 404),
        ({"end_date": open_day().isoformat()}, "INVALID_DATES", 400),
        (
            {
                "start_date": TOMORROW.isoformat(),
                "end_date": (TOMORROW - timedelta(days=3)).isoformat(),
            },
            "INVALID_DATES",
            400,
        ),
        (
            {"start_date": date.today().isoformat(), "end_date": TOMORROW.isoformat()},
            "BOOKING_WINDOW_CLOSED",
            422,
        ),
        (
            {
                "start_date": (date.today() + timedelta(days=200)).isoformat(),
                "end_date": (date.today() + timedelta(days=202)).isoformat(),
            },
            "BOOKING_WINDOW_CLOSED",
            422,
        ),
        ({"end_date": (open_day() + timedelta(days=15)).isoformat()}, "MAX_STAY_EXCEEDED", 422),
        ({"customer": {"equipment_type": "rv"}}, "INVALID_EQUIPMENT", 422),
        ({"customer": {"equipment_type": "hovercraft"}}, "INVALID_EQUIPMENT", 422),
        ({"campground_id": "PERMIT-9001", "site_id": "W01"}, "PERMIT_REQUIRED", 403),
    ],
)
async def test_business_errors_are_permanent_with_the_provider_code(
    over: dict[str, Any], code: str, status: int
) -> None:
    """Each date, window, stay, equipment and permit rule answers its code; ProviderRejected, one call."""
    async with direct("recreation_gov") as rg:
        with pytest.raises(ProviderRejected) as refused:
            await rg.client.create(_body(**over), idempotency_key="k")
        assert refused.value.code == code
        assert getattr(refused.value, "status", None) == status
        assert (await rg.state())["requests"]["by_route"]["POST /api/reservations/"] == 1


async def test_permit_holders_may_book_permit_areas() -> None:
    """With a permit_id the permit area books like any campground."""
    async with direct("recreation_gov") as rg:
        booked = await rg.client.create(
            _body(campground_id="PERMIT-9001", site_id="W01", customer={"permit_id": "PRM-2231"}),
            idempotency_key="p",
        )
        assert booked.campground_id == "PERMIT-9001"


async def test_availability_is_cached_for_a_minute_by_default() -> None:
    """docs/providers/README.md#client-defaults: the month grid is cached (60 s), so a second check within the minute costs no call."""
    async with direct("recreation_gov") as rg:
        start = open_day()
        first = await rg.client.available_sites("232447", start, start + timedelta(days=1))
        second = await rg.client.available_sites("232447", start, start + timedelta(days=1))
        assert first == second
        calls = (await rg.state())["requests"]["by_route"]
        assert calls["GET /api/camps/availability/campground/{campground_id}/month"] == len(
            {start.month, (start + timedelta(days=1)).month}
        )


async def test_ridb_search_and_facility() -> None:
    """RIDB answers RECDATA/METADATA; an unknown facility is FACILITY_NOT_FOUND."""
    async with direct("recreation_gov") as rg:
        found = await rg.client.facilities(latitude=39.5, longitude=-121.5, radius=50, limit=2)
        assert found["METADATA"]["RESULTS"]["CURRENT_COUNT"] == 2
        assert found["RECDATA"][0]["FacilityTypeDescription"] == "Campground"
        with pytest.raises(Rejected) as refused:
            await rg.client.facility("000")
        assert refused.value.code == "FACILITY_NOT_FOUND"


async def test_booking_calls_need_the_account_id() -> None:
    """Booking calls without the configured X-Account-Id are refused (UNAUTHORIZED)."""
    async with direct("recreation_gov", provider_overrides={"account_id": "someone-else"}) as rg:
        with pytest.raises(AuthFailed):
            await rg.client.create(_body(), idempotency_key="k")


async def test_modify_extends_the_stay_and_reprices() -> None:
    """PATCH end_date adds a night; fees follow."""
    async with direct("recreation_gov") as rg:
        booked = await rg.client.create(_body(nights=2), idempotency_key="a")
        end = (date.fromisoformat(booked.end_date or "") + timedelta(days=1)).isoformat()
        longer = await rg.client.modify(
            booked.reservation_id, {"end_date": end}, idempotency_key="b"
        )
        assert longer.nights == 3 and longer.fees is not None and longer.fees.nightly_total == 90.0
