"""Recreation.gov as a reservation platform: normalized commands → its API calls."""

from __future__ import annotations

from typing import Any

from hookline.config.models import HooklineSettings
from hookline.messages.reservation import RecreationGovCreate
from hookline.providers._reservation.clients import reservation_api
from hookline.providers._reservation.platform import BookingPlatform, Outcome, status_fields
from hookline.providers.recreation_gov.client import CLIENT_DEFAULTS, ERRORS, RecreationGovClient

__all__ = ["RecreationGovPlatform", "from_settings"]


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
        res = await self.client.create(body, idempotency_key=key)
        return Outcome(res.reservation_id, self._result(res))

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
