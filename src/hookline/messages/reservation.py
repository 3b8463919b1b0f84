"""Normalized reservation and charging types (docs/providers/reservations.md#commands-and-results).

Lifecycle events (``reservation.booking.*``, ``charging.session.*``) come only
from provider webhooks; the worker's result events
(``reservation.command.*``, ``charging.command.*``) say what a command did.
Keeping them apart means no webhook fact appears twice on a topic.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from hookline.messages.base import MessageType

ReservationProvider = Literal["opentable", "recreation_gov", "shell_recharge"]
BookingStatus = Literal["confirmed", "cancelled", "seated", "completed", "no_show"]
SessionStatus = Literal["starting", "charging", "stopping", "completed", "failed"]

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_CMD = "5f0c1c1e-8d8e-5a57-9c1e-2f4b7d0a9e31"


def e164_or_none(phone: Any) -> str | None:
    """``+1-555-555-0123`` → ``+15555550123``; anything that is not E.164 after stripping → None."""
    if not isinstance(phone, str):
        return None
    compact = re.sub(r"[\s\-().]", "", phone)
    return compact if _E164.fullmatch(compact) else None


# ---------------------------------------------------------------- lifecycle events


class Person(BaseModel):
    """Who booked (customer) or drives (driver)."""

    name: str | None = Field(default=None, description="Full name.", examples=["John Doe"])
    email: str | None = Field(
        default=None, description="E-mail address.", examples=["john@example.com"]
    )
    phone: str | None = Field(
        default=None,
        description="E.164 phone number, or null when the provider's value is not E.164.",
        examples=["+15555550123"],
    )


class Venue(BaseModel):
    """Where the reservation is."""

    id: str = Field(description="Restaurant, campground or station id.", examples=["rest_001"])
    name: str | None = Field(default=None, description="Display name.", examples=["Trattoria Uno"])
    kind: Literal["restaurant", "campground", "charging_station"] = Field(
        description="What kind of venue.", examples=["restaurant"]
    )


class Money(BaseModel):
    amount: float = Field(description="Amount in the currency's major unit.", examples=[60.0])
    currency: str = Field(description="ISO 4217 code.", examples=["USD"])


class Cancellation(BaseModel):
    by: str | None = Field(
        default=None,
        description="Who cancelled: diner, restaurant, customer, facility…",
        examples=["diner"],
    )
    reason: str | None = Field(
        default=None, description="Free-text reason.", examples=["plans changed"]
    )
    refund: Money | None = Field(default=None, description="Refund, when the provider reports one.")


class BookingEvent(BaseModel):
    """``reservation.booking.{created,modified,cancelled,reminder}`` data."""

    reservation_id: str = Field(
        description="Provider reservation id (subject and key).", examples=["ot_res_8f2a"]
    )
    provider: ReservationProvider = Field(description="Platform.", examples=["opentable"])
    confirmation: str | None = Field(
        default=None,
        description="Confirmation number or code shown to the customer.",
        examples=["OT-482913"],
    )
    venue: Venue
    site_id: str | None = Field(
        default=None, description="Campsite or connector id.", examples=["A12"]
    )
    date: str = Field(
        description="Reservation date (Recreation.gov: the first night).", examples=["2025-02-01"]
    )
    time: str | None = Field(
        default=None,
        description="Local time (HH:MM) when the platform has one.",
        examples=["19:00"],
    )
    end_date: str | None = Field(
        default=None, description="Recreation.gov: check-out date.", examples=["2025-06-03"]
    )
    party_size: int | None = Field(
        default=None, description="Guests (Recreation.gov: adults + children).", examples=[4]
    )
    status: str = Field(
        description="confirmed | cancelled | seated | completed | no_show (Recreation.gov's reserved → confirmed).",
        examples=["confirmed"],
    )
    customer: Person = Field(default_factory=Person)
    changes: dict[str, Any] | None = Field(
        default=None,
        description="modified only: field → {from, to}.",
        examples=[{"party_size": {"from": 4, "to": 6}}],
    )
    cancellation: Cancellation | None = Field(default=None, description="cancelled only.")
    hours_before: int | None = Field(default=None, description="reminder only.", examples=[24])


class SessionCost(BaseModel):
    amount: float = Field(description="Total (completed) or cost so far.", examples=[18.08])
    currency: str = Field(examples=["USD"])
    energy: float | None = Field(default=None, examples=[17.08])
    time: float | None = Field(default=None, examples=[0.0])
    session_fee: float | None = Field(default=None, examples=[1.0])


class Failure(BaseModel):
    code: str = Field(
        description="CONNECTOR_FAULT | VEHICLE_ERROR | EMERGENCY_STOP | PAYMENT_DECLINED",
        examples=["CONNECTOR_FAULT"],
    )
    message: str | None = Field(default=None, examples=["Connector reported a fault"])


class SessionEvent(BaseModel):
    """``charging.session.{started,progress,completed,failed}`` data."""

    session_id: str = Field(description="Session id (subject and key).", examples=["sr_sess_3b9e"])
    provider: Literal["shell_recharge"] = "shell_recharge"
    station_id: str = Field(examples=["shell_ev_001"])
    connector_id: str = Field(examples=["conn_001"])
    reservation_id: str | None = Field(default=None, examples=["sr_res_1a2b"])
    status: SessionStatus = Field(examples=["completed"])
    started_at: str | None = Field(
        default=None, description="RFC 3339.", examples=["2025-01-25T14:03:00Z"]
    )
    ended_at: str | None = Field(
        default=None, description="RFC 3339.", examples=["2025-01-25T14:41:00Z"]
    )
    energy_kwh: float = Field(default=0.0, description="Energy delivered so far.", examples=[42.7])
    power_kw: float | None = Field(default=None, examples=[150.0])
    soc_percent: float | None = Field(
        default=None, description="Battery state of charge.", examples=[80]
    )
    duration_seconds: int = Field(default=0, examples=[2280])
    cost: SessionCost
    driver: Person = Field(default_factory=Person)
    failure: Failure | None = None


# ---------------------------------------------------------------- commands


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid")

    command_id: str | None = Field(
        default=None,
        description="The command's CloudEvent id; filled from the envelope when absent.",
        examples=[_CMD],
    )


class Customer(BaseModel):
    """A diner or camper; platform-specific fields are ignored by the others."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, examples=["John Doe"])
    email: str = Field(min_length=3, examples=["john@example.com"])
    phone: str | None = Field(default=None, examples=["+15555550123"])
    special_requests: str | None = Field(default=None, examples=["Window table"])
    dietary_restrictions: list[str] = Field(default_factory=list, examples=[["vegetarian"]])
    occasion: str | None = Field(default=None, examples=["birthday"])
    adults: int | None = Field(default=None, ge=0, description="Recreation.gov.", examples=[2])
    children: int | None = Field(default=None, ge=0, description="Recreation.gov.", examples=[2])
    equipment_type: str | None = Field(
        default=None, description="Recreation.gov: tent, rv, trailer.", examples=["tent"]
    )
    vehicles: int | None = Field(default=None, ge=0, description="Recreation.gov.", examples=[1])
    permit_id: str | None = Field(
        default=None, description="Recreation.gov permit areas.", examples=["PRM-2231"]
    )


