"""One normalized face over three platforms: create, modify, cancel (and charging on Shell).

Each :class:`Platform` maps the normalized command models to its client's
endpoint calls and answers an :class:`Outcome` — the entity id and the subset
of the provider's answer that goes into the result event. Every call carries
the command id as ``Idempotency-Key``.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from hookline.errors import PermanentError, ProviderRejected, RetryableError
from hookline.providers.opentable.client import OpenTableClient
from hookline.providers.recreation_gov.client import RecreationGovClient
from hookline.providers.shell_recharge.client import (
    CODES,
    CONNECTOR_RETRY_SECONDS,
    ShellRechargeClient,
)
from hookline.services.reservation.models import (
    OpenTableCreate,
    RecreationGovCreate,
    ReservationCancel,
    ReservationModify,
    SessionStart,
    SessionStop,
    ShellCreate,
)

T = TypeVar("T")

# Recreation.gov and Shell say "reserved"; results speak the events' vocabulary.
_STATUS = {"reserved": "confirmed"}


@dataclass(frozen=True)
class Outcome:
    entity_id: str
    result: dict[str, Any]


class Platform(Protocol):
    name: str

    async def create(self, command: Any, key: str) -> Outcome: ...

    async def modify(self, command: ReservationModify, key: str) -> Outcome: ...

    async def cancel(self, command: ReservationCancel, key: str) -> Outcome: ...


def _only(changes: dict[str, Any], allowed: tuple[str, ...], provider: str) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise PermanentError(
            f"{provider} cannot change {', '.join(unknown)} (allowed: {', '.join(allowed)})",
            code="INVALID_COMMAND",
            details={"fields": unknown},
        )
    return changes


def _status(value: str) -> dict[str, str]:
    return {"status": _STATUS.get(value, value), "provider_status": value}


class _BookingPlatform:
    """Modify and cancel as OpenTable and Recreation.gov share them; ``create`` and
    ``_result`` are each platform's own."""

    name: str
    MODIFIABLE: tuple[str, ...]
    client: OpenTableClient | RecreationGovClient

    async def modify(self, command: ReservationModify, key: str) -> Outcome:
        changes = _only(command.changes, self.MODIFIABLE, self.name)
        res = await self.client.modify(command.reservation_id, changes, idempotency_key=key)
        return Outcome(res.reservation_id, self._result(res))

    async def cancel(self, command: ReservationCancel, key: str) -> Outcome:
        res = await self.client.cancel(
            command.reservation_id, reason=command.reason, idempotency_key=key
        )
        return Outcome(res.reservation_id, self._result(res))

    @staticmethod
    def _result(res: Any) -> dict[str, Any]:
        raise NotImplementedError


class OpenTablePlatform(_BookingPlatform):
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
            **_status(res.status),
            "confirmation": res.confirmation_number,
            "venue_id": res.restaurant_id,
            "date": res.date,
            "time": res.time,
            "party_size": res.party_size,
        }


class RecreationGovPlatform(_BookingPlatform):
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
            **_status(res.status),
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


class ShellPlatform:
    name = "shell_recharge"
    MODIFIABLE = ("start_time", "duration_minutes")

    def __init__(self, client: ShellRechargeClient, *, retry_later: float = CONNECTOR_RETRY_SECONDS) -> None:
        self.client = client
        self.retry_later = retry_later

    async def _busy_means_later(self, call: Awaitable[T]) -> T:
        """A busy connector (``later`` codes) becomes a worker retry after ``retry_later`` seconds."""
        try:
            return await call
        except ProviderRejected as exc:
            spec = CODES.get(exc.code or "")
            if spec is not None and spec.later:
                raise RetryableError(str(exc), retry_after=self.retry_later, code=exc.code,
                                     details=exc.details) from exc
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
        changes = _only(command.changes, self.MODIFIABLE, self.name)
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
        session = await self._busy_means_later(self.client.start(
            command.station_id, command.connector_id, command.reservation_id, idempotency_key=key
        ))
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

    @staticmethod
    def _result(res: Any) -> dict[str, Any]:
        return {
            **_status(res.status),
            "venue_id": res.station_id,
            "connector_id": res.connector_id,
            "start_time": res.start_time,
            "end_time": res.end_time,
            "duration_minutes": res.duration_minutes,
        }
