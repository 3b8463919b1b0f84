"""Recreation.gov endpoint methods: RIDB search, campground availability and bookings.

Three bases (docs/providers/recreation_gov.md#operations): RIDB at ``base_url``; availability at
``availability_url`` (default ``https://www.recreation.gov/api/camps/availability/campground``)
and bookings at ``reservations_url`` (default ``https://www.recreation.gov/api/reservations``),
both provider-settings extras. The ``apikey`` header and request signing come from
``providers.recreation_gov.auth``; booking calls add ``X-Account-Id`` (extra ``account_id``).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from hookline.config.models import ProviderSettings
from hookline.config.secrets import Secret
from hookline.providers._reservation.clients import Defaults
from hookline.providers._reservation.errors import CodeSpec, error_map
from hookline.providers.probe import probe_read
from hookline.providers.recreation_gov.models import MonthAvailability, Reservation

if TYPE_CHECKING:
    from hookline.http.client import ApiClient

CODES: dict[str, CodeSpec] = {
    "FACILITY_NOT_FOUND": CodeSpec(404, "P"),
    "RESERVATION_NOT_FOUND": CodeSpec(404, "P"),
    "NO_AVAILABILITY": CodeSpec(409, "P"),
    "INVALID_DATES": CodeSpec(400, "P"),
    "BOOKING_WINDOW_CLOSED": CodeSpec(422, "P"),
    "PERMIT_REQUIRED": CodeSpec(403, "P"),
    "MAX_STAY_EXCEEDED": CodeSpec(422, "P"),
    "INVALID_EQUIPMENT": CodeSpec(422, "P"),
    "PERMIT_NOT_FOUND": CodeSpec(404, "P"),
    "LOTTERY_CLOSED": CodeSpec(422, "P"),
}
ERRORS = error_map(CODES)
# Client-side rate limit and GET cache TTLs where the configuration sets none.
CLIENT_DEFAULTS = Defaults(
    50,
    200,
    {"/facilities": 3600, "/facilities/**": 3600, "**/availability/campground/*/month": 60},
)

DEFAULT_AVAILABILITY_URL = "https://www.recreation.gov/api/camps/availability/campground"
DEFAULT_RESERVATIONS_URL = "https://www.recreation.gov/api/reservations"
DEFAULT_PERMITS_URL = "https://www.recreation.gov/api/permits"


def _extra(settings: ProviderSettings, key: str, default: str | None = None) -> str | None:
    value = (settings.model_extra or {}).get(key, default)
    if value is None:
        return None
    return value.get() if isinstance(value, Secret) else Secret(str(value)).get()


def nights(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]


class RecreationGovClient:
    """RIDB facilities, availability across a stay, and the booking lifecycle."""

    def __init__(self, api: ApiClient, settings: ProviderSettings) -> None:
        self.api = api
        self.availability_url = (
            _extra(settings, "availability_url", DEFAULT_AVAILABILITY_URL) or ""
        ).rstrip("/")
        self.reservations_url = (
            _extra(settings, "reservations_url", DEFAULT_RESERVATIONS_URL) or ""
        ).rstrip("/")
        self.account_id = _extra(settings, "account_id")
        self.permits_url = (_extra(settings, "permits_url", DEFAULT_PERMITS_URL) or "").rstrip("/")

    def _account(self) -> dict[str, str]:
        return {"X-Account-Id": self.account_id} if self.account_id else {}

    async def health(self) -> bool:
        """One RIDB facility: proves the ``apikey`` and the API (bookings share the key)."""
        return await probe_read(self.api, "/facilities", params={"limit": 1})

    async def facilities(self, **params: Any) -> dict[str, Any]:
        response = await self.api.request(
            "GET", "/facilities", endpoint="facilities", params=params
        )
        body: dict[str, Any] = response.json()
        return body

    async def facility(self, facility_id: str) -> dict[str, Any]:
        response = await self.api.request("GET", f"/facilities/{facility_id}", endpoint="facility")
        body: dict[str, Any] = response.json()
        return body

    async def month(self, campground_id: str, month_start: date) -> MonthAvailability:
        response = await self.api.request(
            "GET",
            f"{self.availability_url}/{campground_id}/month",
            endpoint="availability",
            params={"start_date": f"{month_start:%Y-%m}-01T00:00:00.000Z"},
        )
        return MonthAvailability.model_validate(response.json())

    async def available_sites(
        self, campground_id: str, start: date, end: date, equipment_type: str | None = None
    ) -> list[str]:
        """Sites free for every night in [start, end) (only ``Available`` counts) that allow the equipment."""
        wanted = nights(start, end)
        grids: dict[str, dict[str, str]] = {}
        sites: dict[str, Any] = {}
        for month_start in sorted({d.replace(day=1) for d in wanted}):
            month = await self.month(campground_id, month_start)
            for site_id, site in month.campsites.items():
                sites[site_id] = site
                grids.setdefault(site_id, {}).update(site.availabilities)
        out = []
        for site_id, grid in grids.items():
            if equipment_type and equipment_type not in sites[site_id].permitted_equipment:
                continue
            if all(grid.get(f"{d.isoformat()}T00:00:00Z") == "Available" for d in wanted):
                out.append(site_id)
        return sorted(out)

    async def permits(self, **params: Any) -> list[dict[str, Any]]:
        """RIDB permits, filtered by ``activity`` and ``state``."""
        response = await self.api.request("GET", "/permits", endpoint="permits", params=params)
        found = response.json().get("RECDATA", [])
        return list(found) if isinstance(found, list) else []

    async def enter_lottery(
        self, permit_id: str, body: dict[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        response = await self.api.request(
            "POST",
            f"{self.permits_url}/{permit_id}/lottery",
            endpoint="lottery",
            json=body,
            headers=self._account(),
            idempotency_key=idempotency_key,
        )
        entry: dict[str, Any] = response.json()
        return entry

    async def create(self, body: dict[str, Any], *, idempotency_key: str) -> Reservation:
        response = await self.api.request(
            "POST",
            f"{self.reservations_url}/",
            endpoint="create",
            json=body,
            headers=self._account(),
            idempotency_key=idempotency_key,
        )
        return Reservation.model_validate(response.json())

    async def get(self, reservation_id: str) -> Reservation:
        response = await self.api.request(
            "GET",
            f"{self.reservations_url}/{reservation_id}",
            endpoint="status",
            headers=self._account(),
        )
        return Reservation.model_validate(response.json())

    async def modify(
        self, reservation_id: str, changes: dict[str, Any], *, idempotency_key: str
    ) -> Reservation:
        response = await self.api.request(
            "PATCH",
            f"{self.reservations_url}/{reservation_id}",
            endpoint="modify",
            json=changes,
            headers=self._account(),
            idempotency_key=idempotency_key,
        )
        return Reservation.model_validate(response.json())

    async def cancel(
        self, reservation_id: str, *, reason: str | None = None, idempotency_key: str
    ) -> Reservation:
        response = await self.api.request(
            "POST",
            f"{self.reservations_url}/{reservation_id}/cancel",
            endpoint="cancel",
            json={"reason": reason} if reason else {},
            headers=self._account(),
            idempotency_key=idempotency_key,
        )
        return Reservation.model_validate(response.json())