class Vehicle(BaseModel):
    """Shell Recharge: the car and its driver."""

    model_config = ConfigDict(extra="forbid")

    make: str = Field(examples=["Tesla"])
    model: str = Field(examples=["Model 3"])
    battery_capacity_kwh: float = Field(gt=0, examples=[75])
    connector_type: Literal["CCS", "CHAdeMO", "Type2"] = Field(examples=["CCS"])
    driver_name: str = Field(examples=["Bob Johnson"])
    driver_email: str = Field(examples=["bob@example.com"])
    driver_phone: str | None = Field(default=None, examples=["+15555550199"])
    target_soc: int = Field(default=80, ge=1, le=100, examples=[80])


class OpenTableCreate(_Command):
    """``reservation.create`` at OpenTable: a table for ``party_size`` at ``date`` ``time``."""

    provider: Literal["opentable"]
    venue_id: str = Field(description="Restaurant id.", examples=["rest_001"])
    party_size: int = Field(ge=1, examples=[4])
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["2025-02-01"])
    time: str = Field(pattern=r"^\d{2}:\d{2}$", examples=["19:00"])
    customer: Customer


class RecreationGovCreate(_Command):
    """``reservation.create`` at Recreation.gov: a campsite for the nights [start_date, end_date)."""

    provider: Literal["recreation_gov"]
    venue_id: str = Field(description="Campground (facility) id.", examples=["232447"])
    site_id: str = Field(examples=["A12"])
    start_date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["2025-06-01"])
    end_date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["2025-06-03"])
    customer: Customer


