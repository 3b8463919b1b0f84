"""The Recreation.gov simulator (docs/providers/recreation_gov.md#simulator) on the sandbox kit.

One port serves the three real bases by path: RIDB ``/api/v1/...``, availability
``/api/camps/availability/campground/{id}/month`` and bookings ``/api/reservations``.
State: campgrounds with sites, and nights that run out — a booking holds every
night of its stay at its site; a cancellation frees them; a modification moves
them. Every change is sent as an HMAC-signed (``X-RecGov-Signature``) callback,
FIFO per reservation.

Every call needs the ``apikey`` header; booking calls also ``X-Account-Id``.
Simulator settings extras: ``api_key``, ``account_id``, ``api_secret``,
``require_signature``.
"""

from __future__ import annotations

import json
import secrets
from datetime import date, timedelta
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hookline.config.models import HooklineSettings, SimulatorSettings
from hookline.errors import ConfigError
from hookline.providers._reservation.simkit import (
    SimError,
    api_key_check,
    error_format,
    guard,
    iso,
    json_body,
    parse_date,
    secret_extra,
    signature_check,
    utcnow,
)
from hookline.providers.recreation_gov.client import CODES, nights
from hookline.sandbox import Callback, EmitRejected, EmitRequest, Simulator, SimulatorLayer
from hookline.signatures.base import Scheme

log = structlog.get_logger("hookline.sandbox.recreation_gov")

EQUIPMENT = ("tent", "rv", "trailer")
MAX_NIGHTS = 14
WINDOW_DAYS = 183  # six months
BOOKING_FEE = 8.0
NIGHTLY = 30.0
EVENTS = ("reservation.created", "reservation.modified", "reservation.cancelled", "reservation.reminder")

CAMPGROUNDS: dict[str, dict[str, Any]] = {
    "232447": {
        "name": "Pine Flat", "lat": 39.5296, "lng": -121.5524,
        "sites": {
            "A12": {"loop": "A", "campsite_type": "STANDARD NONELECTRIC", "max_num_people": 6, "permitted_equipment": ["tent"]},
            "A13": {"loop": "A", "campsite_type": "STANDARD NONELECTRIC", "max_num_people": 6, "permitted_equipment": ["tent", "rv"]},
            "B01": {"loop": "B", "campsite_type": "STANDARD ELECTRIC", "max_num_people": 8, "permitted_equipment": ["rv", "trailer"]},
        },
    },
    "234059": {
        "name": "Lakeshore East", "lat": 39.61, "lng": -121.48,
        "sites": {"L01": {"loop": "L", "campsite_type": "TENT ONLY", "max_num_people": 4, "permitted_equipment": ["tent"]}},
    },
    "PERMIT-9001": {
        "name": "Desolation Wilderness", "lat": 38.91, "lng": -120.17,
        "sites": {"W01": {"loop": "W", "campsite_type": "WALK TO", "max_num_people": 4, "permitted_equipment": ["tent"]}},
    },
}


