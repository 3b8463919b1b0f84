"""OpenTable as a reservation platform: normalized commands → OpenTable API calls."""

from __future__ import annotations

from typing import Any

from hookline.config.models import HooklineSettings
from hookline.messages.reservation import OpenTableCreate
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