class ShellCreate(_Command):
    """``reservation.create`` at Shell Recharge: reserve a connector for a time window."""

    provider: Literal["shell_recharge"]
    venue_id: str = Field(description="Station id.", examples=["shell_ev_001"])
    connector_id: str = Field(examples=["conn_001"])
    start_time: str = Field(description="RFC 3339.", examples=["2025-01-25T14:00:00Z"])
    duration_minutes: int = Field(ge=1, examples=[30])
    vehicle: Vehicle


ReservationCreateBody = Annotated[
    OpenTableCreate | RecreationGovCreate | ShellCreate, Field(discriminator="provider")
]


class ReservationCreate(RootModel[ReservationCreateBody]):
    """``reservation.create``: the ``provider`` field chooses the platform and its fields."""


class ReservationModify(_Command):
    """``reservation.modify``: change a reservation; only the given fields change."""

    provider: ReservationProvider
    reservation_id: str = Field(examples=["ot_res_8f2a"])
    changes: dict[str, Any] = Field(
        min_length=1,
        description="OpenTable: party_size, date, time, special_requests. Recreation.gov: "
        "start_date, end_date, site_id, customer. Shell: start_time, duration_minutes.",
        examples=[{"party_size": 6}],
    )


class ReservationCancel(_Command):
    """``reservation.cancel``: cancel a reservation (cancelling twice is not an error)."""

    provider: ReservationProvider
    reservation_id: str = Field(examples=["ot_res_8f2a"])
    reason: str | None = Field(default=None, examples=["plans changed"])


class SessionStart(_Command):
    """``charging.session.start``: start charging on a connector (effect-once)."""

    provider: Literal["shell_recharge"] = "shell_recharge"
    station_id: str = Field(examples=["shell_ev_001"])
    connector_id: str = Field(examples=["conn_001"])
    reservation_id: str | None = Field(default=None, examples=["sr_res_1a2b"])


class SessionStop(_Command):
    """``charging.session.stop``: stop a session; stopping a completed one answers its receipt."""

    provider: Literal["shell_recharge"] = "shell_recharge"
    session_id: str = Field(examples=["sr_sess_3b9e"])
    reason: str | None = Field(default=None, examples=["driver request"])


class ReservationSearch(_Command):
    """``reservation.search``: restaurants (OpenTable) or campgrounds (Recreation.gov) near a point.

    OpenTable reads ``cuisine_type``, ``party_size``, ``datetime`` and
    ``price_range``; Recreation.gov reads ``amenities``, ``activity`` and
    ``campground_type``. Each ignores the other's fields.
    """

    provider: Literal["opentable", "recreation_gov"]
    latitude: float = Field(ge=-90, le=90, examples=[37.7749])
    longitude: float = Field(ge=-180, le=180, examples=[-122.4194])
    radius_miles: float = Field(default=10, gt=0, le=500, examples=[10])
    cuisine_type: str | None = Field(default=None, examples=["Italian"])
    party_size: int | None = Field(default=None, ge=1, examples=[4])
    datetime: str | None = Field(
        default=None, description="RFC 3339.", examples=["2025-02-01T19:00:00Z"]
    )
    price_range: int | None = Field(default=None, ge=1, le=4, examples=[2])
    amenities: list[str] = Field(default_factory=list, examples=[["Restrooms", "Drinking Water"]])
    activity: str | None = Field(default=None, examples=["Camping"])
    campground_type: str | None = Field(default=None, examples=["National Forest"])
    limit: int = Field(default=20, ge=1, le=50)


class AvailabilityCheck(_Command):
    """``reservation.availability.check``: free tables (OpenTable) or campsites (Recreation.gov).

    OpenTable needs ``party_size`` and ``date`` (``time_preference`` orders the
    slots around it); Recreation.gov needs ``start_date`` and ``end_date`` (the
    nights [start, end)) and filters by ``equipment_type``.
    """

    provider: Literal["opentable", "recreation_gov"]
    venue_id: str = Field(min_length=1, examples=["rest_001"])
    party_size: int | None = Field(default=None, ge=1, examples=[4])
    date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["2025-02-01"])
    time_preference: str | None = Field(default=None, pattern=r"^\d{2}:\d{2}$", examples=["19:00"])
    start_date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    end_date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    equipment_type: str | None = Field(default=None, examples=["tent"])

    @model_validator(mode="after")
    def _platform_fields(self) -> AvailabilityCheck:
        if self.provider == "opentable" and (self.party_size is None or self.date is None):
            raise ValueError("OpenTable availability needs party_size and date")
        if self.provider == "recreation_gov" and (self.start_date is None or self.end_date is None):
            raise ValueError("Recreation.gov availability needs start_date and end_date")
        return self


