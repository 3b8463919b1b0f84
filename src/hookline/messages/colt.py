"""Colt messages: the normalized events on ``events.colt`` and the commands on ``commands.colt``.

snake_case pydantic models with field descriptions and examples, so
``hookline schemas export`` documents them. Colt's own camelCase webhook
shapes live with the provider (:mod:`hookline.providers.colt.models`).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hookline.messages.base import MessageType

EVENTS_TOPIC = "events.colt"
COMMANDS_TOPIC = "commands.colt"

OrderStatus = Literal[
    "acknowledged", "in_progress", "completed", "rejected", "delayed", "cancelled"
]
ServiceStatus = Literal["provisioning", "active", "degraded", "suspended", "ceased"]
Origin = Literal["webhook", "poll"]

DEFAULT_UTILIZATION_THRESHOLD = 90.0
DEFAULT_AVAILABILITY_THRESHOLD = 99.9


class _Data(BaseModel):
    """Published data: snake_case, unknown fields refused so producers see their typos."""

    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- normalized events


class TechnicalContact(_Data):
    name: str | None = Field(default=None, description="Contact name.", examples=["John Smith"])
    email: str | None = Field(default=None, examples=["john.smith@example.com"])
    phone: str | None = Field(
        default=None,
        description="E.164, or null when Colt's number is not international.",
        examples=["+442079460958"],
    )
    role: str | None = Field(default=None, examples=["primary"])


class OrderStateChanged(_Data):
    """A Colt order moved to another status (``order.state_changed`` notification)."""

    order_id: str = Field(description="Colt order id; the subject.", examples=["ORD-100234"])
    quote_id: str | None = Field(default=None, examples=["Q-55012"])
    purchase_order_number: str | None = Field(default=None, examples=["PO-98765"])
    previous_status: OrderStatus | None = Field(default=None, examples=["in_progress"])
    status: OrderStatus = Field(description="The new overall status.", examples=["completed"])
    percent_complete: int | None = Field(default=None, ge=0, le=100, examples=[100])
    service_id: str | None = Field(
        default=None, description="Set once completed.", examples=["SVC-ETHERNET-123456"]
    )
    estimated_completion_date: str | None = Field(default=None, examples=["2025-03-31"])
    reason: str | None = Field(
        default=None, description="Why rejected or delayed.", examples=["wayleave pending"]
    )
    technical_contact: TechnicalContact | None = Field(
        default=None, description="The first primary contact, else the first contact."
    )
    technical_contacts: list[TechnicalContact] = Field(default_factory=list)


class UtilizationHigh(_Data):
    """A service's peak utilization went above the threshold."""

    service_id: str = Field(examples=["SVC-ETHERNET-123456"])
    peak_utilization_percent: float = Field(examples=[93.4])
    threshold_percent: float = Field(default=DEFAULT_UTILIZATION_THRESHOLD, examples=[90.0])
    period_start: str | None = Field(default=None, examples=["2025-03-21T09:00:00Z"])
    period_end: str | None = Field(default=None, examples=["2025-03-21T10:00:00Z"])
    origin: Origin = Field(description="A Colt notification, or hookline's own usage poll.")
    command_id: str | None = Field(
        default=None, description="The watch/check command that found it (origin poll)."
    )


class AvailabilityLow(_Data):
    """A service's availability fell below the threshold."""

    service_id: str = Field(examples=["SVC-ETHERNET-123456"])
    availability_percent: float = Field(examples=[99.5])
    threshold_percent: float = Field(default=DEFAULT_AVAILABILITY_THRESHOLD, examples=[99.9])
    period_start: str | None = Field(default=None, examples=["2025-03-21T09:00:00Z"])
    period_end: str | None = Field(default=None, examples=["2025-03-21T10:00:00Z"])
    origin: Origin
    command_id: str | None = None


# --------------------------------------------------------------------------- commands


class _Command(_Data):
    command_id: str | None = Field(
        default=None,
        description="Equals the command's CloudEvent id when given (results carry it).",
    )


class Address(_Data):
    street_address: str = Field(min_length=1, examples=["1 Canada Square"])
    city: str = Field(min_length=1, examples=["London"])
    postal_code: str = Field(min_length=1, examples=["E14 5AB"])
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2.", examples=["GB"])


class Coordinates(_Data):
    latitude: float = Field(ge=-90, le=90, examples=[51.5074])
    longitude: float = Field(ge=-180, le=180, examples=[-0.1278])


class Location(_Data):
    """Exactly one of ``address`` or ``coordinates``."""

    address: Address | None = None
    coordinates: Coordinates | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Location:
        if (self.address is None) == (self.coordinates is None):
            raise ValueError("a location has exactly one of address or coordinates")
        return self


