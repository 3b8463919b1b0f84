"""OpenTable as a reservation platform: normalized commands → OpenTable API calls."""

from __future__ import annotations

from typing import Any

from hookline.config.models import HooklineSettings
from hookline.messages.reservation import AvailabilityCheck, OpenTableCreate, ReservationSearch
from hookline.providers._reservation.clients import reservation_api
from hookline.providers._reservation.platform import BookingPlatform, Outcome, status_fields
from hookline.providers.opentable.client import CLIENT_DEFAULTS, ERRORS, OpenTableClient

__all__ = ["OpenTablePlatform", "from_settings"]


class OpenTablePlatform(BookingPlatform):
    name = "opentable"
    MODIFIABLE = ("party_size", "date", "time", "special_requests")

    def __init__(self, client: OpenTableClient) -> None:
        self.client = client

    async def create(self, command: OpenTableCreate, key: str) -> Outcome:
        customer = command.customer.model_dump(
            include={
                "name",
                "email",
                "phone",
                "special_requests",
                "dietary_restrictions",
                "occasion",
            },
            exclude_none=True,
        )
        body = {
            "restaurant_id": command.venue_id,
            "party_size": command.party_size,
            "date": command.date,
            "time": command.time,
            "customer": customer,
        }
        res = await self.client.create(body, idempotency_key=key)
        return Outcome(res.reservation_id, self._result(res))

    async def search(self, command: ReservationSearch) -> dict[str, Any]:
        params: dict[str, Any] = {
            "latitude": command.latitude,
            "longitude": command.longitude,
            "radius_miles": command.radius_miles,
        }
        for name in ("cuisine_type", "party_size", "datetime", "price_range"):
            value = getattr(command, name)
            if value is not None:
                params[name] = value
        found = (await self.client.search(**params))[: command.limit]
        venues = [
            {
                "venue_id": r.get("restaurant_id"),
                "name": r.get("name"),
                "cuisine": r.get("cuisine"),
                "price_range": r.get("price_range"),
                "distance_miles": r.get("distance_miles"),
                "offers": r.get("offers") or [],
            }
            for r in found
            if isinstance(r, dict)
        ]
        return {"kind": "restaurant", "count": len(venues), "venues": venues}

    async def availability(self, command: AvailabilityCheck) -> dict[str, Any]:
        assert command.party_size is not None and command.date is not None  # the model checks
        answer = await self.client.availability(
            command.venue_id,
            party_size=command.party_size,
            date=command.date,
            time_preference=command.time_preference,
        )
        slots = [s.model_dump() for s in answer.slots]
        return {
            "venue_id": command.venue_id,
            "date": command.date,
            "party_size": command.party_size,
            "available": bool(slots),
            "slots": slots,
        }

    @staticmethod
    def _result(res: Any) -> dict[str, Any]:
        return {
            **status_fields(res.status),
            "confirmation": res.confirmation_number,
            "venue_id": res.restaurant_id,
            "date": res.date,
            "time": res.time,
            "party_size": res.party_size,
        }


def from_settings(settings: HooklineSettings) -> OpenTablePlatform:
    """The platform over ``providers.opentable``, with the documented client-side defaults."""
    api, _ = reservation_api(settings, "opentable", ERRORS, CLIENT_DEFAULTS)
    return OpenTablePlatform(OpenTableClient(api))