class PermitSearch(_Command):
    """``reservation.permit.search``: Recreation.gov permits for an activity (hiking, rafting…)."""

    provider: Literal["recreation_gov"] = "recreation_gov"
    activity: str = Field(min_length=1, examples=["hiking"])
    state: str | None = Field(default=None, pattern=r"^[A-Z]{2}$", examples=["CA"])
    lottery_only: bool = Field(default=False, description="Only permits issued by lottery.")


class PermitLotteryEnter(_Command):
    """``reservation.permit.lottery.enter``: enter a Recreation.gov permit lottery (effect-once)."""

    provider: Literal["recreation_gov"] = "recreation_gov"
    permit_id: str = Field(min_length=1, examples=["PRM-2231"])
    preferred_dates: list[str] = Field(
        min_length=1,
        max_length=3,
        description="In order of preference.",
        examples=[["2025-07-12", "2025-07-19"]],
    )
    group_size: int = Field(ge=1, le=30, examples=[4])
    customer: Customer


class StationSearch(_Command):
    """``charging.station.search``: Shell Recharge stations near a point, filtered by connector and power."""

    provider: Literal["shell_recharge"] = "shell_recharge"
    latitude: float = Field(ge=-90, le=90, examples=[37.7749])
    longitude: float = Field(ge=-180, le=180, examples=[-122.4194])
    radius_miles: float = Field(default=25, gt=0, le=500, examples=[25])
    connector_type: Literal["CCS", "CHAdeMO", "Type2"] | None = Field(
        default=None, examples=["CCS"]
    )
    min_power_kw: float | None = Field(default=None, ge=0, examples=[100])
    available_only: bool = Field(default=False, description="Only connectors free now.")


class SessionStatusGet(_Command):
    """``charging.session.status``: read a charging session now (energy, power, SOC, cost so far)."""

    provider: Literal["shell_recharge"] = "shell_recharge"
    session_id: str = Field(min_length=1, examples=["sr_sess_3b9e"])


class EmergencyStop(_Command):
    """``charging.session.emergency_stop``: cut the power now with an emergency stop code.

    The session ends ``failed`` with ``failure.code`` = ``code``; stopping an
    ended session answers its final state.
    """

    provider: Literal["shell_recharge"] = "shell_recharge"
    session_id: str = Field(min_length=1, examples=["sr_sess_3b9e"])
    code: Literal["EMERGENCY_STOP", "CABLE_FAULT", "VEHICLE_FAULT", "SAFETY_HAZARD"] = Field(
        default="EMERGENCY_STOP", examples=["SAFETY_HAZARD"]
    )
    reason: str | None = Field(default=None, examples=["smoke at the connector"])


# ---------------------------------------------------------------- results


class CommandError(BaseModel):
    code: str = Field(
        description="Provider error code, or a hookline code.", examples=["NO_AVAILABILITY"]
    )
    message: str = Field(examples=["No tables for 4 at 19:00"])
    http_status: int | None = Field(default=None, examples=[409])
    retryable: bool = Field(examples=[False])


class CommandResult(BaseModel):
    """``reservation.command.*`` / ``charging.command.*`` data: what one command did."""

    command_id: str = Field(description="The command's CloudEvent id.", examples=[_CMD])
    command_type: str = Field(examples=["reservation.create"])
    provider: ReservationProvider = Field(examples=["opentable"])
    reservation_id: str | None = Field(default=None, examples=["ot_res_8f2a"])
    session_id: str | None = Field(default=None, examples=["sr_sess_3b9e"])
    result: dict[str, Any] | None = Field(
        default=None,
        description="succeeded: a subset of the provider's answer.",
        examples=[{"status": "confirmed", "confirmation": "OT-482913"}],
    )
    error: CommandError | None = Field(default=None, description="failed: why.")
    attempts: int | None = Field(
        default=None, ge=1, description="failed: attempts made.", examples=[1]
    )

    @model_validator(mode="after")
    def _one_outcome(self) -> CommandResult:
        if (self.result is None) == (self.error is None):
            raise ValueError("a command result has exactly one of result or error")
        return self


