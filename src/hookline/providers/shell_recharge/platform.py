"""Shell Recharge as a reservation and charging platform: normalized commands → its API calls."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from hookline.config.models import HooklineSettings
from hookline.errors import ProviderRejected, RetryableError
from hookline.messages.reservation import (
    EmergencyStop,
    ReservationCancel,
    ReservationModify,
    SessionStart,
    SessionStatusGet,
    SessionStop,
    ShellCreate,
    StationSearch,
)
from hookline.providers._reservation.clients import reservation_api
from hookline.providers._reservation.platform import Outcome, only, status_fields
from hookline.providers.shell_recharge.client import (
    CLIENT_DEFAULTS,
    CODES,
    CONNECTOR_RETRY_SECONDS,
    ERRORS,
    ShellRechargeClient,
)

__all__ = ["ShellPlatform", "from_settings"]

T = TypeVar("T")


class ShellPlatform:
    name = "shell_recharge"
    MODIFIABLE = ("start_time", "duration_minutes")

    def __init__(
        self, client: ShellRechargeClient, *, retry_later: float = CONNECTOR_RETRY_SECONDS
    ) -> None:
        self.client = client
        self.retry_later = retry_later

    async def _busy_means_later(self, call: Awaitable[T]) -> T:
        """A busy connector (``later`` codes) becomes a worker retry after ``retry_later`` seconds."""
        try:
            return await call
        except ProviderRejected as exc:
            spec = CODES.get(exc.code or "")
            if spec is not None and spec.later:
                raise RetryableError(
                    str(exc), retry_after=self.retry_later, code=exc.code, details=exc.details
                ) from exc
            raise

    async def create(self, command: ShellCreate, key: str) -> Outcome:
        body = {
            "station_id": command.venue_id,
            "connector_id": command.connector_id,
            "start_time": command.start_time,
            "duration_minutes": command.duration_minutes,
            "vehicle": command.vehicle.model_dump(exclude_none=True),
        }
        res = await self._busy_means_later(self.client.reserve(body, idempotency_key=key))
        return Outcome(res.reservation_id, self._result(res))

    async def modify(self, command: ReservationModify, key: str) -> Outcome:
        changes = only(command.changes, self.MODIFIABLE, self.name)
        res = await self.client.modify_reservation(
            command.reservation_id, changes, idempotency_key=key
        )
        return Outcome(res.reservation_id, self._result(res))

    async def cancel(self, command: ReservationCancel, key: str) -> Outcome:
        res = await self.client.cancel_reservation(
            command.reservation_id, reason=command.reason, idempotency_key=key
        )
        return Outcome(res.reservation_id, self._result(res))

    async def start(self, command: SessionStart, key: str) -> Outcome:
        session = await self._busy_means_later(
            self.client.start(
                command.station_id,
                command.connector_id,
                command.reservation_id,
                idempotency_key=key,
            )
        )
        return Outcome(
            session.session_id,
            {
                "status": session.status,
                "started_at": session.started_at,
                "station_id": command.station_id,
                "connector_id": command.connector_id,
                "reservation_id": command.reservation_id,
            },
        )

    async def stop(self, command: SessionStop, key: str) -> Outcome:
        receipt = await self.client.stop(
            command.session_id, reason=command.reason, idempotency_key=key
        )
        return Outcome(
            receipt.session_id,
            {
                "status": receipt.status,
                "energy_kwh": receipt.energy_kwh,
                "duration_minutes": receipt.duration_minutes,
                "cost": receipt.cost.model_dump(),
                "co2_saved_kg": receipt.co2_saved_kg,
            },
        )

    async def stations(self, command: StationSearch) -> dict[str, Any]:
        params: dict[str, Any] = {
            "latitude": command.latitude,
            "longitude": command.longitude,
            "radius_miles": command.radius_miles,
        }
        if command.connector_type:
            params["connector_type"] = command.connector_type
        if command.min_power_kw is not None:
            params["min_power_kw"] = command.min_power_kw
        if command.available_only:
            params["available_only"] = "true"
        found = await self.client.stations(**params)
        stations = [
            {
                "station_id": s.get("station_id"),
                "name": s.get("name"),
                "location": s.get("location"),
                "connectors": [
                    {
                        "connector_id": c.get("connector_id"),
                        "type": c.get("type"),
                        "power_kw": c.get("power_kw"),
                        "status": c.get("status"),
                    }
                    for c in s.get("connectors") or []
                    if isinstance(c, dict)
                ],
                "pricing": s.get("pricing"),
            }
            for s in found
            if isinstance(s, dict)
        ]
        return {"count": len(stations), "stations": stations}

    @staticmethod
    def _session(session: Any) -> dict[str, Any]:
        extra = session.model_extra or {}
        return {
            "status": session.status,
            "station_id": session.station_id,
            "connector_id": session.connector_id,
            "reservation_id": session.reservation_id,
            "started_at": session.started_at,
            "ended_at": extra.get("ended_at"),
            "energy_kwh": session.energy_kwh,
            "power_kw": session.power_kw,
            "soc_percent": session.soc_percent,
            "duration_seconds": session.duration_seconds,
            "cost": extra.get("cost"),
            "failure": extra.get("failure"),
        }

    async def status(self, command: SessionStatusGet) -> Outcome:
        session = await self.client.session(command.session_id)
        return Outcome(session.session_id, self._session(session))

    async def emergency_stop(self, command: EmergencyStop, key: str) -> Outcome:
        session = await self.client.emergency_stop(
            command.session_id, code=command.code, reason=command.reason, idempotency_key=key
        )
        return Outcome(session.session_id, self._session(session))

    async def health(self) -> bool:
        return await self.client.health()

    async def aclose(self) -> None:
        await self.client.api.aclose()

    @staticmethod
    def _result(res: Any) -> dict[str, Any]:
        return {
            **status_fields(res.status),
            "venue_id": res.station_id,
            "connector_id": res.connector_id,
            "start_time": res.start_time,
            "end_time": res.end_time,
            "duration_minutes": res.duration_minutes,
        }


def from_settings(settings: HooklineSettings) -> ShellPlatform:
    """The platform over ``providers.shell_recharge``; ``connector_retry_seconds`` (an
    extra) is how long a busy connector waits before the worker retries."""
    api, provider = reservation_api(settings, "shell_recharge", ERRORS, CLIENT_DEFAULTS)
    delay = (provider.model_extra or {}).get("connector_retry_seconds", CONNECTOR_RETRY_SECONDS)
    return ShellPlatform(ShellRechargeClient(api), retry_later=float(delay))
