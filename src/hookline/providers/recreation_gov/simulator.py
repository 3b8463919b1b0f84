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

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hookline.config.models import HooklineSettings, SimulatorSettings
from hookline.providers._reservation.simdesk import BookingDesk, Bookings
from hookline.providers._reservation.simkit import (
    SimError,
    api_key_check,
    iso,
    json_body,
    parse_date,
    secret_extra,
    signature_check,
    utcnow,
)
from hookline.providers.recreation_gov.client import CODES, nights
from hookline.providers.recreation_gov.reconcile import SHOWN
from hookline.sandbox import Callback, SimulatorLayer

__all__ = ["CAMPGROUNDS", "EVENTS", "RecreationGovSimulator", "RecreationGovWorld", "create_app"]

EQUIPMENT = ("tent", "rv", "trailer")
MAX_NIGHTS = 14
WINDOW_DAYS = 183  # six months
BOOKING_FEE = 8.0
NIGHTLY = 30.0
EVENTS = (
    "reservation.created",
    "reservation.modified",
    "reservation.cancelled",
    "reservation.reminder",
)
SAMPLE = {"reservation_id": "rg_res_77d1", "status": "reserved"}
SIGNING = {
    "scheme": "hmac",
    "header": "X-RecGov-Signature",
    "algorithm": "sha256",
    "encoding": "base64",
    "prefix": "",
    "timestamp_header": "X-RecGov-Timestamp",
}

CAMPGROUNDS: dict[str, dict[str, Any]] = {
    "232447": {
        "name": "Pine Flat",
        "lat": 39.5296,
        "lng": -121.5524,
        "sites": {
            "A12": {
                "loop": "A",
                "campsite_type": "STANDARD NONELECTRIC",
                "max_num_people": 6,
                "permitted_equipment": ["tent"],
            },
            "A13": {
                "loop": "A",
                "campsite_type": "STANDARD NONELECTRIC",
                "max_num_people": 6,
                "permitted_equipment": ["tent", "rv"],
            },
            "B01": {
                "loop": "B",
                "campsite_type": "STANDARD ELECTRIC",
                "max_num_people": 8,
                "permitted_equipment": ["rv", "trailer"],
            },
        },
    },
    "234059": {
        "name": "Lakeshore East",
        "lat": 39.61,
        "lng": -121.48,
        "sites": {
            "L01": {
                "loop": "L",
                "campsite_type": "TENT ONLY",
                "max_num_people": 4,
                "permitted_equipment": ["tent"],
            }
        },
    },
    "PERMIT-9001": {
        "name": "Desolation Wilderness",
        "lat": 38.91,
        "lng": -120.17,
        "sites": {
            "W01": {
                "loop": "W",
                "campsite_type": "WALK TO",
                "max_num_people": 4,
                "permitted_equipment": ["tent"],
            }
        },
    },
}


# Amenities per campground (RIDB's facility attributes), for search filters.
AMENITIES: dict[str, list[str]] = {
    "232447": ["Restrooms", "Drinking Water", "Fire Rings"],
    "234059": ["Restrooms", "Boat Ramp"],
    "PERMIT-9001": [],
}
# Permits by activity; lottery permits take entries until LotteryCloses.
PERMITS: dict[str, dict[str, Any]] = {
    "PRM-2231": {
        "PermitName": "Desolation Wilderness Overnight",
        "Activity": "backpacking",
        "State": "CA",
        "Lottery": False,
        "AdvanceBookingDays": 180,
        "FacilityID": "PERMIT-9001",
    },
    "PRM-2245": {
        "PermitName": "Enchantment Permit Area, Core Zone",
        "Activity": "backpacking",
        "State": "WA",
        "Lottery": True,
        "AdvanceBookingDays": 120,
        "FacilityID": None,
    },
    "PRM-3310": {
        "PermitName": "Mount Whitney Trail",
        "Activity": "hiking",
        "State": "CA",
        "Lottery": True,
        "AdvanceBookingDays": 180,
        "FacilityID": None,
    },
    "PRM-4471": {
        "PermitName": "Half Dome Day Hike",
        "Activity": "hiking",
        "State": "CA",
        "Lottery": True,
        "AdvanceBookingDays": 120,
        "FacilityID": None,
        "closed": True,
    },
    "PRM-5120": {
        "PermitName": "Selway River",
        "Activity": "rafting",
        "State": "ID",
        "Lottery": True,
        "AdvanceBookingDays": 365,
        "FacilityID": None,
    },
}
LOTTERY_OPEN_DAYS = 30