def _t(
    type_: str,
    model: type[BaseModel],
    kind: Literal["event", "command"],
    topic: str,
    key: str,
    doc: str,
) -> MessageType:
    return MessageType(type_, model, kind, topic, key, doc)


MESSAGE_TYPES: tuple[MessageType, ...] = (
    *(
        _t(
            f"reservation.booking.{name}",
            BookingEvent,
            "event",
            "events.reservation",
            "reservation id",
            doc,
        )
        for name, doc in (
            ("created", "A reservation was made (webhook)."),
            ("modified", "A reservation changed; data.changes says how (webhook)."),
            ("cancelled", "A reservation was cancelled (webhook)."),
            ("reminder", "A reminder the platform sends before the reservation (webhook)."),
        )
    ),
    *(
        _t(f"charging.session.{name}", SessionEvent, "event", "events.charging", "session id", doc)
        for name, doc in (
            ("started", "Charging started (webhook)."),
            ("progress", "Energy, power, state of charge and cost so far (webhook)."),
            ("completed", "The session ended; data carries kWh and the cost receipt (webhook)."),
            ("failed", "The session failed; data.failure says why (webhook)."),
        )
    ),
    _t(
        "reservation.create",
        ReservationCreate,
        "command",
        "commands.reservation",
        "command id",
        "Book a table, a campsite or a charging connector; effect-once.",
    ),
    _t(
        "reservation.modify",
        ReservationModify,
        "command",
        "commands.reservation",
        "reservation id",
        "Change a reservation.",
    ),
    _t(
        "reservation.cancel",
        ReservationCancel,
        "command",
        "commands.reservation",
        "reservation id",
        "Cancel a reservation.",
    ),
    _t(
        "charging.session.start",
        SessionStart,
        "command",
        "commands.reservation",
        "command id",
        "Start charging; effect-once.",
    ),
    _t(
        "charging.session.stop",
        SessionStop,
        "command",
        "commands.reservation",
        "session id",
        "Stop charging.",
    ),
    _t(
        "reservation.search",
        ReservationSearch,
        "command",
        "commands.reservation",
        "command id",
        "Search restaurants or campgrounds; the result lists them.",
    ),
    _t(
        "reservation.availability.check",
        AvailabilityCheck,
        "command",
        "commands.reservation",
        "venue id",
        "Free tables or campsites at one venue.",
    ),
    _t(
        "reservation.permit.search",
        PermitSearch,
        "command",
        "commands.reservation",
        "command id",
        "Recreation.gov permits for an activity.",
    ),
    _t(
        "reservation.permit.lottery.enter",
        PermitLotteryEnter,
        "command",
        "commands.reservation",
        "permit id",
        "Enter a Recreation.gov permit lottery; effect-once.",
    ),
    _t(
        "charging.station.search",
        StationSearch,
        "command",
        "commands.reservation",
        "command id",
        "Shell Recharge stations by connector type and power.",
    ),
    _t(
        "charging.session.status",
        SessionStatusGet,
        "command",
        "commands.reservation",
        "session id",
        "Read a charging session now.",
    ),
    _t(
        "charging.session.emergency_stop",
        EmergencyStop,
        "command",
        "commands.reservation",
        "session id",
        "Emergency-stop a charging session.",
    ),
    _t(
        "reservation.command.succeeded",
        CommandResult,
        "event",
        "events.reservation",
        "reservation id, else command id",
        "A reservation command succeeded.",
    ),
    _t(
        "reservation.command.failed",
        CommandResult,
        "event",
        "events.reservation",
        "reservation id, else command id",
        "A reservation command failed for good.",
    ),
    _t(
        "charging.command.succeeded",
        CommandResult,
        "event",
        "events.charging",
        "session or reservation id, else command id",
        "A charging command succeeded.",
    ),
    _t(
        "charging.command.failed",
        CommandResult,
        "event",
        "events.charging",
        "session or reservation id, else command id",
        "A charging command failed for good.",
    ),
)