class AvailabilityCheck(_Command):
    """Ask Colt which service and bandwidth each location can get."""

    locations: list[Location] = Field(min_length=1)
    service_type: str = Field(default="ethernet", examples=["ethernet"])
    bandwidth_mbps: int = Field(gt=0, examples=[1000])


class Customer(_Data):
    account_number: str = Field(min_length=1, examples=["CUST-12345"])
    company_name: str = Field(min_length=1, examples=["Example Corp"])
    contact_email: str = Field(min_length=3, examples=["procurement@example.com"])


class Endpoint(_Data):
    reference_id: str = Field(min_length=1, description="A location id from availability.")
    site_name: str | None = Field(default=None, examples=["London HQ"])


class Endpoints(_Data):
    endpoint_a: Endpoint
    endpoint_b: Endpoint | None = None


class QuoteService(_Data):
    service_type: str = "ethernet"
    bandwidth: str = Field(examples=["1000"])
    bandwidth_unit: str = "Mbps"
    term_months: int = Field(gt=0, examples=[36])
    locations: Endpoints
    protection: Literal["protected", "unprotected"] = "unprotected"
    sla: Literal["standard", "premium"] = "standard"


class QuoteCreate(_Command):
    """Ask Colt for a quote."""

    customer: Customer
    services: list[QuoteService] = Field(min_length=1)
    currency: str = Field(default="GBP", pattern=r"^[A-Z]{3}$")


class Contact(_Data):
    name: str = Field(min_length=1, examples=["John Smith"])
    email: str = Field(min_length=3, examples=["john.smith@example.com"])
    phone: str = Field(min_length=3, examples=["+44 20 7946 0958"])
    role: str = Field(default="primary", examples=["primary"])


class SiteAccess(_Data):
    access_hours: str = Field(examples=["24x7"])
    restrictions: str = Field(default="None", examples=["48hr notice required"])
    contact_name: str = Field(examples=["Site Manager A"])
    contact_phone: str = Field(examples=["+44 20 7946 0959"])


class OrderSubmit(_Command):
    """Turn an accepted quote into an order. Effect-once: never two orders per command."""

    quote_id: str = Field(min_length=1, examples=["Q-55012"])
    purchase_order_number: str = Field(min_length=1, examples=["PO-98765"])
    requested_delivery_date: date | None = Field(
        default=None, description="Default: today + 30 days (the guide)."
    )
    technical_contacts: list[Contact] = Field(min_length=1)
    site_access: dict[str, SiteAccess] = Field(
        default_factory=dict, description="Keyed endpoint_a / endpoint_b."
    )


class QuoteGet(_Command):
    """Read a quote now: its status, total and, once ordered, its order."""

    quote_id: str = Field(min_length=1, examples=["Q-55012"])


class OrderModify(_Command):
    """Change an open order (acknowledged, in progress or delayed): at least one field."""

    order_id: str = Field(min_length=1, examples=["ORD-100234"])
    requested_delivery_date: date | None = Field(default=None, examples=["2025-05-02"])
    technical_contacts: list[Contact] | None = Field(default=None, min_length=1)
    site_access: dict[str, SiteAccess] | None = Field(
        default=None, description="Keyed endpoint_a / endpoint_b."
    )

    @model_validator(mode="after")
    def _something(self) -> OrderModify:
        if (
            self.requested_delivery_date is None
            and self.technical_contacts is None
            and self.site_access is None
        ):
            raise ValueError(
                "nothing to modify: give requested_delivery_date, technical_contacts or site_access"
            )
        return self


class OrderCancel(_Command):
    """Cancel an open order; cancelling a cancelled order answers the same cancellation."""

    order_id: str = Field(min_length=1, examples=["ORD-100234"])
    reason: str | None = Field(default=None, examples=["project postponed"])


class OrderTrack(_Command):
    """Read an order's status and milestones now."""

    order_id: str = Field(min_length=1, examples=["ORD-100234"])


class ServiceGet(_Command):
    """Read a service's status and configuration."""

    service_id: str = Field(min_length=1, examples=["SVC-ETHERNET-123456"])


class ServiceCheckUsage(_Command):
    """Read the latest usage once and compare it with the thresholds."""

    service_id: str = Field(min_length=1, examples=["SVC-ETHERNET-123456"])
    window_hours: int = Field(default=1, ge=1, le=744)
    granularity: Literal["hourly", "daily", "monthly"] = "hourly"
    utilization_threshold_percent: float | None = Field(default=None, gt=0, le=100)
    availability_threshold_percent: float | None = Field(default=None, gt=0, le=100)


