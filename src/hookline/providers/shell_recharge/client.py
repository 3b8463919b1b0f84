"""Shell Recharge endpoint methods on the shared :class:`~hookline.http.client.ApiClient`.

Stations, availability, connector reservations and charging sessions
(docs/providers/shell_recharge.md#operations). OAuth2 refresh tokens, ``X-API-Key``, request signing,
retries, breaker, rate limit and GET cache come from ``providers.shell_recharge``.
``CONNECTOR_UNAVAILABLE`` is the one retryable business code: the client raises it
as a refusal (a busy connector says nothing about Shell's health, so no inline retry
and no breaker failure) and the reservation service retries the command after
``connector_retry_seconds`` (provider-settings extra, default 30 s).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hookline.providers._reservation.clients import Defaults
from hookline.providers._reservation.errors import CodeSpec, error_map
from hookline.providers.probe import probe_read
from hookline.providers.shell_recharge.models import ConnectorReservation, Receipt, Session

if TYPE_CHECKING:
    from hookline.http.client import ApiClient

# A busy connector is retried after 30 s (Shell documents 3 attempts, 30 s apart) by the worker,
# not inline by the HTTP stack, and it never counts against the breaker.
CONNECTOR_RETRY_SECONDS = 30.0
CODES: dict[str, CodeSpec] = {
    "STATION_NOT_FOUND": CodeSpec(404, "P"),
    "CONNECTOR_NOT_FOUND": CodeSpec(404, "P"),
    "RESERVATION_NOT_FOUND": CodeSpec(404, "P"),
    "CONNECTOR_UNAVAILABLE": CodeSpec(409, "R", later=True),
    "INVALID_SESSION": CodeSpec(410, "P"),
    "PAYMENT_REQUIRED": CodeSpec(402, "P"),
    "VEHICLE_INCOMPATIBLE": CodeSpec(422, "P"),
    "RESERVATION_CONFLICT": CodeSpec(409, "P"),
    "MAX_DURATION_EXCEEDED": CodeSpec(422, "P"),
}
ERRORS = error_map(CODES)
# Client-side rate limit and GET cache TTLs where the configuration sets none.
CLIENT_DEFAULTS = Defaults(120, 100, {"/stations": 300, "/stations/*/availability": 30})


class ShellRechargeClient:
    """Stations, connector reservations and charging sessions at Shell Recharge."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    async def health(self) -> bool:
        """Token, then the station list: the cheapest authenticated read."""
        return await probe_read(self.api, "/stations")

    async def stations(self, **params: Any) -> list[dict[str, Any]]:
        response = await self.api.request("GET", "/stations", endpoint="stations", params=params)
        stations = response.json().get("stations", [])
        return list(stations) if isinstance(stations, list) else []

    async def availability(
        self, station_id: str, *, connector_id: str, duration_minutes: int
    ) -> dict[str, Any]:
        response = await self.api.request(
            "GET",
            f"/stations/{station_id}/availability",
            endpoint="availability",
            params={"connector_id": connector_id, "duration_minutes": duration_minutes},
        )
        body: dict[str, Any] = response.json()
        return body

    async def reserve(self, body: dict[str, Any], *, idempotency_key: str) -> ConnectorReservation:
        response = await self.api.request(
            "POST", "/reservations", endpoint="reserve", json=body, idempotency_key=idempotency_key
        )
        return ConnectorReservation.model_validate(response.json())

    async def modify_reservation(
        self, reservation_id: str, changes: dict[str, Any], *, idempotency_key: str
    ) -> ConnectorReservation:
        response = await self.api.request(
            "PATCH",
            f"/reservations/{reservation_id}",
            endpoint="modify",
            json=changes,
            idempotency_key=idempotency_key,
        )
        return ConnectorReservation.model_validate(response.json())

    async def cancel_reservation(
        self, reservation_id: str, *, reason: str | None = None, idempotency_key: str
    ) -> ConnectorReservation:
        response = await self.api.request(
            "POST",
            f"/reservations/{reservation_id}/cancel",
            endpoint="cancel",
            json={"reason": reason} if reason else {},
            idempotency_key=idempotency_key,
        )
        return ConnectorReservation.model_validate(response.json())

    async def start(
        self,
        station_id: str,
        connector_id: str,
        reservation_id: str | None = None,
        *,
        idempotency_key: str,
    ) -> Session:
        body: dict[str, Any] = {"station_id": station_id, "connector_id": connector_id}
        if reservation_id:
            body["reservation_id"] = reservation_id
        response = await self.api.request(
            "POST", "/sessions", endpoint="start", json=body, idempotency_key=idempotency_key
        )
        return Session.model_validate(response.json())

    async def session(self, session_id: str) -> Session:
        response = await self.api.request("GET", f"/sessions/{session_id}", endpoint="session")
        return Session.model_validate(response.json())

    async def emergency_stop(
        self, session_id: str, *, code: str, reason: str | None = None, idempotency_key: str
    ) -> Session:
        body: dict[str, Any] = {"code": code}
        if reason:
            body["reason"] = reason
        response = await self.api.request(
            "POST",
            f"/sessions/{session_id}/emergency-stop",
            endpoint="emergency_stop",
            json=body,
            idempotency_key=idempotency_key,
        )
        return Session.model_validate(response.json())

    async def stop(
        self, session_id: str, *, reason: str | None = None, idempotency_key: str
    ) -> Receipt:
        response = await self.api.request(
            "POST",
            f"/sessions/{session_id}/stop",
            endpoint="stop",
            json={"reason": reason} if reason else {},
            idempotency_key=idempotency_key,
        )
        return Receipt.model_validate(response.json())
