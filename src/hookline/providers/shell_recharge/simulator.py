"""The Shell Recharge simulator (docs/providers/shell_recharge.md#simulator) on the sandbox kit.

State: stations with connectors; connector reservations that conflict on
overlapping windows; charging sessions that progress every tick —
``starting`` → ``charging`` (+2.5 kWh and +3 % state of charge per tick, one
simulated minute each) → ``completed`` at the vehicle's ``target_soc`` or on
stop, with energy and cost (per kWh, per minute, session fee). A connector
whose id contains ``FAULT`` fails its session after 2 ticks. A charging
connector is occupied: a second start answers ``CONNECTOR_UNAVAILABLE``.

Every change is an HMAC-signed (``X-Shell-Signature``) callback, FIFO per
session or reservation. Connector reservations send ``reservation.*``
callbacks (hookline convention, issue 9).

Simulator settings extras: ``initial_soc`` (default 20), ``require_signature``
and the credentials of :mod:`hookline.providers._reservation.simkit`.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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
    json_body,
    utcnow,
)
from hookline.providers.shell_recharge.client import CODES
from hookline.sandbox import Callback, EmitRejected, EmitRequest, SimulatorLayer

__all__ = ["EVENTS", "ChargeSession", "ShellSimulator", "ShellWorld", "create_app"]

BASE = "/v2"
KWH_PER_TICK = 2.5
SOC_PER_TICK = 3.0
SECONDS_PER_TICK = 60  # each tick stands for a minute of charging (production progress cadence)
FAULT_AFTER_TICKS = 2
MAX_DURATION = 240
PER_KWH, PER_MINUTE, SESSION_FEE, CURRENCY = 0.40, 0.0, 1.00, "USD"
PRICING: dict[str, Any] = {
    "per_kwh": PER_KWH,
    "per_minute": PER_MINUTE,
    "session_fee": SESSION_FEE,
    "currency": CURRENCY,
}
CO2_KG_PER_KWH = 0.4
SAMPLE = {"session_id": "sr_sess_3b9e", "status": "charging"}
SIGNING = {
    "scheme": "hmac",
    "header": "X-Shell-Signature",
    "algorithm": "sha256",
    "encoding": "hex",
    "prefix": "sha256=",
    "timestamp_header": "X-Shell-Timestamp",
}
# What a create answers (the callback and a read show the whole reservation).
CREATED_FIELDS = (
    "reservation_id",
    "status",
    "start_time",
    "end_time",
    "station_id",
    "connector_id",
    "duration_minutes",
)
EVENTS = (
    "session.started",
    "session.progress",
    "session.completed",
    "session.failed",
    "reservation.created",
    "reservation.modified",
    "reservation.cancelled",
)


EMERGENCY_CODES = ("EMERGENCY_STOP", "CABLE_FAULT", "VEHICLE_FAULT", "SAFETY_HAZARD")


def _stations() -> dict[str, dict[str, Any]]:
    def conn(cid: str, kind: str, kw: float, status: str = "available") -> dict[str, Any]:
        return {"connector_id": cid, "type": kind, "power_kw": kw, "status": status}

    return {
        "shell_ev_001": {
            "name": "Shell Recharge Market St",
            "location": {"lat": 37.7749, "lng": -122.4194},
            "connectors": {
                c["connector_id"]: c
                for c in (
                    conn("conn_001", "CCS", 150),
                    conn("conn_002", "CHAdeMO", 50),
                    conn("conn_003", "Type2", 22, "occupied"),
                    conn("conn_004", "CCS", 150),
                    conn("conn_005", "CCS", 150),
                    conn("conn_FAULT", "CCS", 150),
                )
            },
        },
        "shell_ev_002": {
            "name": "Shell Recharge Mission Bay",
            "location": {"lat": 37.7706, "lng": -122.3892},
            "connectors": {
                c["connector_id"]: c
                for c in (
                    conn("conn_001", "CCS", 350),
                    conn("conn_002", "Type2", 22, "out_of_service"),
                )
            },
        },
    }


@dataclass
class ChargeSession:
    session_id: str
    station_id: str
    connector_id: str
    reservation_id: str | None
    started: datetime
    soc: float
    target_soc: float
    power_kw: float
    driver: dict[str, Any]
    status: str = "starting"
    energy_kwh: float = 0.0
    ticks: int = 0
    ended: datetime | None = None
    failure: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_seconds(self) -> int:
        return self.ticks * SECONDS_PER_TICK

    def cost(self) -> dict[str, Any]:
        energy = round(self.energy_kwh * PER_KWH, 2)
        time_cost = round(self.duration_seconds // 60 * PER_MINUTE, 2)
        return {
            "energy": energy,
            "time": time_cost,
            "session_fee": SESSION_FEE,
            "total": round(energy + time_cost + SESSION_FEE, 2),
            "currency": CURRENCY,
        }

    def view(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "station_id": self.station_id,
            "connector_id": self.connector_id,
            "reservation_id": self.reservation_id,
            "status": self.status,
            "started_at": iso(self.started),
            "ended_at": iso(self.ended) if self.ended else None,
            "energy_kwh": round(self.energy_kwh, 3),
            "power_kw": self.power_kw if self.status == "charging" else 0.0,
            "soc_percent": round(self.soc, 1),
            "duration_seconds": self.duration_seconds,
            "cost": {"amount": self.cost()["total"], "currency": CURRENCY},
            "driver": self.driver,
        }

    def receipt(self) -> dict[str, Any]:
        return {
            **self.view(),
            "status": "completed",
            "duration_minutes": self.duration_seconds // 60,
            "cost": self.cost(),
            "co2_saved_kg": round(self.energy_kwh * CO2_KG_PER_KWH, 2),
            "renewable_percent": 100,
        }


class ShellWorld(Bookings):
    """Stations, connector reservations and sessions."""

    active = "reserved"
    locked = ("RESERVATION_CONFLICT", None)

    def __init__(self, initial_soc: float = 20.0) -> None:
        super().__init__()
        self.initial_soc = initial_soc
        self.stations = _stations()
        self.sessions: dict[str, ChargeSession] = {}

    def reset(self) -> None:
        super().reset()
        self.stations = _stations()
        self.sessions.clear()

    def connector(
        self, station_id: str, connector_id: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        station = self.stations.get(station_id)
        if station is None:
            raise SimError(
                "STATION_NOT_FOUND",
                f"station {station_id} does not exist",
                {"station_id": station_id},
            )
        conn = station["connectors"].get(connector_id)
        if conn is None:
            raise SimError(
                "CONNECTOR_NOT_FOUND",
                f"connector {connector_id} is not at {station_id}",
                {"connector_id": connector_id},
            )
        return station, conn

    def _busy(self, connector: dict[str, Any]) -> None:
        if connector["status"] in ("occupied", "out_of_service"):
            raise SimError(
                "CONNECTOR_UNAVAILABLE",
                f"connector {connector['connector_id']} is {connector['status']}",
                {"connector_id": connector["connector_id"], "status": connector["status"]},
            )

    def _window(self, start_text: Any, minutes: Any) -> tuple[datetime, datetime]:
        try:
            start = datetime.fromisoformat(str(start_text).replace("Z", "+00:00"))
        except ValueError as exc:
            raise SimError("INVALID_REQUEST", "start_time must be RFC 3339", status=400) from exc
        if not isinstance(minutes, int) or minutes < 1:
            raise SimError(
                "INVALID_REQUEST", "duration_minutes must be a positive integer", status=400
            )
        if minutes > MAX_DURATION:
            raise SimError(
                "MAX_DURATION_EXCEEDED",
                f"at most {MAX_DURATION} minutes",
                {"duration_minutes": minutes},
            )
        return start, start + timedelta(minutes=minutes)

    def _conflict(
        self,
        station_id: str,
        connector_id: str,
        start: datetime,
        end: datetime,
        own: str | None = None,
    ) -> None:
        for other in self.reservations.values():
            if (
                other["reservation_id"] != own
                and other["status"] == "reserved"
                and (other["station_id"], other["connector_id"]) == (station_id, connector_id)
                and other["_start"] < end
                and start < other["_end"]
            ):
                raise SimError(
                    "RESERVATION_CONFLICT",
                    "the time slot is taken",
                    {"reservation_id": other["reservation_id"]},
                )

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        station_id, connector_id = (
            str(body.get("station_id", "")),
            str(body.get("connector_id", "")),
        )
        station, conn = self.connector(station_id, connector_id)
        vehicle = body.get("vehicle")
        if not isinstance(vehicle, dict):
            raise SimError("INVALID_REQUEST", "vehicle is required", status=400)
        start, end = self._window(body.get("start_time"), body.get("duration_minutes"))
        self._busy(conn)
        if vehicle.get("connector_type") != conn["type"]:
            raise SimError(
                "VEHICLE_INCOMPATIBLE",
                f"the vehicle needs {vehicle.get('connector_type')}, the connector is {conn['type']}",
            )
        if "nopay" in str(vehicle.get("driver_email", "")):
            raise SimError("PAYMENT_REQUIRED", "no payment method on file")
        self._conflict(station_id, connector_id, start, end)
        reservation = {
            "reservation_id": self.next_id("sr_res_"),
            "status": "reserved",
            "station_id": station_id,
            "station_name": station["name"],
            "connector_id": connector_id,
            "start_time": iso(start),
            "end_time": iso(end),
            "duration_minutes": body["duration_minutes"],
            "vehicle": vehicle,
            "_start": start,
            "_end": end,
        }
        return self.keep(reservation)

    def modify(
        self, reservation_id: str, body: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        reservation = self.changeable(reservation_id)
        start_text = body.get("start_time", reservation["start_time"])
        minutes = body.get("duration_minutes", reservation["duration_minutes"])
        start, end = self._window(start_text, minutes)
        self._conflict(
            reservation["station_id"], reservation["connector_id"], start, end, own=reservation_id
        )
        changes = {}
        if iso(start) != reservation["start_time"]:
            changes["start_time"] = {"from": reservation["start_time"], "to": iso(start)}
        if minutes != reservation["duration_minutes"]:
            changes["duration_minutes"] = {"from": reservation["duration_minutes"], "to": minutes}
        reservation.update(
            start_time=iso(start),
            end_time=iso(end),
            duration_minutes=minutes,
            _start=start,
            _end=end,
        )
        return reservation, changes

    def start(self, body: dict[str, Any]) -> ChargeSession:
        station_id, connector_id = (
            str(body.get("station_id", "")),
            str(body.get("connector_id", "")),
        )
        _, conn = self.connector(station_id, connector_id)
        self._busy(conn)
        reservation_id = body.get("reservation_id")
        driver: dict[str, Any] = {}
        target = 80.0
        if reservation_id:
            reservation = self.get(str(reservation_id))
            if reservation["status"] != "reserved" or (
                reservation["station_id"],
                reservation["connector_id"],
            ) != (station_id, connector_id):
                raise SimError(
                    "RESERVATION_CONFLICT",
                    "the reservation is not for this connector or no longer active",
                )
            vehicle = reservation["vehicle"]
            if "nopay" in str(vehicle.get("driver_email", "")):
                raise SimError("PAYMENT_REQUIRED", "no payment method on file")
            driver = {
                "name": vehicle.get("driver_name"),
                "email": vehicle.get("driver_email"),
                "phone": vehicle.get("driver_phone"),
            }
            target = float(vehicle.get("target_soc") or 80)
        session = ChargeSession(
            session_id=self.next_id("sr_sess_"),
            station_id=station_id,
            connector_id=connector_id,
            reservation_id=str(reservation_id) if reservation_id else None,
            started=utcnow(),
            soc=self.initial_soc,
            target_soc=max(target, self.initial_soc + SOC_PER_TICK),
            power_kw=float(conn["power_kw"]),
            driver={k: v for k, v in driver.items() if v is not None},
        )
        conn["status"] = "occupied"
        self.sessions[session.session_id] = session
        return session

    def get_session(self, session_id: str) -> ChargeSession:
        session = self.sessions.get(session_id)
        if session is None:
            raise SimError("INVALID_SESSION", f"session {session_id} is unknown or expired")
        return session

    def finish(
        self, session: ChargeSession, status: str, failure: dict[str, Any] | None = None
    ) -> None:
        session.status = status
        session.ended = utcnow()
        session.failure = failure
        _, conn = self.connector(session.station_id, session.connector_id)
        conn["status"] = "available"

    def step(self, session: ChargeSession) -> list[tuple[str, dict[str, Any]]]:
        """One tick of one session; the callbacks it causes, in order."""
        if session.status == "starting":
            session.status = "charging"
            return [("session.started", session.view())]
        if session.status != "charging":
            return []
        session.ticks += 1
        if "FAULT" in session.connector_id and session.ticks >= FAULT_AFTER_TICKS:
            self.finish(
                session,
                "failed",
                {"code": "CONNECTOR_FAULT", "message": "Connector reported a ground fault"},
            )
            return [("session.failed", {**session.view(), "failure": session.failure})]
        session.energy_kwh += KWH_PER_TICK
        session.soc = min(100.0, session.soc + SOC_PER_TICK)
        if session.soc >= session.target_soc:
            self.finish(session, "completed")
            return [("session.completed", session.receipt())]
        view = session.view()
        view["cost_so_far"] = view.pop("cost")
        return [("session.progress", view)]


def _public(reservation: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in reservation.items() if not k.startswith("_")}


class ShellSimulator(BookingDesk):
    """Stations, connector reservations and charging sessions behind OAuth2, API key and signature."""

    provider = "shell_recharge"
    events = EVENTS
    cancelled_by = "driver"

    def __init__(self, settings: HooklineSettings, sim_settings: SimulatorSettings) -> None:
        self.tokens = TokenIssuer(sim_settings)
        self.chargers = ShellWorld(float(extra(sim_settings, "initial_soc", 20.0)))
        super().__init__(
            settings,
            sim_settings,
            self.chargers,
            source="shell-recharge",
            codes=CODES,
            sample=SAMPLE,
            signing=SIGNING,
            credential=self.tokens.credential,
        )
        self.checks = bearer_checks(self.tokens, sim_settings)

    # ---- callbacks: reservations through the desk, sessions through note() ----

    def note(self, event: str, entity: str, data: dict[str, Any]) -> Callback:
        event_id = "sr_evt_" + secrets.token_hex(6)
        body = {"id": event_id, "type": event, "created_at": iso(utcnow()), "data": data}
        return Callback(
            entity=entity,
            event_id=event_id,
            url=self.sim.callback_url,
            body=json.dumps(body).encode(),
            scheme=self.scheme,
            signature_header="X-Shell-Signature",
        )

    def notify(self, event: str, entity: str, data: dict[str, Any]) -> None:
        if self.scheme is not None:
            self.sim.send(self.note(event, entity, data))

    def callback(self, event: str, reservation: dict[str, Any], fields: dict[str, Any]) -> Callback:
        return self.note(event, reservation["reservation_id"], {**_public(reservation), **fields})

    def view(self, reservation: dict[str, Any]) -> dict[str, Any]:
        return _public(reservation)

    def created_view(self, reservation: dict[str, Any]) -> dict[str, Any]:
        return {k: reservation[k] for k in CREATED_FIELDS}

    def cancelled_view(self, reservation: dict[str, Any]) -> dict[str, Any]:
        return {"reservation_id": reservation["reservation_id"], "status": reservation["status"]}

    def emit_other(self, order: EmitRequest) -> Callback:
        session = self.chargers.sessions.get(order.entity_id)
        if session is None:
            raise EmitRejected(404, f"no session {order.entity_id}")
        data = session.receipt() if order.event == "session.completed" else session.view()
        if order.event == "session.failed":
            data["failure"] = order.data.get("failure") or {
                "code": "EMERGENCY_STOP",
                "message": "Emergency stop pressed",
            }
        return self.note(order.event, order.entity_id, {**data, **order.data})

    # ---- stations and sessions ---------------------------------------------------

    async def stations(self, request: Request) -> Response:
        q = request.query_params
        kind = q.get("connector_type")
        min_kw = float(q.get("min_power_kw") or 0)
        only_free = q.get("available_only", "").lower() == "true"

        def shown(c: dict[str, Any]) -> bool:
            return (
                (not kind or c["type"] == kind)
                and c["power_kw"] >= min_kw
                and (not only_free or c["status"] == "available")
            )

        out = []
        for sid, st in self.chargers.stations.items():
            conns = [c for c in st["connectors"].values() if shown(c)]
            if conns:
                out.append(
                    {
                        "station_id": sid,
                        "name": st["name"],
                        "location": st["location"],
                        "connectors": conns,
                        "pricing": PRICING,
                    }
                )
        return JSONResponse({"stations": out})

    async def availability(self, request: Request) -> Response:
        sid = request.path_params["station_id"]
        cid = request.query_params.get("connector_id", "")
        _, conn = self.chargers.connector(sid, cid)
        minutes = int(request.query_params.get("duration_minutes", "30"))
        free = conn["status"] == "available"
        estimate = round(SESSION_FEE + 0.5 * conn["power_kw"] * minutes / 60 * PER_KWH, 2)
        return JSONResponse(
            {
                "station_id": sid,
                "connector_id": cid,
                "available": free,
                "next_available_at": None if free else iso(utcnow() + timedelta(minutes=30)),
                "price_estimate": {"amount": estimate, "currency": CURRENCY},
            }
        )

    async def start(self, request: Request) -> Response:
        session = self.chargers.start(await json_body(request))
        return JSONResponse(
            {
                "session_id": session.session_id,
                "status": session.status,
                "started_at": iso(session.started),
                "station_id": session.station_id,
                "connector_id": session.connector_id,
                "reservation_id": session.reservation_id,
            },
            status_code=201,
        )

    async def status(self, request: Request) -> Response:
        return JSONResponse(self.chargers.get_session(request.path_params["session_id"]).view())

    async def stop(self, request: Request) -> Response:
        session = self.chargers.get_session(request.path_params["session_id"])
        if session.status == "failed":
            raise SimError("INVALID_SESSION", "the session failed; there is nothing to stop")
        if session.status in ("starting", "charging"):
            self.chargers.finish(session, "completed")
            self.notify("session.completed", session.session_id, session.receipt())
        return JSONResponse(session.receipt())

    async def emergency_stop(self, request: Request) -> Response:
        """Cut the power now: the session fails with the stop code; an ended session answers as it is."""
        session = self.chargers.get_session(request.path_params["session_id"])
        body = await json_body(request)
        code = str(body.get("code") or "EMERGENCY_STOP")
        if code not in EMERGENCY_CODES:
            raise SimError("INVALID_REQUEST", f"code must be one of {', '.join(EMERGENCY_CODES)}")
        if session.status in ("starting", "charging", "stopping"):
            reason = body.get("reason") or "Emergency stop"
            self.chargers.finish(session, "failed", {"code": code, "message": str(reason)})
            self.notify(
                "session.failed", session.session_id, {**session.view(), "failure": session.failure}
            )
        return JSONResponse({**session.view(), "failure": session.failure})

    async def tick(self) -> None:
        for session in list(self.chargers.sessions.values()):
            for event, data in self.chargers.step(session):
                self.notify(event, session.session_id, data)

    def state(self) -> dict[str, Any]:
        world = self.chargers
        return {
            **self.tokens.state(),
            "entities": {
                "reservations": {k: _public(v) for k, v in world.reservations.items()},
                "sessions": {k: s.view() for k, s in world.sessions.items()},
                "connectors": {
                    f"{sid}/{cid}": c["status"]
                    for sid, st in world.stations.items()
                    for cid, c in st["connectors"].items()
                },
            },
        }

    def build(self) -> SimulatorLayer:
        sim, checks = self.sim, self.checks
        sim.route("/oauth/token", self.tokens.token_endpoint, methods=["POST"])
        sim.route("/_sim/tokens/reissue", self.tokens.reissue, methods=["POST"])
        self.route(f"{BASE}/stations", self.stations, checks)
        self.route(f"{BASE}/stations/{{station_id}}/availability", self.availability, checks)
        self.route_bookings(f"{BASE}/reservations", checks)
        self.route(f"{BASE}/sessions", self.start, checks, methods=["POST"], idempotent=True)
        self.route(f"{BASE}/sessions/{{session_id}}", self.status, checks)
        self.route(
            f"{BASE}/sessions/{{session_id}}/stop",
            self.stop,
            checks,
            methods=["POST"],
            idempotent=True,
        )
        self.route(
            f"{BASE}/sessions/{{session_id}}/emergency-stop",
            self.emergency_stop,
            checks,
            methods=["POST"],
            idempotent=True,
        )
        sim.every_tick(self.tick)
        sim.on_emit(self.emit)
        sim.on_reset(self.chargers.reset)
        sim.on_reset(self.tokens.reset)
        sim.on_state(self.state)
        return sim.build()


def create_app(settings: HooklineSettings, sim_settings: SimulatorSettings) -> SimulatorLayer:
    """The Shell Recharge simulator app (serves ``/v2/...`` and the token endpoint ``/oauth/token``)."""
    return ShellSimulator(settings, sim_settings).build()