class ServiceWatch(ServiceCheckUsage):
    """Check a service's status and usage every ``interval_seconds``, a bounded number of times.

    The watch ends after ``max_checks`` checks or ``duration_seconds``, whichever
    comes first (at least one of them is required). Each check emits
    ``colt.service.utilization_high`` / ``colt.service.availability_low`` when a
    threshold is crossed; the end emits ``colt.service.watch_completed``.
    """

    interval_seconds: float = Field(default=300, ge=1, examples=[300])
    duration_seconds: float | None = Field(default=None, gt=0, examples=[3600])
    max_checks: int | None = Field(default=None, ge=1, le=100_000, examples=[12])

    @model_validator(mode="after")
    def _bounded(self) -> ServiceWatch:
        if self.duration_seconds is None and self.max_checks is None:
            raise ValueError("a watch needs duration_seconds or max_checks")
        return self


class WatchContinuation(_Data):
    """Internal: the next check of a running watch (hookline writes it, not users)."""

    watch: ServiceWatch
    watch_command_id: str = Field(description="The id of the original colt.service.watch.")
    check: int = Field(ge=1, description="1-based number of the check this record runs.")
    due_at: float = Field(description="Unix seconds when this check should run.")
    deadline: float | None = Field(default=None, description="Unix seconds the watch ends.")
    alerts: int = Field(default=0, ge=0, description="Alerts emitted by earlier checks.")
    last_status: str | None = None
    via_tier: bool = Field(
        default=False, description="Travelling on a retry tier as a delay line, not to run there."
    )


# --------------------------------------------------------------------------- results


class _Result(_Data):
    command_id: str = Field(description="The command's CloudEvent id.")


class LocationResult(_Data):
    location_id: str = Field(examples=["loc-001"])
    serviceable: bool
    on_net: bool | None = None
    bandwidth_options: list[str] = Field(default_factory=list, examples=[["100", "1000"]])
    standard_lead_time_days: int | None = Field(default=None, examples=[30])
    requires_build_cost: bool = False


class AvailabilityChecked(_Result):
    request_id: str = Field(examples=["req-12345"])
    results: list[LocationResult]


class QuoteCreated(_Result):
    quote_id: str = Field(examples=["Q-55012"])
    status: str = Field(examples=["valid"])
    currency: str = Field(examples=["GBP"])
    total_contract_value: float = Field(examples=[32100.0])
    valid_until: str | None = Field(default=None, examples=["2025-03-31"])


class OrderSubmitted(_Result):
    order_id: str = Field(examples=["ORD-100234"])
    quote_id: str = Field(examples=["Q-55012"])
    purchase_order_number: str = Field(examples=["PO-98765"])
    status: str = Field(examples=["acknowledged"])
    recovered: bool = Field(
        default=False,
        description="The submit went unanswered (timeout, network) and the order was found "
        "by reading its quote, not submitted again.",
    )


class QuoteRetrieved(_Result):
    quote_id: str = Field(examples=["Q-55012"])
    status: str = Field(examples=["valid"], description="valid | expired | ordered")
    currency: str | None = Field(default=None, examples=["GBP"])
    total_contract_value: float | None = Field(default=None, examples=[32100.0])
    valid_until: str | None = Field(default=None, examples=["2025-03-31"])
    order_id: str | None = Field(default=None, description="The order, once ordered.")


class OrderModified(_Result):
    order_id: str = Field(examples=["ORD-100234"])
    overall_status: OrderStatus
    requested_delivery_date: str | None = Field(default=None, examples=["2025-05-02"])
    estimated_completion_date: str | None = None


class OrderCancelled(_Result):
    order_id: str = Field(examples=["ORD-100234"])
    overall_status: OrderStatus = Field(examples=["cancelled"])
    reason: str | None = Field(default=None, examples=["project postponed"])


class Milestone(_Data):
    name: str
    status: str
    completed_at: str | None = None


class OrderTracked(_Result):
    order_id: str
    overall_status: OrderStatus
    percent_complete: int | None = None
    milestones: list[Milestone] = Field(default_factory=list)
    estimated_completion_date: str | None = None
    service_id: str | None = None
    reason: str | None = None
    last_updated: str | None = None


class ServiceRetrieved(_Result):
    service_id: str
    order_id: str | None = None
    status: str = Field(examples=["active"])
    service_type: str | None = None
    bandwidth: str | None = None
    bandwidth_unit: str | None = None
    configuration: dict[str, Any] = Field(default_factory=dict)
    activated_at: str | None = None


