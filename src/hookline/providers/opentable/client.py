"""OpenTable endpoint methods on the shared :class:`~hookline.http.client.ApiClient`.

OAuth2 refresh tokens, the ``X-API-Key`` header, request signing, retries, the
breaker, the rate limit and the GET cache come from ``providers.opentable`` and
are applied by the ApiClient; this module holds the endpoints (docs/providers/opentable.md#operations) and the error-code table (docs/providers/reservations.md#error-body-and-shared-codes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hookline.providers._reservation.clients import Defaults
from hookline.providers._reservation.errors import CodeSpec, error_map
from hookline.providers.opentable.models import Availability, Reservation
from hookline.providers.probe import probe_read

if TYPE_CHECKING:
    from hookline.http.client import ApiClient

CODES: dict[str, CodeSpec] = {
    "RESTAURANT_NOT_FOUND": CodeSpec(404, "P"),
    "RESERVATION_NOT_FOUND": CodeSpec(404, "P"),
    "NO_AVAILABILITY": CodeSpec(409, "P"),
    "INVALID_PARTY_SIZE": CodeSpec(422, "P"),
    "BOOKING_WINDOW_EXCEEDED": CodeSpec(422, "P"),
    "DUPLICATE_RESERVATION": CodeSpec(409, "P"),
    "PAYMENT_REQUIRED": CodeSpec(402, "P"),
    "RESTAURANT_CLOSED": CodeSpec(422, "P"),
}
ERRORS = error_map(CODES)
# Client-side rate limit and GET cache TTLs where the configuration sets none.
CLIENT_DEFAULTS = Defaults(60, 100, {"/restaurants": 300, "/restaurants/*/availability": 60})


class OpenTableClient:
    """Search, availability and the reservation lifecycle at OpenTable."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    async def health(self) -> bool:
        """Token, then a restaurant search: the cheapest authenticated read."""
        return await probe_read(self.api, "/restaurants")

    async def search(self, **params: Any) -> list[dict[str, Any]]:
        response = await self.api.request("GET", "/restaurants", endpoint="search", params=params)
        restaurants = response.json().get("restaurants", [])
        return list(restaurants) if isinstance(restaurants, list) else []

    async def availability(
        self, restaurant_id: str, *, party_size: int, date: str, time_preference: str | None = None
    ) -> Availability:
        params: dict[str, Any] = {"party_size": party_size, "date": date}
        if time_preference:
            params["time_preference"] = time_preference
        response = await self.api.request(
            "GET",
            f"/restaurants/{restaurant_id}/availability",
            endpoint="availability",
            params=params,
        )
        return Availability.model_validate(response.json())

    async def create(self, body: dict[str, Any], *, idempotency_key: str) -> Reservation:
        response = await self.api.request(
            "POST", "/reservations", endpoint="create", json=body, idempotency_key=idempotency_key
        )
        return Reservation.model_validate(response.json())

    async def get(self, reservation_id: str) -> Reservation:
        response = await self.api.request(
            "GET", f"/reservations/{reservation_id}", endpoint="status"
        )
        return Reservation.model_validate(response.json())

    async def modify(
        self, reservation_id: str, changes: dict[str, Any], *, idempotency_key: str
    ) -> Reservation:
        response = await self.api.request(
            "PATCH",
            f"/reservations/{reservation_id}",
            endpoint="modify",
            json=changes,
            idempotency_key=idempotency_key,
        )
        return Reservation.model_validate(response.json())

    async def cancel(
        self, reservation_id: str, *, reason: str | None = None, idempotency_key: str
    ) -> Reservation:
        response = await self.api.request(
            "POST",
            f"/reservations/{reservation_id}/cancel",
            endpoint="cancel",
            json={"reason": reason} if reason else {},
            idempotency_key=idempotency_key,
        )
        return Reservation.model_validate(response.json())
