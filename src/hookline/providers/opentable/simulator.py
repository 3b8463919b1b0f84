"""The OpenTable simulator (docs/providers/opentable.md#simulator) on the sandbox kit.

State: a small restaurant catalog whose tables run out — each (restaurant,
date, time) slot has ``tables_per_slot`` tables (default 2); a booking takes
one, a cancellation gives it back, a modification moves it. Every change is
sent to the ingress as a Standard Webhooks-signed ``reservation.*`` callback,
FIFO per reservation. ``reservation.reminder`` (and a restaurant-side
cancellation) only on ``/_sim/emit``.

Simulator settings extras: ``tables_per_slot``, ``require_signature`` and the
credentials of :mod:`hookline.providers._reservation.simkit`.
"""

from __future__ import annotations

import json
import secrets
from datetime import date, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hookline.config.models import HooklineSettings, SimulatorSettings
from hookline.providers._reservation.simdesk import BookingDesk, Bookings
from hookline.providers._reservation.simkit import (
    SimError,
    TokenIssuer,
    bearer_checks,
    extra,
    iso,
    parse_date,
    utcnow,
)
from hookline.providers.opentable.client import CODES
from hookline.sandbox import Callback, SimulatorLayer

__all__ = [
    "EVENTS",
    "RESTAURANTS",
    "OpenTableSimulator",
    "OpenTableWorld",
    "create_app",
    "next_open_day",
]

BASE = "/v2"
RESTAURANTS: dict[str, dict[str, Any]] = {
    "rest_001": {
        "name": "Trattoria Uno",
        "cuisine": "Italian",
        "price_range": "$$",
        "distance_miles": 1.2,
    },
    "rest_002": {
        "name": "Sakura House",
        "cuisine": "Japanese",
        "price_range": "$$$",
        "distance_miles": 2.8,
    },
    "rest_003": {
        "name": "The Oak Room",
        "cuisine": "American",
        "price_range": "$$$$",
        "distance_miles": 4.1,
    },
}
SLOTS = tuple(f"{h:02d}:{m:02d}" for h in range(17, 23) for m in (0, 30))
BOOKING_WINDOW_DAYS = 90
MAX_PARTY = 20
PAYMENT_PARTY = 10
EVENTS = (
    "reservation.created",
    "reservation.modified",
    "reservation.cancelled",
    "reservation.reminder",
)
CUSTOMER_FIELDS = ("name", "email", "phone", "special_requests", "dietary_restrictions", "occasion")
SAMPLE = {"reservation_id": "ot_res_8f2a", "status": "confirmed"}