class UsageReported(_Result):
    service_id: str
    granularity: str
    period_start: str | None = None
    period_end: str | None = None
    peak_utilization_percent: float | None = None
    availability_percent: float | None = None
    average_utilization_percent: float | None = None


class WatchCompleted(_Result):
    service_id: str
    checks: int = Field(description="Checks that ran.")
    alerts: int = Field(description="Threshold events emitted.")
    last_status: str | None = Field(default=None, description="The service status last seen.")
    ended: Literal["max_checks", "duration"] = Field(description="Which bound ended the watch.")


class FieldIssue(_Data):
    field: str = Field(examples=["locations[0].address.postalCode"])
    issue: str = Field(examples=["required"])


class CommandFailed(_Result):
    command_type: str = Field(examples=["colt.order.submit"])
    http_status: int | None = Field(default=None, examples=[400])
    error_code: str | None = Field(default=None, examples=["INVALID_REQUEST"])
    message: str = Field(
        description="What went wrong and what to do, from Colt's status table, with Colt's "
        "own message and the field: issue pairs.",
        examples=[
            "Bad request - check the request parameters: Validation failed "
            "(services[0].termMonths: less than or equal to 120)"
        ],
    )
    provider_message: str | None = Field(
        default=None, description="The error text as raised (Colt's message or hookline's)."
    )
    details: list[FieldIssue] = Field(default_factory=list)
    retryable: bool = False
    attempts: int = 1


def _event(type_: str, model: type[BaseModel], key: str, text: str) -> MessageType:
    return MessageType(type_, model, "event", EVENTS_TOPIC, key, text)


def _command(type_: str, model: type[BaseModel], key: str, text: str) -> MessageType:
    return MessageType(type_, model, "command", COMMANDS_TOPIC, key, text)


MESSAGE_TYPES: tuple[MessageType, ...] = (
    _event("colt.order.state_changed", OrderStateChanged, "order id", "An order changed status."),
    _event(
        "colt.service.utilization_high",
        UtilizationHigh,
        "service id",
        "Peak utilization above the threshold (default 90 %).",
    ),
    _event(
        "colt.service.availability_low",
        AvailabilityLow,
        "service id",
        "Availability below the threshold (default 99.9 %).",
    ),
    _event(
        "colt.availability.checked",
        AvailabilityChecked,
        "command id",
        "Result of colt.availability.check.",
    ),
    _event("colt.quote.created", QuoteCreated, "quote id", "Result of colt.quote.create."),
    _event("colt.order.submitted", OrderSubmitted, "order id", "Result of colt.order.submit."),
    _event("colt.quote.retrieved", QuoteRetrieved, "quote id", "Result of colt.quote.get."),
    _event("colt.order.modified", OrderModified, "order id", "Result of colt.order.modify."),
    _event("colt.order.cancelled", OrderCancelled, "order id", "Result of colt.order.cancel."),
    _event("colt.order.tracked", OrderTracked, "order id", "Result of colt.order.track."),
    _event("colt.service.retrieved", ServiceRetrieved, "service id", "Result of colt.service.get."),
    _event(
        "colt.service.usage_reported",
        UsageReported,
        "service id",
        "Result of colt.service.check_usage.",
    ),
    _event(
        "colt.service.watch_completed",
        WatchCompleted,
        "service id",
        "Result of colt.service.watch, when it ends.",
    ),
    _event("colt.command.failed", CommandFailed, "command id", "A Colt command failed for good."),
    _command(
        "colt.availability.check",
        AvailabilityCheck,
        "command id",
        "Check availability at locations.",
    ),
    _command("colt.quote.create", QuoteCreate, "customer account number", "Create a quote."),
    _command(
        "colt.order.submit", OrderSubmit, "quote id", "Submit an order from a quote (effect-once)."
    ),
    _command("colt.quote.get", QuoteGet, "quote id", "Read a quote."),
    _command("colt.order.modify", OrderModify, "order id", "Change an open order."),
    _command("colt.order.cancel", OrderCancel, "order id", "Cancel an open order."),
    _command("colt.order.track", OrderTrack, "order id", "Read an order's status."),
    _command("colt.service.get", ServiceGet, "service id", "Read a service's status."),
    _command(
        "colt.service.check_usage",
        ServiceCheckUsage,
        "service id",
        "Check usage once against the thresholds.",
    ),
    _command(
        "colt.service.watch",
        ServiceWatch,
        "service id",
        "Check status and usage periodically, bounded.",
    ),
    _command(
        "colt.service.watch_check",
        WatchContinuation,
        "service id",
        "Internal: the next check of a running watch.",
    ),
)
