"""A tiny example reservation platform ("desks") on the reservation kit, for the kit's tests.

It has what a platform built on :class:`BookingDesk` has and nothing else: a
world of :class:`Bookings` (one desk per day, taken by a booking and given back
by a cancellation), JSON callbacks, and the kit's four booking routes under
``/v1/bookings`` behind no checks.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from hookline.config.models import HooklineSettings, SimulatorSettings
from hookline.providers._reservation.errors import CodeSpec
from hookline.providers._reservation.simdesk import BookingDesk, Bookings
from hookline.providers._reservation.simkit import SimError
from hookline.sandbox import Callback, SimulatorLayer

CODES = {
    "INVALID_REQUEST": CodeSpec(400, "P"),
    "RESERVATION_NOT_FOUND": CodeSpec(404, "P"),
    "DESK_TAKEN": CodeSpec(409, "P"),
}
EVENTS = (
    "reservation.created",
    "reservation.modified",
    "reservation.cancelled",
    "reservation.reminder",
)
SIGNING = {"scheme": "hmac", "header": "X-Desk-Signature", "timestamp_header": "X-Desk-Timestamp"}


class Desks(Bookings):
    """Bookings of one desk a day: a day is taken until its booking is cancelled."""

    def __init__(self) -> None:
        super().__init__()
        self.taken: set[str] = set()

    def reset(self) -> None:
        super().reset()
        self.taken.clear()

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        day = str(body.get("day", ""))
        if day in self.taken:
            raise SimError("DESK_TAKEN", f"the desk is taken on {day}")
        self.taken.add(day)
        return self.keep({"reservation_id": self.next_id("dk_"), "status": "confirmed", "day": day})

    def modify(
        self, reservation_id: str, body: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        reservation = self.changeable(reservation_id)
        note = body.get("note", reservation.get("note"))
        changes = (
            {}
            if note == reservation.get("note")
            else {"note": {"from": reservation.get("note"), "to": note}}
        )
        reservation["note"] = note
        return reservation, changes

    def released(self, reservation: dict[str, Any]) -> None:
        self.taken.discard(reservation["day"])


class DesksSimulator(BookingDesk):
    provider = "desks"
    events = EVENTS
    cancelled_by = "guest"
    closed_by = ("office", "office closed")

    def __init__(self, settings: HooklineSettings, sim_settings: SimulatorSettings) -> None:
        self.desks = Desks()
        self.event_ids = itertools.count(1)
        super().__init__(
            settings,
            sim_settings,
            self.desks,
            source="desks",
            codes=CODES,
            sample={"reservation_id": "dk_1", "status": "confirmed"},
            signing=SIGNING,
            credential=self.anyone,
        )

    @staticmethod
    async def anyone(request: Any) -> str:
        return "anyone"

    def callback(self, event: str, reservation: dict[str, Any], fields: dict[str, Any]) -> Callback:
        event_id = f"evt_{next(self.event_ids)}"
        body = {"id": event_id, "type": event, "data": {**reservation, **fields}}
        return Callback(
            entity=reservation["reservation_id"],
            event_id=event_id,
            url=self.sim.callback_url,
            body=json.dumps(body).encode(),
            scheme=self.scheme,
        )

    def build(self) -> SimulatorLayer:
        self.route_bookings("/v1/bookings", ())
        self.sim.on_emit(self.emit)
        self.sim.on_reset(self.desks.reset)
        self.sim.on_state(lambda: {"entities": {"reservations": dict(self.desks.reservations)}})
        return self.sim.build()


def create_app(settings: HooklineSettings, sim_settings: SimulatorSettings) -> SimulatorLayer:
    return DesksSimulator(settings, sim_settings).build()
