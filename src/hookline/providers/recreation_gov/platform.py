"""Recreation.gov as a reservation platform: normalized commands → its API calls."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from hookline.config.models import HooklineSettings
from hookline.errors import ProviderRejected
from hookline.messages.reservation import (
    AvailabilityCheck,
    PermitLotteryEnter,
    PermitSearch,
    RecreationGovCreate,
    ReservationSearch,
)
from hookline.providers._reservation.clients import reservation_api
from hookline.providers._reservation.platform import BookingPlatform, Outcome, status_fields
from hookline.providers.recreation_gov.client import CLIENT_DEFAULTS, ERRORS, RecreationGovClient

__all__ = ["RecreationGovPlatform", "from_settings", "miles_between"]

PERMIT_ADVICE = (
    "this area needs a permit before a campsite can be booked: find one with "
    "reservation.permit.search (enter its lottery with reservation.permit.lottery.enter "
    "when it is issued by lottery), then book again with customer.permit_id"
)


def miles_between(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine) in statute miles."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 3958.8 * 2 * math.asin(math.sqrt(a))


class RecreationGovPlatform(BookingPlatform):
    name = "recreation_gov"
    MODIFIABLE = ("start_date", "end_date", "site_id", "customer")

    def __init__(self, client: RecreationGovClient) -> None:
        self.client = client

    async def create(self, command: RecreationGovCreate, key: str) -> Outcome:
        customer = command.customer.model_dump(
            include={
                "name",
                "email",
                "phone",
                "adults",
                "children",
                "equipment_type",
                "vehicles",
                "permit_id",
            },
            exclude_none=True,
        )
        body = {
            "campground_id": command.venue_id,
            "site_id": command.site_id,
            "start_date": command.start_date,
            "end_date": command.end_date,
            "customer": customer,
        }
        try:
            res = await self.client.create(body, idempotency_key=key)
        except ProviderRejected as exc:
            if exc.code != "PERMIT_REQUIRED":
                raise
            # The document lists PERMIT_REQUIRED ("need permit first"): say how to get one.
            raise ProviderRejected(
                f"{exc} - {PERMIT_ADVICE}", code=exc.code, details=exc.details
            ) from exc
        return Outcome(res.reservation_id, self._result(res))

    async def search(self, command: ReservationSearch) -> dict[str, Any]:
        params: dict[str, Any] = {
            "latitude": command.latitude,
            "longitude": command.longitude,
            "radius": command.radius_miles,
            "limit": 50,
        }
        if command.activity:
            params["activity"] = command.activity
        if command.amenities:
            params["amenities"] = ",".join(command.amenities)
        if command.campground_type:
            params["campground_type"] = command.campground_type
        body = await self.client.facilities(**params)
        venues = []
        for f in body.get("RECDATA") or []:
            lat, lng = f.get("FacilityLatitude"), f.get("FacilityLongitude")
            distance = None
            if isinstance(lat, (int, float)) and isinstance(lng, (int, float)):
                distance = round(miles_between(command.latitude, command.longitude, lat, lng), 1)
                if distance > command.radius_miles:
                    continue
            venues.append(
                {
                    "venue_id": str(f.get("FacilityID")),
                    "name": f.get("FacilityName"),
                    "type": f.get("FacilityTypeDescription"),
                    "reservable": f.get("Reservable"),
                    "amenities": f.get("Amenities") or [],
                    "distance_miles": distance,
                }
            )
        venues.sort(key=lambda v: (v["distance_miles"] is None, v["distance_miles"] or 0))
        venues = venues[: command.limit]
        return {"kind": "campground", "count": len(venues), "venues": venues}

    async def availability(self, command: AvailabilityCheck) -> dict[str, Any]:
        assert command.start_date is not None and command.end_date is not None  # the model checks
        start, end = date.fromisoformat(command.start_date), date.fromisoformat(command.end_date)
        if end <= start:
            raise ProviderRejected(
                "end_date must be after start_date", code="INVALID_DATES", details=None
            )
        sites = await self.client.available_sites(
            command.venue_id, start, end, command.equipment_type
        )
        return {
            "venue_id": command.venue_id,
            "start_date": command.start_date,
            "end_date": command.end_date,
            "nights": (end - start).days,
            "equipment_type": command.equipment_type,
            "available": bool(sites),
            "sites": sites,
        }

    async def permits(self, command: PermitSearch) -> dict[str, Any]:
        params: dict[str, Any] = {"activity": command.activity}
        if command.state:
            params["state"] = command.state
        found = await self.client.permits(**params)
        permits = [
            {
                "permit_id": str(p.get("PermitID")),
                "name": p.get("PermitName"),
                "activity": p.get("Activity"),
                "state": p.get("State"),
                "lottery": bool(p.get("Lottery")),
                "lottery_closes": p.get("LotteryCloses"),
                "advance_booking_days": p.get("AdvanceBookingDays"),
                "facility_id": p.get("FacilityID"),
            }
            for p in found
            if isinstance(p, dict)
        ]
        if command.lottery_only:
            permits = [p for p in permits if p["lottery"]]
        return {"activity": command.activity, "count": len(permits), "permits": permits}

    async def enter_lottery(self, command: PermitLotteryEnter, key: str) -> Outcome:
        body = {
            "preferred_dates": command.preferred_dates,
            "group_size": command.group_size,
            "customer": command.customer.model_dump(
                include={"name", "email", "phone"}, exclude_none=True
            ),
        }
        entry = await self.client.enter_lottery(command.permit_id, body, idempotency_key=key)
        return Outcome(
            str(entry.get("entry_id")),
            {
                "entry_id": entry.get("entry_id"),
                "permit_id": entry.get("permit_id", command.permit_id),
                "status": entry.get("status"),
                "preferred_dates": entry.get("preferred_dates", command.preferred_dates),
                "group_size": entry.get("group_size", command.group_size),
                "results_on": entry.get("results_on"),
            },
        )

    @staticmethod
    def _result(res: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            **status_fields(res.status),
            "confirmation": res.confirmation_code,
            "venue_id": res.campground_id,
            "site_id": res.site_id,
            "start_date": res.start_date,
            "end_date": res.end_date,
            "nights": res.nights,
        }
        if res.fees is not None:
            out["fees"] = res.fees.model_dump()
        if res.refund is not None:
            out["refund"] = res.refund.model_dump()
        return out


def from_settings(settings: HooklineSettings) -> RecreationGovPlatform:
    """The platform over ``providers.recreation_gov``, with the documented client-side defaults."""
    api, provider = reservation_api(settings, "recreation_gov", ERRORS, CLIENT_DEFAULTS)
    return RecreationGovPlatform(RecreationGovClient(api, provider))
