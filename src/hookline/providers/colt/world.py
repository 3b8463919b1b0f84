"""The simulated Colt: tokens, rate windows, quotes, orders and services as plain state.

No I/O here: :mod:`hookline.providers.colt.simulator` serves this over HTTP and
sends the notifications this module returns. Behaviour follows docs/providers/colt.md#simulator exactly (validation errors with field details, order lifecycle,
``REJECT`` / ``DELAY`` purchase orders, ``HOT`` / ``FLAKY`` services,
``ZZ1 1ZZ`` / (0, 0) unserviceable locations).

It is longer than our modules usually are because it is one state machine:
quotes, orders and services validate and advance against each other, and
split by entity the rules that link them would be scattered.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "AvailabilityRequest",
    "ColtApiError",
    "ColtWorld",
    "Order",
    "OrderCancelRequest",
    "OrderModifyRequest",
    "OrderRequest",
    "QuoteRequest",
    "Token",
    "validate",
]

UNSERVICEABLE_POSTCODE = "ZZ1 1ZZ"
QUOTE_VALID_DAYS = 30
RATE_LIMIT = 100
RATE_WINDOW_SECONDS = 60
MILESTONES = ("order_validated", "site_survey", "installation", "service_activation")
# An order can change or be cancelled until it is delivered or refused.
OPEN_STATUSES = ("acknowledged", "in_progress", "delayed")


class ColtApiError(Exception):
    """An answer in Colt's error format (docs/providers/colt.md#errors-and-retries)."""

    def __init__(
        self, status: int, code: str, message: str, details: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _field(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate(model: type[BaseModel], body: Any) -> Any:
    """Parse a request body or raise Colt's ``400 INVALID_REQUEST`` with field details."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        details = []
        for error in exc.errors():
            loc = tuple(
                p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-"))
            )
            issue = "required" if error["type"] == "missing" else error["msg"].lower()
            details.append({"field": _field(loc) or "body", "issue": issue})
        raise ColtApiError(400, "INVALID_REQUEST", "Validation failed", details) from exc


# --------------------------------------------------------------------------- request bodies


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Address(_Body):
    streetAddress: str = Field(min_length=1)
    city: str = Field(min_length=1)
    postalCode: str = Field(min_length=1)
    country: str = Field(pattern=r"^[A-Z]{2}$")


class _Coordinates(_Body):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class _Location(_Body):
    type: Literal["address", "coordinates"]
    address: _Address | None = None
    coordinates: _Coordinates | None = None


class AvailabilityRequest(_Body):
    locations: list[_Location] = Field(min_length=1)
    serviceType: str = "ethernet"
    bandwidth: str = Field(pattern=r"^\d+$")
    bandwidthUnit: Literal["Mbps"] = "Mbps"


class _Customer(_Body):
    accountNumber: str = Field(min_length=1)
    companyName: str = Field(min_length=1)
    contactEmail: str = Field(min_length=3)


class _Endpoint(_Body):
    referenceId: str = Field(min_length=1)
    siteName: str | None = None


class _QuoteService(_Body):
    serviceType: str = "ethernet"
    bandwidth: str = Field(pattern=r"^\d+$")
    bandwidthUnit: Literal["Mbps"] = "Mbps"
    termMonths: int = Field(gt=0, le=120)
    locations: dict[Literal["endpointA", "endpointB"], _Endpoint]
    protection: Literal["protected", "unprotected"] = "unprotected"
    sla: Literal["standard", "premium"] = "standard"


class QuoteRequest(_Body):
    customer: _Customer
    services: list[_QuoteService] = Field(min_length=1)
    currency: str = Field(default="GBP", pattern=r"^[A-Z]{3}$")


class _Contact(_Body):
    name: str = Field(min_length=1)
    email: str = Field(min_length=3)
    phone: str = Field(min_length=3)
    role: str = "primary"


class _SiteAccess(_Body):
    accessHours: str
    restrictions: str | None = None
    contactName: str
    contactPhone: str


class OrderRequest(_Body):
    quoteId: str = Field(min_length=1)
    purchaseOrderNumber: str = Field(min_length=1)
    requestedDeliveryDate: date | None = None
    technicalContacts: list[_Contact] = Field(min_length=1)
    siteAccess: dict[Literal["endpointA", "endpointB"], _SiteAccess] = Field(default_factory=dict)


class OrderModifyRequest(_Body):
    """A change to an open order: at least one of the fields."""

    requestedDeliveryDate: date | None = None
    technicalContacts: list[_Contact] | None = Field(default=None, min_length=1)
    siteAccess: dict[Literal["endpointA", "endpointB"], _SiteAccess] | None = None


class OrderCancelRequest(_Body):
    reason: str | None = None


# --------------------------------------------------------------------------- entities


@dataclass
class Token:
    client_id: str
    scopes: frozenset[str]
    expires_at: float


@dataclass
class Order:
    order_id: str
    quote_id: str
    purchase_order_number: str
    submitted_at: datetime
    requested_delivery_date: date
    contacts: list[dict[str, Any]]
    plan: list[tuple[str, int, str | None]]  # remaining steps: (status, percent, reason)
    status: str = "acknowledged"
    percent: int = 0
    reason: str | None = None
    service_id: str | None = None
    estimated_completion: date | None = None
    last_updated: datetime = field(default_factory=lambda: datetime.now(UTC))
    milestones: dict[str, str | None] = field(default_factory=dict)  # name → completedAt


def _plan(po_number: str) -> list[tuple[str, int, str | None]]:
    if "REJECT" in po_number:
        return [("rejected", 0, "credit check failed")]
    if "DELAY" in po_number:
        return [
            ("in_progress", 25, None),
            ("in_progress", 50, None),
            ("delayed", 50, "wayleave pending"),
            ("in_progress", 75, None),
            ("completed", 100, None),
        ]
    return [
        ("in_progress", 25, None),
        ("in_progress", 50, None),
        ("in_progress", 75, None),
        ("completed", 100, None),
    ]


def _fraction(*parts: object) -> float:
    """A stable number in [0, 1) from the inputs: simulated values repeat run to run."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


class ColtWorld:
    """Everything the simulated Colt remembers; reset by ``/_sim/reset``."""

    def __init__(self, clock: Callable[[], float] = time.time, token_ttl: int = 3600) -> None:
        self.clock = clock
        self.token_ttl = token_ttl
        self.reset()

    def reset(self) -> None:
        self.tokens: dict[str, Token] = {}
        self.tokens_issued = 0
        self.windows: dict[str, tuple[int, int]] = {}  # client → (window start, count)
        self.quotes: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, Order] = {}
        self.services: dict[str, dict[str, Any]] = {}
        self.event_counter = itertools.count(1)
        self.quote_counter = itertools.count(55012)
        # Order ids differ between simulator runs, as Colt's never repeat: a final status's
        # event id is "{orderId}:{status}", and a persistent dedup store would take a
        # fresh simulator's ORD-100234 completing for the previous run's.
        self.order_counter = itertools.count(100_000 + secrets.randbelow(899_000))
        self.service_counter = itertools.count(123456)
        self.request_counter = itertools.count(12345)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # ----------------------------------------------------------------- auth (docs/providers/colt.md#authentication)

    def issue_token(self, client_id: str, scope: str) -> dict[str, Any]:
        token = secrets.token_urlsafe(24)
        self.tokens[token] = Token(
            client_id, frozenset(scope.split()), self.clock() + self.token_ttl
        )
        self.tokens_issued += 1
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.token_ttl,
            "scope": scope,
        }

    def authenticate(self, authorization: str | None, method: str) -> Token:
        token = self.bearer(authorization or "")
        if token is None:
            raise ColtApiError(401, "UNAUTHORIZED", "Invalid or expired access token")
        needed = "ebonding.read" if method == "GET" else "ebonding.write"
        if needed not in token.scopes:
            raise ColtApiError(403, "FORBIDDEN", f"Scope {needed} required")
        return token

    def bearer(self, authorization: str) -> Token | None:
        """The live token an ``Authorization: Bearer …`` header presents, if any (no rate check)."""
        scheme, _, value = authorization.partition(" ")
        token = self.tokens.get(value.strip()) if scheme.lower() == "bearer" else None
        if token is None or token.expires_at <= self.clock():
            return None
        return token

    def expire_tokens(self) -> int:
        """Make every issued token expired now (tests the client's 401 → refresh path)."""
        for token in self.tokens.values():
            token.expires_at = self.clock() - 1
        return len(self.tokens)

    def active_tokens(self) -> int:
        now = self.clock()
        return sum(1 for t in self.tokens.values() if t.expires_at > now)

    def _window(self, client_id: str) -> tuple[int, int]:
        now = int(self.clock())
        start, count = self.windows.get(client_id, (now, 0))
        return (now, 0) if now >= start + RATE_WINDOW_SECONDS else (start, count)

    def would_allow(self, client_id: str, limit: int = RATE_LIMIT) -> bool:
        """Whether the next request of this client fits its window (nothing counted)."""
        return self._window(client_id)[1] < limit

    def rate(self, client_id: str, limit: int = RATE_LIMIT) -> tuple[bool, dict[str, str]]:
        """Count one request in the client's 60 s window; (allowed, x-ratelimit-* headers)."""
        start, count = self._window(client_id)
        allowed = count < limit
        count += 1 if allowed else 0
        self.windows[client_id] = (start, count)
        headers = {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(max(limit - count, 0)),
            "x-ratelimit-reset": str(start + RATE_WINDOW_SECONDS),
        }
        return allowed, headers

    # ----------------------------------------------------------------- availability

    def check_availability(self, body: Any) -> dict[str, Any]:
        request: AvailabilityRequest = validate(AvailabilityRequest, body)
        results = []
        for index, location in enumerate(request.locations):
            if location.type == "address" and location.address is None:
                raise ColtApiError(
                    400,
                    "INVALID_REQUEST",
                    "Validation failed",
                    [{"field": f"locations[{index}].address", "issue": "required"}],
                )
            if location.type == "coordinates" and location.coordinates is None:
                raise ColtApiError(
                    400,
                    "INVALID_REQUEST",
                    "Validation failed",
                    [{"field": f"locations[{index}].coordinates", "issue": "required"}],
                )
            results.append(self._location(index, location, request.serviceType))
        return {"requestId": f"req-{next(self.request_counter)}", "availability": results}

    def _location(self, index: int, location: _Location, service_type: str) -> dict[str, Any]:
        location_id = f"loc-{index + 1:03d}"
        if location.address is not None:
            key: tuple[object, ...] = (location.address.postalCode, location.address.country)
            unserviceable = location.address.postalCode.strip().upper() == UNSERVICEABLE_POSTCODE
        else:
            assert location.coordinates is not None
            key = (location.coordinates.latitude, location.coordinates.longitude)
            unserviceable = (
                location.coordinates.latitude == 0 and location.coordinates.longitude == 0
            )
        if unserviceable:
            return {
                "locationId": location_id,
                "serviceable": False,
                "onNet": False,
                "buildCost": None,
                "services": [],
            }
        on_net = _fraction(*key) < 0.6
        if on_net:
            return {
                "locationId": location_id,
                "serviceable": True,
                "onNet": True,
                "buildCost": None,
                "services": [
                    {
                        "serviceType": service_type,
                        "bandwidthOptions": ["100", "1000", "10000"],
                        "leadTime": {"standard": 30, "expedited": 15},
                    }
                ],
            }
        cost = round(2000 + 5000 * _fraction("build", *key), 2)
        return {
            "locationId": location_id,
            "serviceable": True,
            "onNet": False,
            "buildCost": {"amount": cost, "currency": "GBP"},
            "services": [
                {
                    "serviceType": service_type,
                    "bandwidthOptions": ["100", "1000"],
                    "leadTime": {"standard": 60},
                }
            ],
        }

    # ----------------------------------------------------------------- quotes

    def create_quote(self, body: Any) -> dict[str, Any]:
        request: QuoteRequest = validate(QuoteRequest, body)
        for index, service in enumerate(request.services):
            if "endpointA" not in service.locations:
                raise ColtApiError(
                    400,
                    "INVALID_REQUEST",
                    "Validation failed",
                    [{"field": f"services[{index}].locations.endpointA", "issue": "required"}],
                )
        quote_id = f"Q-{next(self.quote_counter)}"
        created = self.now()
        items = []
        for index, service in enumerate(request.services):
            mbps = int(service.bandwidth)
            factor = (1.3 if service.protection == "protected" else 1.0) * (
                1.2 if service.sla == "premium" else 1.0
            )
            nrc = round(500 + mbps * 1.0, 2)
            mrc = round((150 + mbps * 0.5) * factor, 2)
            items.append(
                {
                    "serviceIndex": index,
                    "nonRecurringCharge": nrc,
                    "monthlyRecurringCharge": mrc,
                    "termMonths": service.termMonths,
                }
            )
        total = sum(i["nonRecurringCharge"] for i in items) + sum(
            i["monthlyRecurringCharge"] * i["termMonths"] for i in items
        )
        quote = {
            "quoteId": quote_id,
            "status": "valid",
            "createdAt": _iso(created),
            "validUntil": (created + timedelta(days=QUOTE_VALID_DAYS)).date().isoformat(),
            "currency": request.currency,
            "pricing": {
                "lineItems": items,
                "totals": {
                    "nonRecurringCharge": round(sum(i["nonRecurringCharge"] for i in items), 2),
                    "monthlyRecurringCharge": round(
                        sum(i["monthlyRecurringCharge"] for i in items), 2
                    ),
                    "totalContractValue": round(total, 2),
                },
            },
        }
        self.quotes[quote_id] = {
            **quote,
            "customer": body["customer"],
            "services": body["services"],
        }
        return quote

    def get_quote(self, quote_id: str) -> dict[str, Any]:
        quote = self.quotes.get(quote_id)
        if quote is None:
            raise ColtApiError(404, "NOT_FOUND", f"Quote {quote_id} not found")
        if (
            quote["status"] == "valid"
            and date.fromisoformat(quote["validUntil"]) < self.now().date()
        ):
            quote["status"] = "expired"
        return quote

    # ----------------------------------------------------------------- orders

    def submit_order(self, body: Any) -> tuple[dict[str, Any], Order]:
        request: OrderRequest = validate(OrderRequest, body)
        if not any(c.role == "primary" for c in request.technicalContacts):
            raise ColtApiError(
                400,
                "INVALID_REQUEST",
                "Validation failed",
                [{"field": "technicalContacts", "issue": "a primary contact is required"}],
            )
        quote = self.get_quote(request.quoteId)
        if quote["status"] == "expired":
            raise ColtApiError(409, "QUOTE_EXPIRED", f"Quote {request.quoteId} has expired")
        if quote["status"] == "ordered":
            raise ColtApiError(
                409, "QUOTE_ALREADY_ORDERED", f"Quote {request.quoteId} is already ordered"
            )
        quote["status"] = "ordered"
        now = self.now()
        delivery = request.requestedDeliveryDate or (now + timedelta(days=30)).date()
        order = Order(
            order_id=f"ORD-{next(self.order_counter)}",
            quote_id=request.quoteId,
            purchase_order_number=request.purchaseOrderNumber,
            submitted_at=now,
            requested_delivery_date=delivery,
            contacts=[c.model_dump(exclude_none=True) for c in request.technicalContacts],
            plan=_plan(request.purchaseOrderNumber),
            estimated_completion=delivery,
            last_updated=now,
        )
        self.orders[order.order_id] = order
        # The quote names its order, so a client that lost the submit's answer
        # finds the order by reading the quote (docs/providers/colt.md#simulator).
        quote["orderId"] = order.order_id
        answer = {
            "orderId": order.order_id,
            "quoteId": order.quote_id,
            "purchaseOrderNumber": order.purchase_order_number,
            "status": "acknowledged",
            "submittedAt": _iso(now),
            "requestedDeliveryDate": delivery.isoformat(),
        }
        return answer, order

    def order_status(self, order_id: str) -> dict[str, Any]:
        order = self.orders.get(order_id)
        if order is None:
            raise ColtApiError(404, "NOT_FOUND", f"Order {order_id} not found")
        return {
            "orderId": order.order_id,
            "quoteId": order.quote_id,
            "purchaseOrderNumber": order.purchase_order_number,
            "overallStatus": order.status,
            "percentComplete": order.percent,
            "milestones": self._milestones(order),
            "estimatedCompletionDate": order.estimated_completion.isoformat()
            if order.estimated_completion
            and order.status not in ("completed", "rejected", "cancelled")
            else None,
            "serviceId": order.service_id,
            "reason": order.reason,
            "lastUpdated": _iso(order.last_updated),
        }

    def _open_order(self, order_id: str, action: str) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise ColtApiError(404, "NOT_FOUND", f"Order {order_id} not found")
        if order.status not in OPEN_STATUSES:
            code, verb = (
                ("ORDER_NOT_MODIFIABLE", "modified")
                if action == "modify"
                else ("ORDER_NOT_CANCELLABLE", "cancelled")
            )
            raise ColtApiError(
                409, code, f"Order {order_id} is {order.status} and cannot be {verb}"
            )
        return order

    def modify_order(self, order_id: str, body: Any) -> dict[str, Any]:
        """Change an open order's delivery date, contacts or site access; its status answer."""
        request: OrderModifyRequest = validate(OrderModifyRequest, body)
        if request.model_fields_set.isdisjoint(
            {"requestedDeliveryDate", "technicalContacts", "siteAccess"}
        ):
            raise ColtApiError(
                400,
                "INVALID_REQUEST",
                "Validation failed",
                [{"field": "body", "issue": "nothing to modify"}],
            )
        order = self._open_order(order_id, "modify")
        if request.technicalContacts is not None:
            if not any(c.role == "primary" for c in request.technicalContacts):
                raise ColtApiError(
                    400,
                    "INVALID_REQUEST",
                    "Validation failed",
                    [{"field": "technicalContacts", "issue": "a primary contact is required"}],
                )
            order.contacts = [c.model_dump(exclude_none=True) for c in request.technicalContacts]
        if request.requestedDeliveryDate is not None:
            if request.requestedDeliveryDate < self.now().date():
                raise ColtApiError(
                    400,
                    "INVALID_REQUEST",
                    "Validation failed",
                    [{"field": "requestedDeliveryDate", "issue": "in the past"}],
                )
            order.requested_delivery_date = request.requestedDeliveryDate
            order.estimated_completion = request.requestedDeliveryDate
        order.last_updated = self.now()
        answer = self.order_status(order_id)
        answer["requestedDeliveryDate"] = order.requested_delivery_date.isoformat()
        return answer

    def cancel_order(
        self, order_id: str, body: Any
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Cancel an open order: its status answer and the notification (none when it already was)."""
        request: OrderCancelRequest = validate(OrderCancelRequest, body or {})
        found = self.orders.get(order_id)
        if found is not None and found.status == "cancelled":
            return self.order_status(order_id), None  # cancelling twice is the same cancellation
        order = self._open_order(order_id, "cancel")
        note = self.step(
            order, {"status": "cancelled", "reason": request.reason or "cancelled by customer"}
        )
        return self.order_status(order_id), note

    def _milestones(self, order: Order) -> list[dict[str, Any]]:
        done = {0: 0, 25: 1, 50: 2, 75: 3, 100: 4}.get(order.percent, 0)
        if order.status in ("in_progress", "delayed", "completed"):
            done = max(done, 1)
        out = []
        for index, name in enumerate(MILESTONES):
            if index < done:
                status, completed = (
                    "completed",
                    order.milestones.setdefault(name, _iso(order.last_updated)),
                )
            elif index == done and order.status in ("in_progress", "delayed"):
                status, completed = "in_progress", None
            else:
                status, completed = "pending", None
            out.append({"name": name, "status": status, "completedAt": completed})
        return out

    def advance(self) -> list[dict[str, Any]]:
        """One lifecycle tick: each open order takes its next step; notifications to send."""
        notes = []
        for order in self.orders.values():
            if order.plan:
                note = self.step(order)
                if note is not None:
                    notes.append(note)
        return notes

    def next_change(
        self, order: Order, override: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """The next status change of ``order``: percent-only steps in between are taken silently."""
        note = self.step(order, override)
        while note is None and order.plan:
            note = self.step(order)
        return note

    def step(self, order: Order, override: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Take ``order``'s next step (or the ``override`` status); a notification on a status change."""
        previous = order.status
        if override and "status" in override:
            status, percent, reason = (
                str(override["status"]),
                int(override.get("percentComplete", order.percent)),
                override.get("reason"),
            )
            order.plan = (
                [s for s in order.plan if s[0] != status]
                if status not in ("completed", "rejected", "cancelled")
                else []
            )
        elif order.plan:
            status, percent, reason = order.plan.pop(0)
        else:
            return None
        order.status, order.percent, order.reason = status, percent, reason
        order.last_updated = self.now()
        if status == "delayed" and order.estimated_completion is not None:
            order.estimated_completion += timedelta(days=14)
        if status == "completed" and order.service_id is None:
            order.service_id = f"SVC-ETHERNET-{next(self.service_counter)}"
            self.services[order.service_id] = self._service(order.service_id, order)
        if status == previous:
            return None
        data = {
            "orderId": order.order_id,
            "quoteId": order.quote_id,
            "purchaseOrderNumber": order.purchase_order_number,
            "previousStatus": previous,
            "status": status,
            "percentComplete": percent,
            "serviceId": order.service_id,
            "estimatedCompletionDate": order.estimated_completion.isoformat()
            if order.estimated_completion and status not in ("completed", "rejected", "cancelled")
            else None,
            "reason": reason,
            "technicalContacts": order.contacts,
        }
        return self.notification("order.state_changed", {**data, **(override or {})})

    def notification(self, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "eventId": f"evt_{next(self.event_counter):08x}{secrets.token_hex(2)}",
            "eventType": event_type,
            "occurredAt": _iso(self.now()),
            "data": data,
        }

    # ----------------------------------------------------------------- services and usage

    def _service(self, service_id: str, order: Order | None) -> dict[str, Any]:
        quote = self.quotes.get(order.quote_id, {}) if order else {}
        service = (quote.get("services") or [{}])[0]
        activated = self.now()
        return {
            "serviceId": service_id,
            "orderId": order.order_id if order else None,
            "status": "active",
            "serviceType": service.get("serviceType", "ethernet"),
            "bandwidth": service.get("bandwidth", "1000"),
            "bandwidthUnit": service.get("bandwidthUnit", "Mbps"),
            "configuration": {
                "endpointA": (service.get("locations") or {}).get("endpointA", {}),
                "endpointB": (service.get("locations") or {}).get("endpointB", {}),
                "protection": service.get("protection", "protected"),
                "sla": service.get("sla", "premium"),
                "vlan": 100 + int(_fraction(service_id) * 3900),
            },
            "activatedAt": _iso(activated),
        }

    def service(self, service_id: str) -> dict[str, Any]:
        found = self.services.get(service_id)
        if found is None:
            # The sandbox knows every well-formed service id (so HOT / FLAKY
            # services exist without ordering them first); others are 404.
            if not service_id.startswith("SVC-"):
                raise ColtApiError(404, "NOT_FOUND", f"Service {service_id} not found")
            found = self.services[service_id] = self._service(service_id, None)
        return found

    def usage(
        self, service_id: str, params: dict[str, str]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Usage for the window, and the ``service.alert`` notifications the read triggers."""
        self.service(service_id)
        granularity = params.get("granularity", "daily")
        details = []
        if granularity not in ("hourly", "daily", "monthly"):
            details.append({"field": "granularity", "issue": "must be hourly, daily or monthly"})
        start = _parse_when(params.get("startDate"))
        end = _parse_when(params.get("endDate"))
        if start is None:
            details.append(
                {
                    "field": "startDate",
                    "issue": "required" if "startDate" not in params else "invalid date",
                }
            )
        if end is None:
            details.append(
                {
                    "field": "endDate",
                    "issue": "required" if "endDate" not in params else "invalid date",
                }
            )
        if details:
            raise ColtApiError(400, "INVALID_REQUEST", "Validation failed", details)
        assert start is not None and end is not None
        if start >= end:
            raise ColtApiError(
                400,
                "INVALID_REQUEST",
                "Validation failed",
                [{"field": "endDate", "issue": "must be after startDate"}],
            )
        if granularity == "hourly" and end - start > timedelta(days=31):
            raise ColtApiError(
                400,
                "INVALID_REQUEST",
                "Validation failed",
                [{"field": "endDate", "issue": "hourly range longer than 31 days"}],
            )
        step = {
            "hourly": timedelta(hours=1),
            "daily": timedelta(days=1),
            "monthly": timedelta(days=30),
        }[granularity]
        periods: list[dict[str, Any]] = []
        cursor = _floor(start, granularity)
        while cursor < end and len(periods) < 2000:
            periods.append(
                self._period(
                    service_id,
                    cursor,
                    min(cursor + step, end) if granularity != "hourly" else cursor + step,
                )
            )
            cursor += step
        alerts = self._alerts(service_id, periods[-1]) if periods else []
        return {"serviceId": service_id, "granularity": granularity, "usage": periods}, alerts

    def _period(self, service_id: str, start: datetime, end: datetime) -> dict[str, Any]:
        avg = round(20 + 40 * _fraction(service_id, start.isoformat()), 1)
        peak = 95.0 if "HOT" in service_id else round(min(avg + 25, 89.0), 1)
        availability = 99.5 if "FLAKY" in service_id else 100.0
        return {
            "periodStart": _iso(start),
            "periodEnd": _iso(end),
            "metrics": {
                "averageUtilizationPercent": avg,
                "peakUtilizationPercent": peak,
                "availabilityPercent": availability,
                "inboundGb": round(avg * 0.3, 1),
                "outboundGb": round(avg * 0.2, 1),
            },
        }

    def _alerts(self, service_id: str, period: dict[str, Any]) -> list[dict[str, Any]]:
        metrics = period["metrics"]
        alerts = []
        if metrics["peakUtilizationPercent"] > 90:
            alerts.append(
                self.notification(
                    "service.alert",
                    {
                        "serviceId": service_id,
                        "alertType": "utilization",
                        "metric": "peakUtilizationPercent",
                        "value": metrics["peakUtilizationPercent"],
                        "threshold": 90,
                        "periodStart": period["periodStart"],
                        "periodEnd": period["periodEnd"],
                    },
                )
            )
        if metrics["availabilityPercent"] < 99.9:
            alerts.append(
                self.notification(
                    "service.alert",
                    {
                        "serviceId": service_id,
                        "alertType": "availability",
                        "metric": "availabilityPercent",
                        "value": metrics["availabilityPercent"],
                        "threshold": 99.9,
                        "periodStart": period["periodStart"],
                        "periodEnd": period["periodEnd"],
                    },
                )
            )
        return alerts

    # ----------------------------------------------------------------- admin

    def state(self) -> dict[str, Any]:
        return {
            "orders": {
                o.order_id: {
                    "overallStatus": o.status,
                    "percentComplete": o.percent,
                    "quoteId": o.quote_id,
                    "purchaseOrderNumber": o.purchase_order_number,
                    "serviceId": o.service_id,
                }
                for o in self.orders.values()
            },
            "quotes": {q: {"status": v["status"]} for q, v in self.quotes.items()},
            "services": {s: {"status": v["status"]} for s, v in self.services.items()},
        }


def _parse_when(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), datetime.min.time(), UTC)
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _floor(moment: datetime, granularity: str) -> datetime:
    if granularity == "hourly":
        return moment.replace(minute=0, second=0, microsecond=0)
    if granularity == "daily":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