class RecreationGovWorld:
    """Campgrounds, booked nights and reservations."""

    def __init__(self) -> None:
        self.reservations: dict[str, dict[str, Any]] = {}
        self.booked: dict[tuple[str, str, date], str] = {}  # (campground, site, night) → reservation
        self.counter = 0

    def reset(self) -> None:
        self.reservations.clear()
        self.booked.clear()
        self.counter = 0

    def _validate(self, stay: dict[str, Any], customer: dict[str, Any], own: str | None = None) -> tuple[date, date]:
        campground_id = str(stay.get("campground_id", ""))
        campground = CAMPGROUNDS.get(campground_id)
        if campground is None:
            raise SimError("FACILITY_NOT_FOUND", f"campground {campground_id} does not exist", {"campground_id": campground_id})
        site_id = str(stay.get("site_id", ""))
        site = campground["sites"].get(site_id)
        if site is None:
            raise SimError("FACILITY_NOT_FOUND", f"site {site_id} is not in campground {campground_id}", {"site_id": site_id})
        start = parse_date(stay.get("start_date"), "start_date", "INVALID_DATES")
        end = parse_date(stay.get("end_date"), "end_date", "INVALID_DATES")
        today = utcnow().date()
        if end <= start:
            raise SimError("INVALID_DATES", "end_date must be after start_date")
        if start < today:
            raise SimError("INVALID_DATES", "start_date is in the past")
        if start < today + timedelta(days=1) or start > today + timedelta(days=WINDOW_DAYS):
            raise SimError("BOOKING_WINDOW_CLOSED", "bookings open from tomorrow to six months ahead")
        if (end - start).days > MAX_NIGHTS:
            raise SimError("MAX_STAY_EXCEEDED", f"at most {MAX_NIGHTS} nights")
        equipment = customer.get("equipment_type")
        if equipment not in EQUIPMENT or equipment not in site["permitted_equipment"]:
            raise SimError("INVALID_EQUIPMENT", f"{equipment!r} is not allowed at site {site_id}",
                           {"permitted_equipment": site["permitted_equipment"]})
        if "PERMIT" in campground_id and not customer.get("permit_id"):
            raise SimError("PERMIT_REQUIRED", "this area needs a wilderness permit first")
        for night in nights(start, end):
            holder = self.booked.get((campground_id, site_id, night))
            if holder is not None and holder != own:
                raise SimError("NO_AVAILABILITY", f"site {site_id} is taken on {night}", {"site_id": site_id})
        return start, end

    def _hold(self, reservation: dict[str, Any], hold: bool) -> None:
        start, end = date.fromisoformat(reservation["start_date"]), date.fromisoformat(reservation["end_date"])
        for night in nights(start, end):
            key = (reservation["campground_id"], reservation["site_id"], night)
            if hold:
                self.booked[key] = reservation["reservation_id"]
            elif self.booked.get(key) == reservation["reservation_id"]:
                del self.booked[key]

    @staticmethod
    def _price(reservation: dict[str, Any], count: int) -> None:
        nightly = NIGHTLY * count
        reservation["nights"] = count
        reservation["fees"] = {"booking_fee": BOOKING_FEE, "nightly_total": nightly, "total": BOOKING_FEE + nightly, "currency": "USD"}

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        customer = body.get("customer")
        if not isinstance(customer, dict) or not customer.get("name") or not customer.get("email"):
            raise SimError("INVALID_REQUEST", "customer.name and customer.email are required", status=400)
        start, end = self._validate(body, customer)
        self.counter += 1
        campground_id = str(body["campground_id"])
        reservation: dict[str, Any] = {
            "reservation_id": f"rg_res_{self.counter:04x}{secrets.token_hex(2)}",
            "confirmation_code": f"{secrets.randbelow(10000):04d}-{secrets.randbelow(10000):04d}",
            "campground_id": campground_id,
            "campground_name": CAMPGROUNDS[campground_id]["name"],
            "site_id": str(body["site_id"]),
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "status": "reserved",
            "customer": customer,
            "cancellation_policy": "Full refund less the booking fee until 24 h before arrival.",
            "created_at": iso(utcnow()),
        }
        reservation["qr_code_url"] = f"https://www.recreation.gov/qr/{reservation['reservation_id']}.png"
        self._price(reservation, (end - start).days)
        self.reservations[reservation["reservation_id"]] = reservation
        self._hold(reservation, True)
        return reservation

    def get(self, reservation_id: str) -> dict[str, Any]:
        try:
            return self.reservations[reservation_id]
        except KeyError:
            raise SimError("RESERVATION_NOT_FOUND", f"reservation {reservation_id} does not exist") from None

    def modify(self, reservation_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        reservation = self.get(reservation_id)
        if reservation["status"] != "reserved":
            raise SimError("INVALID_REQUEST", f"a {reservation['status']} reservation cannot change", status=409)
        customer = {**reservation["customer"], **(body.get("customer") or {})}
        moved: dict[str, Any] = {k: body[k] for k in ("start_date", "end_date", "site_id") if k in body}
        stay = {**reservation, **moved}
        start, end = self._validate(stay, customer, own=reservation_id)
        changes: dict[str, Any] = {k: {"from": reservation[k], "to": stay[k]} for k in ("start_date", "end_date", "site_id") if stay[k] != reservation[k]}
        if customer != reservation["customer"]:
            changes["customer"] = {"from": reservation["customer"], "to": customer}
        self._hold(reservation, False)
        reservation.update(site_id=stay["site_id"], start_date=start.isoformat(), end_date=end.isoformat(), customer=customer)
        self._price(reservation, (end - start).days)
        self._hold(reservation, True)
        return reservation, changes

    def cancel(self, reservation_id: str) -> tuple[dict[str, Any], bool]:
        reservation = self.get(reservation_id)
        if reservation["status"] == "cancelled":
            return reservation, False
        reservation["status"] = "cancelled"
        reservation["refund"] = {"amount": reservation["fees"]["nightly_total"], "currency": "USD"}
        self._hold(reservation, False)
        return reservation, True

    def month(self, campground_id: str, month_start: date) -> dict[str, Any]:
        campground = CAMPGROUNDS.get(campground_id)
        if campground is None:
            raise SimError("FACILITY_NOT_FOUND", f"campground {campground_id} does not exist")
        first = month_start.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        today = utcnow().date()
        sites = {}
        for site_id, site in campground["sites"].items():
            grid = {}
            for night in nights(first, following):
                if night < today + timedelta(days=1) or night > today + timedelta(days=WINDOW_DAYS):
                    status = "Not Reservable"
                elif (campground_id, site_id, night) in self.booked:
                    status = "Reserved"
                else:
                    status = "Available"
                grid[f"{night.isoformat()}T00:00:00Z"] = status
            sites[site_id] = {"campsite_id": site_id, "site": site_id, **{k: v for k, v in site.items()}, "availabilities": grid}
        return {"campsites": sites}


def create_app(settings: HooklineSettings, sim_settings: SimulatorSettings) -> SimulatorLayer:
    """The Recreation.gov simulator app."""
    world = RecreationGovWorld()
    fmt = error_format(CODES, {"reservation_id": "rg_res_77d1", "status": "reserved"})

    async def credential(request: Request) -> str:
        return f"{request.headers.get('apikey', '')}|{request.headers.get('x-account-id', '')}"

    sim = Simulator("recreation_gov", sim_settings, fmt=fmt, source="recreation-gov", sandbox=settings.sandbox,
                    credential=credential)
    scheme: Scheme | None
    try:
        scheme = sim.signing_scheme({"scheme": "hmac", "header": "X-RecGov-Signature", "algorithm": "sha256",
                                     "encoding": "base64", "prefix": "", "timestamp_header": "X-RecGov-Timestamp"})
    except ConfigError:
        scheme = None
        log.warning("sandbox.callbacks_disabled", provider="recreation_gov", reason="no callback_secret")

    def callback(event: str, reservation: dict[str, Any], **fields: Any) -> Callback:
        event_id = "rg_evt_" + secrets.token_hex(6)
        shown = {k: reservation[k] for k in ("reservation_id", "confirmation_code", "campground_id", "campground_name",
                                             "site_id", "start_date", "end_date", "status", "customer")}
        body = {"event_id": event_id, "event_type": event, "occurred_at": iso(utcnow()), "reservation": shown, **fields}
        return Callback(entity=reservation["reservation_id"], event_id=event_id, url=sim.callback_url,
                        body=json.dumps(body).encode(), scheme=scheme, signature_header="X-RecGov-Signature")

    def send(event: str, reservation: dict[str, Any], **fields: Any) -> None:
        if scheme is not None:
            sim.send(callback(event, reservation, **fields))

    async def account_check(request: Request, body: bytes) -> None:
        presented = request.headers.get("x-account-id")
        wanted = secret_extra(sim_settings, "account_id")
        if not presented or (wanted is not None and presented != wanted):
            raise SimError("UNAUTHORIZED", "X-Account-Id missing or wrong")

    ridb = (api_key_check(sim_settings, "apikey"), signature_check(sim_settings))
    booking = (*ridb, account_check)

    async def facilities(request: Request) -> Response:
        limit = int(request.query_params.get("limit", "50"))
        found = [
            {"FacilityID": fid, "FacilityName": cg["name"], "FacilityLatitude": cg["lat"], "FacilityLongitude": cg["lng"],
             "FacilityTypeDescription": "Campground", "Reservable": True}
            for fid, cg in CAMPGROUNDS.items()
        ][:limit]
        return JSONResponse({"RECDATA": found, "METADATA": {"RESULTS": {"CURRENT_COUNT": len(found), "TOTAL_COUNT": len(CAMPGROUNDS)}}})

    async def facility(request: Request) -> Response:
        fid = request.path_params["facility_id"]
        cg = CAMPGROUNDS.get(fid)
        if cg is None:
            raise SimError("FACILITY_NOT_FOUND", f"facility {fid} does not exist")
        return JSONResponse({"FacilityID": fid, "FacilityName": cg["name"], "FacilityTypeDescription": "Campground", "Reservable": True})

    async def campsites(request: Request) -> Response:
        fid = request.path_params["facility_id"]
        cg = CAMPGROUNDS.get(fid)
        if cg is None:
            raise SimError("FACILITY_NOT_FOUND", f"facility {fid} does not exist")
        sites = [{"CampsiteID": sid, "CampsiteName": sid, "Loop": s["loop"], "CampsiteType": s["campsite_type"],
                  "PermittedEquipment": [{"EquipmentName": e} for e in s["permitted_equipment"]]} for sid, s in cg["sites"].items()]
        return JSONResponse({"RECDATA": sites, "METADATA": {"RESULTS": {"CURRENT_COUNT": len(sites), "TOTAL_COUNT": len(sites)}}})

    async def month(request: Request) -> Response:
        start = request.query_params.get("start_date", "")[:10]
        return JSONResponse(world.month(request.path_params["campground_id"], parse_date(start, "start_date", "INVALID_DATES")))

    async def create(request: Request) -> Response:
        reservation = world.create(await json_body(request))
        send("reservation.created", reservation)
        return JSONResponse(reservation, status_code=201)

    async def read(request: Request) -> Response:
        return JSONResponse(world.get(request.path_params["reservation_id"]))

    async def modify(request: Request) -> Response:
        reservation, changes = world.modify(request.path_params["reservation_id"], await json_body(request))
        if changes:
            send("reservation.modified", reservation, changes=changes)
        return JSONResponse(reservation)

    async def cancel(request: Request) -> Response:
        body = await json_body(request)
        reservation, changed = world.cancel(request.path_params["reservation_id"])
        if changed:
            send("reservation.cancelled", reservation,
                 cancellation={"cancelled_by": "customer", "reason": body.get("reason"), "refund": reservation["refund"]})
        return JSONResponse(reservation)

    sim.route("/api/v1/facilities", guard(CODES, facilities, *ridb))
    sim.route("/api/v1/facilities/{facility_id}", guard(CODES, facility, *ridb))
    sim.route("/api/v1/facilities/{facility_id}/campsites", guard(CODES, campsites, *ridb))
    sim.route("/api/camps/availability/campground/{campground_id}/month", guard(CODES, month, *ridb))
    sim.route("/api/reservations/", guard(CODES, create, *booking), methods=["POST"], idempotent=True)
    sim.route("/api/reservations/{reservation_id}", guard(CODES, read, *booking))
    sim.route("/api/reservations/{reservation_id}", guard(CODES, modify, *booking), methods=["PATCH"], idempotent=True)
    sim.route("/api/reservations/{reservation_id}/cancel", guard(CODES, cancel, *booking), methods=["POST"], idempotent=True)

    async def emit(order: EmitRequest) -> Callback:
        if order.event not in EVENTS:
            raise EmitRejected(400, f"unknown event {order.event!r} (known: {', '.join(EVENTS)})")
        if scheme is None:
            raise EmitRejected(409, "callbacks are disabled: set callback_secret")
        reservation = world.reservations.get(order.entity_id)
        if reservation is None:
            raise EmitRejected(404, f"no reservation {order.entity_id}")
        fields: dict[str, Any] = {}
        if order.event == "reservation.reminder":
            fields["hours_before"] = 24
        elif order.event == "reservation.cancelled":
            reservation, _ = world.cancel(order.entity_id)
            fields["cancellation"] = {"cancelled_by": "facility", "reason": "fire closure", "refund": reservation["refund"]}
        fields.update(order.data)
        return callback(order.event, reservation, **fields)

    sim.on_emit(emit)
    sim.on_reset(world.reset)
    sim.on_state(lambda: {"entities": {"reservations": dict(world.reservations),
                                       "booked_nights": len(world.booked)}})
    return sim.build()
