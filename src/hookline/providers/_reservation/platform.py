"""The reservation port: one normalized face over every platform (create, modify, cancel).

Each :class:`Platform` maps the normalized command models to its client's
endpoint calls and answers an :class:`Outcome` — the entity id and the subset
of the provider's answer that goes into the result event. Every call carries
the command id as ``Idempotency-Key``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from hookline.errors import PermanentError
from hookline.messages.reservation import (
    AvailabilityCheck,
    EmergencyStop,
    PermitLotteryEnter,
    PermitSearch,
    ReservationCancel,
    ReservationModify,
    ReservationSearch,
    SessionStart,
    SessionStatusGet,
    SessionStop,
    StationSearch,
)

# Recreation.gov and Shell say "reserved"; results speak the events' vocabulary.
_STATUS = {"reserved": "confirmed"}


@dataclass(frozen=True)
class Outcome:
    entity_id: str
    result: dict[str, Any]


class Platform(Protocol):
    """What the reservation service asks of a platform; each provider folder's
    ``platform.py`` implements it and offers ``from_settings(settings)``."""

    name: str

    async def create(self, command: Any, key: str) -> Outcome: ...

    async def modify(self, command: ReservationModify, key: str) -> Outcome: ...

    async def cancel(self, command: ReservationCancel, key: str) -> Outcome: ...

    async def health(self) -> bool:
        """The platform's health probe: token, then its cheapest authenticated read
        (docs/providers/README.md#health-probes); raises the client's errors."""

    async def aclose(self) -> None: ...


@runtime_checkable
class SearchPlatform(Platform, Protocol):
    """A platform that searches venues and answers their availability (OpenTable, Recreation.gov).

    Both answer a result dict (``venues``/``slots``/``sites`` and counts); reads, no key."""

    async def search(self, command: ReservationSearch) -> dict[str, Any]: ...

    async def availability(self, command: AvailabilityCheck) -> dict[str, Any]: ...


@runtime_checkable
class PermitPlatform(Platform, Protocol):
    """A platform that issues permits by activity, some through lotteries (Recreation.gov)."""

    async def permits(self, command: PermitSearch) -> dict[str, Any]: ...

    async def enter_lottery(self, command: PermitLotteryEnter, key: str) -> Outcome: ...


@runtime_checkable
class ChargingPlatform(Platform, Protocol):
    """A platform that also runs charging sessions and finds stations (Shell Recharge)."""

    async def start(self, command: SessionStart, key: str) -> Outcome: ...

    async def stop(self, command: SessionStop, key: str) -> Outcome: ...

    async def stations(self, command: StationSearch) -> dict[str, Any]: ...

    async def status(self, command: SessionStatusGet) -> Outcome: ...

    async def emergency_stop(self, command: EmergencyStop, key: str) -> Outcome: ...


def only(changes: dict[str, Any], allowed: tuple[str, ...], provider: str) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise PermanentError(
            f"{provider} cannot change {', '.join(unknown)} (allowed: {', '.join(allowed)})",
            code="INVALID_COMMAND",
            details={"fields": unknown},
        )
    return changes


def status_fields(value: str) -> dict[str, str]:
    return {"status": _STATUS.get(value, value), "provider_status": value}


class BookingPlatform:
    """Modify and cancel as OpenTable and Recreation.gov share them; ``create`` and
    ``_result`` are each platform's own."""

    name: str
    MODIFIABLE: tuple[str, ...]
    client: Any  # an endpoint client with ``api``, ``modify`` and ``cancel``

    async def modify(self, command: ReservationModify, key: str) -> Outcome:
        changes = only(command.changes, self.MODIFIABLE, self.name)
        res = await self.client.modify(command.reservation_id, changes, idempotency_key=key)
        return Outcome(res.reservation_id, self._result(res))

    async def cancel(self, command: ReservationCancel, key: str) -> Outcome:
        res = await self.client.cancel(
            command.reservation_id, reason=command.reason, idempotency_key=key
        )
        return Outcome(res.reservation_id, self._result(res))

    async def health(self) -> bool:
        return bool(await self.client.health())

    async def aclose(self) -> None:
        await self.client.api.aclose()

    @staticmethod
    def _result(res: Any) -> dict[str, Any]:
        raise NotImplementedError