class RecreationGovWorld(Bookings):
    """Campgrounds, booked nights and reservations."""

    active = "reserved"

    def __init__(self) -> None:
        super().__init__()
        self.booked: dict[
            tuple[str, str, date], str
        ] = {}  # (campground, site, night) → reservation

        self.entries: dict[str, dict[str, Any]] = {}

    def reset(self) -> None:
        super().reset()
        self.booked.clear()
        self.entries.clear()

    def enter_lottery(self, permit_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """A lottery entry; one per permit, customer e-mail and first preferred date."""
        permit = PERMITS.get(permit_id)
        if permit is None:
            raise SimError("PERMIT_NOT_FOUND", f"permit {permit_id} does not exist")
        if not permit["Lottery"] or permit.get("closed"):
            raise SimError("LOTTERY_CLOSED", f"permit {permit_id} takes no lottery entries now")
        dates = body.get("preferred_dates")
        if not isinstance(dates, list) or not 1 <= len(dates) <= 3:
            raise SimError("INVALID_DATES", "preferred_dates: one to three dates")
        for value in dates:
            parse_date(value, "preferred_dates", "INVALID_DATES")
        group = body.get("group_size")
        customer = body.get("customer") or {}
        if not isinstance(group, int) or group < 1 or not customer.get("email"):
            raise SimError("INVALID_REQUEST", "group_size and customer.email are required")
        entry_id = self.next_id("rg_lot_")
        entry = {
            "entry_id": entry_id,
            "permit_id": permit_id,
            "status": "submitted",
            "preferred_dates": dates,
            "group_size": group,
            "customer": customer,
            "submitted_at": iso(utcnow()),
            "results_on": (utcnow() + timedelta(days=LOTTERY_OPEN_DAYS)).date().isoformat(),
        }
        self.entries[entry_id] = entry
        return entry

    def _validate(
        self, stay: dict[str, Any], customer: dict[str, Any], own: str | None = None
    ) -> tuple[date, date]:
        campground_id = str(stay.get("campground_id", ""))
        campground = CAMPGROUNDS.get(campground_id)
        if campground is None:
            raise SimError(
                "FACILITY_NOT_FOUND",
                f"campground {campground_id} does not exist",
                {"campground_id": campground_id},
            )
        site_id = str(stay.get("site_id", ""))
        site = campground["sites"].get(site_id)
        if site is None:
            raise SimError(
                "FACILITY_NOT_FOUND",
                f"site {site_id} is not in campground {campground_id}",
                {"site_id": site_id},
            )
        start = parse_date(stay.get("start_date"), "start_date", "INVALID_DATES")
        end = parse_date(stay.get("end_date"), "end_date", "INVALID_DATES")
        today = utcnow().date()
        if end <= start:
            raise SimError("INVALID_DATES", "end_date must be after start_date")
        if start < today:
            raise SimError("INVALID_DATES", "start_date is in the past")
        if start < today + timedelta(days=1) or start > today + timedelta(days=WINDOW_DAYS):
            raise SimError(
                "BOOKING_WINDOW_CLOSED", "bookings open from tomorrow to six months ahead"
            )
        if (end - start).days > MAX_NIGHTS:
            raise SimError("MAX_STAY_EXCEEDED", f"at most {MAX_NIGHTS} nights")
        equipment = customer.get("equipment_type")
        if equipment not in EQUIPMENT or equipment not in site["permitted_equipment"]:
            raise SimError(
                "INVALID_EQUIPMENT",
                f"{equipment!r} is not allowed at site {site_id}",
                {"permitted_equipment": site["permitted_equipment"]},
            )
        if "PERMIT" in campground_id and not customer.get("permit_id"):
            raise SimError("PERMIT_REQUIRED", "this area needs a wilderness permit first")
        for night in nights(start, end):
            holder = self.booked.get((campground_id, site_id, night))
            if holder is not None and holder != own:
                raise SimError(
                    "NO_AVAILABILITY", f"site {site_id} is taken on {night}", {"site_id": site_id}
                )
        return start, end

    def _hold(self, reservation: dict[str, Any], hold: bool) -> None:
        start, end = (
            date.fromisoformat(reservation["start_date"]),
            date.fromisoformat(reservation["end_date"]),
        )
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
        reservation["fees"] = {
            "booking_fee": BOOKING_FEE,
            "nightly_total": nightly,
            "total": BOOKING_FEE + nightly,
            "currency": "USD",
        }

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        customer = body.get("customer")
        if not isinstance(customer, dict) or not customer.get("name") or not customer.get("email"):
            raise SimError(
                "INVALID_REQUEST", "customer.name and customer.email are required", status=400
            )
        start, end = self._validate(body, customer)
        campground_id = str(body["campground_id"])
        reservation: dict[str, Any] = {
            "reservation_id": self.next_id("rg_res_"),
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
        reservation["qr_code_url"] = (
            f"https://www.recreation.gov/qr/{reservation['reservation_id']}.png"
        )
        self._price(reservation, (end - start).days)
        self._hold(reservation, True)
        return self.keep(reservation)

    def modify(
        self, reservation_id: str, body: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        reservation = self.changeable(reservation_id)
        customer = {**reservation["customer"], **(body.get("customer") or {})}
        moved: dict[str, Any] = {
            k: body[k] for k in ("start_date", "end_date", "site_id") if k in body
        }
        stay = {**reservation, **moved}
        start, end = self._validate(stay, customer, own=reservation_id)
        changes: dict[str, Any] = {
            k: {"from": reservation[k], "to": stay[k]}
            for k in ("start_date", "end_date", "site_id")
            if stay[k] != reservation[k]
        }
        if customer != reservation["customer"]:
            changes["customer"] = {"from": reservation["customer"], "to": customer}
        self._hold(reservation, False)
        reservation.update(
            site_id=stay["site_id"],
            start_date=start.isoformat(),
            end_date=end.isoformat(),
            customer=customer,
        )
        self._price(reservation, (end - start).days)
        self._hold(reservation, True)
        return reservation, changes

    def released(self, reservation: dict[str, Any]) -> None:
        reservation["refund"] = {"amount": reservation["fees"]["nightly_total"], "currency": "USD"}
        self._hold(reservation, False)

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
            sites[site_id] = {
                "campsite_id": site_id,
                "site": site_id,
                **{k: v for k, v in site.items()},
                "availabilities": grid,
            }
        return {"campsites": sites}


class RecreationGovSimulator(BookingDesk):
    """RIDB, availability and bookings on one port: ``apikey`` everywhere, ``X-Account-Id`` to book."""

    provider = "recreation_gov"
    events = EVENTS
    cancelled_by = "customer"
    closed_by = ("facility", "fire closure")
    reads_cancellation = True

    def __init__(self, settings: HooklineSettings, sim_settings: SimulatorSettings) -> None:
        self.camps = RecreationGovWorld()
        super().__init__(
            settings,
            sim_settings,
            self.camps,
            source="recreation-gov",
            codes=CODES,
            sample=SAMPLE,
            signing=SIGNING,
            credential=self.credential,
        )
        self.settings = sim_settings
        self.ridb = (api_key_check(sim_settings, "apikey"), signature_check(sim_settings))
        self.booking = (*self.ridb, self.account_check)

    @staticmethod
    async def credential(request: Request) -> str:
        return f"{request.headers.get('apikey', '')}|{request.headers.get('x-account-id', '')}"

    async def account_check(self, request: Request, body: bytes) -> None:
        presented = request.headers.get("x-account-id")
        wanted = secret_extra(self.settings, "account_id")
        if not presented or (wanted is not None and presented != wanted):
            raise SimError("UNAUTHORIZED", "X-Account-Id missing or wrong")

    def callback(self, event: str, reservation: dict[str, Any], fields: dict[str, Any]) -> Callback:
        event_id = "rg_evt_" + secrets.token_hex(6)
        shown = {k: reservation[k] for k in SHOWN}
        body = {
            "event_id": event_id,
            "event_type": event,
            "occurred_at": iso(utcnow()),
            "reservation": shown,
            **fields,
        }
        return Callback(
            entity=reservation["reservation_id"],
            event_id=event_id,
            url=self.sim.callback_url,
            body=json.dumps(body).encode(),
            scheme=self.scheme,
            signature_header="X-RecGov-Signature",
        )

    def cancellation(self, reservation: dict[str, Any], by: str, reason: Any) -> dict[str, Any]:
        return {
            "cancellation": {"cancelled_by": by, "reason": reason, "refund": reservation["refund"]}
        }

    async def facilities(self, request: Request) -> Response:
        limit = int(request.query_params.get("limit", "50"))
        wanted = {a for a in request.query_params.get("amenities", "").split(",") if a}
        found = [
            {
                "FacilityID": fid,
                "FacilityName": cg["name"],
                "FacilityLatitude": cg["lat"],
                "FacilityLongitude": cg["lng"],
                "FacilityTypeDescription": "Campground",
                "Reservable": True,
                "Amenities": AMENITIES.get(fid, []),
            }
            for fid, cg in CAMPGROUNDS.items()
            if wanted <= set(AMENITIES.get(fid, []))
        ][:limit]
        return JSONResponse(
            {
                "RECDATA": found,
                "METADATA": {
                    "RESULTS": {"CURRENT_COUNT": len(found), "TOTAL_COUNT": len(CAMPGROUNDS)}
                },
            }
        )

    async def facility(self, request: Request) -> Response:
        fid = request.path_params["facility_id"]
        cg = _campground(fid)
        return JSONResponse(
            {
                "FacilityID": fid,
                "FacilityName": cg["name"],
                "FacilityTypeDescription": "Campground",
                "Reservable": True,
            }
        )

    async def campsites(self, request: Request) -> Response:
        cg = _campground(request.path_params["facility_id"])
        sites = [
            {
                "CampsiteID": sid,
                "CampsiteName": sid,
                "Loop": s["loop"],
                "CampsiteType": s["campsite_type"],
                "PermittedEquipment": [{"EquipmentName": e} for e in s["permitted_equipment"]],
            }
            for sid, s in cg["sites"].items()
        ]
        return JSONResponse(
            {
                "RECDATA": sites,
                "METADATA": {"RESULTS": {"CURRENT_COUNT": len(sites), "TOTAL_COUNT": len(sites)}},
            }
        )

    async def permits(self, request: Request) -> Response:
        q = request.query_params
        activity, state = (q.get("activity") or "").lower(), q.get("state")
        found = [
            {
                "PermitID": pid,
                **{k: v for k, v in p.items() if k != "closed"},
                "LotteryCloses": None
                if not p["Lottery"] or p.get("closed")
                else (utcnow() + timedelta(days=LOTTERY_OPEN_DAYS)).date().isoformat(),
            }
            for pid, p in PERMITS.items()
            if (not activity or p["Activity"] == activity) and (not state or p["State"] == state)
        ]
        return JSONResponse(
            {"RECDATA": found, "METADATA": {"RESULTS": {"CURRENT_COUNT": len(found)}}}
        )

    async def lottery(self, request: Request) -> Response:
        entry = self.camps.enter_lottery(request.path_params["permit_id"], await json_body(request))
        return JSONResponse(entry, status_code=201)

    async def month(self, request: Request) -> Response:
        start = parse_date(
            request.query_params.get("start_date", "")[:10], "start_date", "INVALID_DATES"
        )
        return JSONResponse(self.camps.month(request.path_params["campground_id"], start))

    def state(self) -> dict[str, Any]:
        return {
            "entities": {
                "reservations": dict(self.camps.reservations),
                "booked_nights": len(self.camps.booked),
                "lottery_entries": dict(self.camps.entries),
            }
        }

    def build(self) -> SimulatorLayer:
        self.route("/api/v1/facilities", self.facilities, self.ridb)
        self.route("/api/v1/facilities/{facility_id}", self.facility, self.ridb)
        self.route("/api/v1/facilities/{facility_id}/campsites", self.campsites, self.ridb)
        self.route(
            "/api/camps/availability/campground/{campground_id}/month", self.month, self.ridb
        )
        self.route("/api/v1/permits", self.permits, self.ridb)
        self.route(
            "/api/permits/{permit_id}/lottery",
            self.lottery,
            self.booking,
            methods=["POST"],
            idempotent=True,
        )
        self.route_bookings("/api/reservations/", self.booking)
        self.sim.on_emit(self.emit)
        self.sim.on_reset(self.camps.reset)
        self.sim.on_state(self.state)
        return self.sim.build()


def _campground(facility_id: str) -> dict[str, Any]:
    campground = CAMPGROUNDS.get(facility_id)
    if campground is None:
        raise SimError("FACILITY_NOT_FOUND", f"facility {facility_id} does not exist")
    return campground


def create_app(settings: HooklineSettings, sim_settings: SimulatorSettings) -> SimulatorLayer:
    """The Recreation.gov simulator app."""
    return RecreationGovSimulator(settings, sim_settings).build()