class OpenTableWorld(Bookings):
    """Restaurants, tables and reservations; every method raises :class:`SimError` on a business error."""

    def __init__(self, tables_per_slot: int = 2) -> None:
        super().__init__()
        self.tables_per_slot = tables_per_slot
        self.taken: dict[tuple[str, str, str], int] = {}

    def reset(self) -> None:
        super().reset()
        self.taken.clear()

    def free(self, restaurant_id: str, day: str, time: str) -> int:
        if time not in SLOTS:
            return 0
        return self.tables_per_slot - self.taken.get((restaurant_id, day, time), 0)

    def _check(self, restaurant_id: str, party_size: Any, day_text: Any, time: Any) -> None:
        if restaurant_id not in RESTAURANTS:
            raise SimError(
                "RESTAURANT_NOT_FOUND",
                f"restaurant {restaurant_id} does not exist",
                {"restaurant_id": restaurant_id},
            )
        if not isinstance(party_size, int) or party_size < 1 or party_size > MAX_PARTY:
            raise SimError(
                "INVALID_PARTY_SIZE",
                f"party size must be 1 to {MAX_PARTY}",
                {"party_size": party_size},
            )
        if party_size >= PAYMENT_PARTY:
            raise SimError(
                "PAYMENT_REQUIRED", f"parties of {PAYMENT_PARTY} or more need a card on file"
            )
        day = parse_date(day_text, "date")
        today = utcnow().date()
        if day < today:
            raise SimError("BOOKING_WINDOW_EXCEEDED", "date is in the past", {"date": str(day)})
        if day > today + timedelta(days=BOOKING_WINDOW_DAYS):
            raise SimError(
                "BOOKING_WINDOW_EXCEEDED",
                f"bookings open {BOOKING_WINDOW_DAYS} days ahead",
                {"date": str(day)},
            )
        if day.weekday() == 0:
            raise SimError("RESTAURANT_CLOSED", "closed on Mondays", {"date": str(day)})
        if not isinstance(time, str) or self.free(restaurant_id, str(day), time) <= 0:
            raise SimError(
                "NO_AVAILABILITY",
                f"No tables for {party_size} at {time}",
                {"restaurant_id": restaurant_id},
            )

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        restaurant_id = str(body.get("restaurant_id", ""))
        customer = body.get("customer")
        if not isinstance(customer, dict) or not customer.get("name") or not customer.get("email"):
            raise SimError(
                "INVALID_REQUEST", "customer.name and customer.email are required", status=400
            )
        self._check(restaurant_id, body.get("party_size"), body.get("date"), body.get("time"))
        for existing in self.reservations.values():
            if (
                existing["status"] == "confirmed"
                and (existing["restaurant_id"], existing["date"], existing["time"])
                == (restaurant_id, body["date"], body["time"])
                and existing["customer"]["email"] == customer["email"]
            ):
                raise SimError(
                    "DUPLICATE_RESERVATION",
                    "already booked",
                    {"reservation_id": existing["reservation_id"]},
                )
        now = iso(utcnow())
        reservation = {
            "reservation_id": self.next_id("ot_res_"),
            "confirmation_number": f"OT-{secrets.randbelow(900000) + 100000}",
            "restaurant_id": restaurant_id,
            "restaurant_name": RESTAURANTS[restaurant_id]["name"],
            "party_size": body["party_size"],
            "date": str(body["date"]),
            "time": body["time"],
            "timezone": "America/Los_Angeles",
            "status": "confirmed",
            "customer": {
                k: customer.get(k) for k in CUSTOMER_FIELDS if customer.get(k) is not None
            },
            "created_at": now,
            "updated_at": now,
        }
        self._take(reservation, +1)
        return self.keep(reservation)

    def _take(self, reservation: dict[str, Any], delta: int) -> None:
        key = (reservation["restaurant_id"], reservation["date"], reservation["time"])
        self.taken[key] = self.taken.get(key, 0) + delta

    def modify(
        self, reservation_id: str, body: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        reservation = self.changeable(reservation_id)
        wanted: dict[str, Any] = {k: body[k] for k in ("party_size", "date", "time") if k in body}
        target = {**reservation, **wanted}
        moved = (target["date"], target["time"]) != (reservation["date"], reservation["time"])
        self._take(reservation, -1)  # our own table does not count against the move
        try:
            self._check(
                reservation["restaurant_id"], target["party_size"], target["date"], target["time"]
            )
        finally:
            self._take(reservation, +1)
        changes: dict[str, Any] = {
            k: {"from": reservation[k], "to": v} for k, v in wanted.items() if reservation[k] != v
        }
        if "special_requests" in body:
            before = reservation["customer"].get("special_requests")
            if before != body["special_requests"]:
                changes["special_requests"] = {"from": before, "to": body["special_requests"]}
            reservation["customer"]["special_requests"] = body["special_requests"]
        if moved:
            self._take(reservation, -1)
        reservation.update(wanted)
        if moved:
            self._take(reservation, +1)
        reservation["updated_at"] = iso(utcnow())
        return reservation, changes

    def released(self, reservation: dict[str, Any]) -> None:
        reservation["updated_at"] = iso(utcnow())
        self._take(reservation, -1)

    def slots(
        self, restaurant_id: str, party_size: int, day: str, preference: str | None
    ) -> list[dict[str, Any]]:
        free = [t for t in SLOTS if self.free(restaurant_id, day, t) > 0]
        if preference in SLOTS:
            free.sort(key=lambda t: abs(SLOTS.index(t) - SLOTS.index(preference)))
            free = sorted(free[:5])
        return [
            {
                "time": t,
                "table_type": "standard" if party_size <= 4 else "large",
                "points_eligible": True,
                "points": 100,
            }
            for t in free
        ]


class OpenTableSimulator(BookingDesk):
    """The OpenTable API on the kit: OAuth2 bearer, API key and signature on every call."""

    provider = "opentable"
    events = EVENTS
    cancelled_by = "diner"
    closed_by = ("restaurant", "restaurant closed")
    reads_cancellation = True

    def __init__(self, settings: HooklineSettings, sim_settings: SimulatorSettings) -> None:
        self.tokens = TokenIssuer(sim_settings)
        self.tables = OpenTableWorld(int(extra(sim_settings, "tables_per_slot", 2)))
        super().__init__(
            settings,
            sim_settings,
            self.tables,
            source="opentable",
            codes=CODES,
            sample=SAMPLE,
            signing={"scheme": "standard-webhooks"},
            credential=self.tokens.credential,
        )
        self.checks = bearer_checks(self.tokens, sim_settings)

    def callback(self, event: str, reservation: dict[str, Any], fields: dict[str, Any]) -> Callback:
        msg_id = "msg_" + secrets.token_hex(12)
        body = {"type": event, "timestamp": iso(utcnow()), "data": {**reservation, **fields}}
        return Callback(
            entity=reservation["reservation_id"],
            event_id=msg_id,
            url=self.sim.callback_url,
            body=json.dumps(body).encode(),
            headers={"webhook-id": msg_id},
            scheme=self.scheme,
            signature_header="webhook-signature",
        )

    async def search(self, request: Request) -> Response:
        cuisine = (request.query_params.get("cuisine_type") or "").lower()
        price = request.query_params.get("price_range", "")
        most = int(price) if price.isdigit() else 4  # 1-4: at most that many $
        found = [
            {"restaurant_id": rid, **info, "offers": []}
            for rid, info in RESTAURANTS.items()
            if (not cuisine or info["cuisine"].lower() == cuisine)
            and len(info["price_range"]) <= most
        ]
        return JSONResponse({"restaurants": found})

    async def availability(self, request: Request) -> Response:
        rid = request.path_params["restaurant_id"]
        if rid not in RESTAURANTS:
            raise SimError("RESTAURANT_NOT_FOUND", f"restaurant {rid} does not exist")
        q = request.query_params
        day = str(parse_date(q.get("date"), "date"))
        try:
            party = int(q.get("party_size", "2"))
        except ValueError as exc:
            raise SimError("INVALID_PARTY_SIZE", "party_size must be a number") from exc
        slots = self.tables.slots(rid, party, day, q.get("time_preference"))
        return JSONResponse(
            {"restaurant_id": rid, "date": day, "party_size": party, "slots": slots}
        )

    def state(self) -> dict[str, Any]:
        free = {"|".join(k): self.tables.tables_per_slot - v for k, v in self.tables.taken.items()}
        entities = {"reservations": dict(self.tables.reservations), "availability": free}
        return {**self.tokens.state(), "entities": entities}

    def build(self) -> SimulatorLayer:
        sim = self.sim
        sim.route(f"{BASE}/token", self.tokens.token_endpoint, methods=["POST"])
        self.route(f"{BASE}/restaurants", self.search, self.checks)
        self.route(
            f"{BASE}/restaurants/{{restaurant_id}}/availability", self.availability, self.checks
        )
        self.route_bookings(f"{BASE}/reservations", self.checks)
        sim.on_emit(self.emit)
        sim.on_reset(self.tables.reset)
        sim.on_reset(self.tokens.reset)
        sim.on_state(self.state)
        return sim.build()


def create_app(settings: HooklineSettings, sim_settings: SimulatorSettings) -> SimulatorLayer:
    """The OpenTable simulator app (serves ``/v2/...`` and the token endpoint ``/v2/token``)."""
    return OpenTableSimulator(settings, sim_settings).build()


def next_open_day(start: date | None = None, ahead: int = 7) -> date:
    """A day the simulator accepts (not a Monday, inside the window): for samples and tests."""
    day = (start or utcnow().date()) + timedelta(days=ahead)
    return day + timedelta(days=1) if day.weekday() == 0 else day
