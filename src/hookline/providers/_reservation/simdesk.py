"""The booking half every reservation simulator shares (docs/providers/reservations.md#simulator-kit).

- :class:`Bookings` — the reservations a simulated platform holds: ids, lookup
  (``RESERVATION_NOT_FOUND``) and a cancellation that answers the same twice;
  a platform's world subclasses it and adds what a booking holds (tables,
  nights, a connector window).
- :class:`BookingDesk` — the booking routes (create, read, modify, cancel) with
  their ``reservation.*`` callbacks, and ``/_sim/emit``'s checks: unknown
  event ``400``, callbacks disabled ``409``, unknown reservation ``404``. A
  platform's simulator subclasses it, says how its callback looks and adds its
  own routes (search, availability, sessions).
- :func:`callback_scheme` — the callback signing scheme, or ``None`` (logged as
  ``sandbox.callbacks_disabled``) when no ``callback_secret`` is set.

Callbacks go out only when the simulator can sign them; a booking made without
them still answers as it would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hookline.config.models import HooklineSettings, SimulatorSettings
from hookline.errors import ConfigError
from hookline.providers._reservation.errors import CodeSpec
from hookline.providers._reservation.simkit import (
    Check,
    Handler,
    SimError,
    error_format,
    guard,
    json_body,
    new_id,
)
from hookline.sandbox import Callback, EmitRejected, EmitRequest, Simulator
from hookline.sandbox.layer import CredentialOf
from hookline.signatures.base import Scheme

__all__ = ["BookingDesk", "Bookings", "callback_scheme"]

Reservation = dict[str, Any]


def callback_scheme(sim: Simulator, options: Mapping[str, Any]) -> Scheme | None:
    """The scheme callbacks are signed with; ``None`` (and a warning) without ``callback_secret``."""
    try:
        return sim.signing_scheme(options)
    except ConfigError:
        log = structlog.get_logger(f"hookline.sandbox.{sim.provider}")
        log.warning(
            "sandbox.callbacks_disabled", provider=sim.provider, reason="no callback_secret"
        )
        return None


class Bookings:
    """Reservations by id; subclasses hold what a booking takes and say what a cancel gives back."""

    # The status of a booking that can still change, and the code (and status) refusing the rest.
    active: ClassVar[str] = "confirmed"
    locked: ClassVar[tuple[str, int | None]] = ("INVALID_REQUEST", 409)

    def __init__(self) -> None:
        self.reservations: dict[str, Reservation] = {}
        self.counter = 0

    def reset(self) -> None:
        self.reservations.clear()
        self.counter = 0

    def next_id(self, prefix: str) -> str:
        """A fresh id (``prefix`` + counter + random tail): never reused, even after a reset."""
        self.counter += 1
        return new_id(prefix, self.counter)

    def create(self, body: dict[str, Any]) -> Reservation:
        raise NotImplementedError

    def modify(
        self, reservation_id: str, body: dict[str, Any]
    ) -> tuple[Reservation, dict[str, Any]]:
        """The reservation changed by ``body`` and the changes (``{field: {from, to}}``)."""
        raise NotImplementedError

    def get(self, reservation_id: str) -> Reservation:
        try:
            return self.reservations[reservation_id]
        except KeyError:
            raise SimError(
                "RESERVATION_NOT_FOUND", f"reservation {reservation_id} does not exist"
            ) from None

    def keep(self, reservation: Reservation) -> Reservation:
        self.reservations[reservation["reservation_id"]] = reservation
        return reservation

    def changeable(self, reservation_id: str) -> Reservation:
        """The reservation, if it can still change; else the platform's refusal."""
        reservation = self.get(reservation_id)
        if reservation["status"] != self.active:
            code, status = self.locked
            message = f"a {reservation['status']} reservation cannot change"
            raise SimError(code, message, status=status)
        return reservation

    def cancel(self, reservation_id: str) -> tuple[Reservation, bool]:
        """Cancel; the flag says whether it changed anything (cancelling twice answers the same)."""
        reservation = self.get(reservation_id)
        if reservation["status"] == "cancelled":
            return reservation, False
        reservation["status"] = "cancelled"
        self.released(reservation)
        return reservation, True

    def released(self, reservation: Reservation) -> None:
        """What a cancellation gives back (tables, nights, a refund); nothing by default."""


class BookingDesk:
    """Create, read, modify and cancel on a :class:`Simulator`, each change a signed callback.

    Subclasses set the class attributes and implement :meth:`callback`; the
    other hooks have the defaults two of the three platforms share.
    """

    provider: ClassVar[str]
    events: ClassVar[tuple[str, ...]]
    # Who a cancel through the API is by, and who/why a cancel through /_sim/emit
    # (None: the emitted cancel carries no cancellation fields).
    cancelled_by: ClassVar[str]
    closed_by: ClassVar[tuple[str, str] | None] = None
    # Whether a read of a cancelled reservation shows the cancellation callback's fields
    # (who cancelled and why), as OpenTable's and Recreation.gov's do (docs/reconcile.md).
    reads_cancellation: ClassVar[bool] = False

    def __init__(
        self,
        settings: HooklineSettings,
        sim_settings: SimulatorSettings,
        world: Bookings,
        *,
        source: str,
        codes: Mapping[str, CodeSpec],
        sample: Mapping[str, Any],
        signing: Mapping[str, Any],
        credential: CredentialOf,
    ) -> None:
        """``sample`` is a typical answer (faults send half of it); ``signing`` the callback scheme."""
        self.sim = Simulator(
            self.provider,
            sim_settings,
            fmt=error_format(codes, sample),
            source=source,
            sandbox=settings.sandbox,
            credential=credential,
        )
        self.world = world
        self.codes = codes
        self.scheme = callback_scheme(self.sim, signing)

    # ---- what a platform says about itself -----------------------------------

    def callback(self, event: str, reservation: Reservation, fields: dict[str, Any]) -> Callback:
        """The platform's webhook for ``event`` about ``reservation`` with extra ``fields``."""
        raise NotImplementedError

    def view(self, reservation: Reservation) -> dict[str, Any]:
        """The reservation as read, modify and the callbacks show it."""
        return reservation

    def created_view(self, reservation: Reservation) -> dict[str, Any]:
        return self.view(reservation)

    def cancelled_view(self, reservation: Reservation) -> dict[str, Any]:
        return self.view(reservation)

    def cancellation(self, reservation: Reservation, by: str, reason: Any) -> dict[str, Any]:
        """The fields a ``reservation.cancelled`` callback adds."""
        return {"cancelled_by": by, "reason": reason}

    # ---- callbacks ------------------------------------------------------------

    def send(self, event: str, reservation: Reservation, **fields: Any) -> None:
        if self.scheme is not None:
            self.sim.send(self.callback(event, reservation, fields))

    def emit_fields(self, event: str, reservation: Reservation) -> dict[str, Any]:
        """What a platform-side event does before its callback: a reminder, a cancel by the venue."""
        if event == "reservation.reminder":
            return {"hours_before": 24}
        if event == "reservation.cancelled":
            _, changed = self.world.cancel(reservation["reservation_id"])
            if self.closed_by is not None:
                fields = self.cancellation(reservation, *self.closed_by)
                if changed:
                    self.keep_cancellation(reservation, fields)
                return fields
        return {}

    def keep_cancellation(self, reservation: Reservation, fields: dict[str, Any]) -> None:
        """Show who cancelled and why in later reads of ``reservation``."""
        if self.reads_cancellation:
            reservation.update(fields)

    def emit_other(self, order: EmitRequest) -> Callback:
        """An event that is not about a reservation (Shell's sessions); none by default."""
        raise EmitRejected(404, f"no reservation {order.entity_id}")

    async def emit(self, order: EmitRequest) -> Callback:
        if order.event not in self.events:
            known = ", ".join(self.events)
            raise EmitRejected(400, f"unknown event {order.event!r} (known: {known})")
        if self.scheme is None:
            raise EmitRejected(409, "callbacks are disabled: set callback_secret")
        if not order.event.startswith("reservation."):
            return self.emit_other(order)
        reservation = self.world.reservations.get(order.entity_id)
        if reservation is None:
            raise EmitRejected(404, f"no reservation {order.entity_id}")
        fields = self.emit_fields(order.event, reservation)
        fields.update(order.data)
        return self.callback(order.event, reservation, fields)

    # ---- the booking endpoints -----------------------------------------------

    async def create(self, request: Request) -> Response:
        reservation = self.world.create(await json_body(request))
        self.send("reservation.created", reservation)
        return JSONResponse(self.created_view(reservation), status_code=201)

    async def read(self, request: Request) -> Response:
        return JSONResponse(self.view(self.world.get(request.path_params["reservation_id"])))

    async def modify(self, request: Request) -> Response:
        reservation, changes = self.world.modify(
            request.path_params["reservation_id"], await json_body(request)
        )
        if changes:
            self.send("reservation.modified", reservation, changes=changes)
        return JSONResponse(self.view(reservation))

    async def cancel(self, request: Request) -> Response:
        body = await json_body(request)
        reservation, changed = self.world.cancel(request.path_params["reservation_id"])
        if changed:
            fields = self.cancellation(reservation, self.cancelled_by, body.get("reason"))
            self.keep_cancellation(reservation, fields)
            self.send("reservation.cancelled", reservation, **fields)
        return JSONResponse(self.cancelled_view(reservation))

    def route(self, path: str, handler: Handler, checks: Sequence[Check], **options: Any) -> None:
        """Serve ``handler`` behind ``checks`` (auth, signature); a :class:`SimError` is its answer."""
        self.sim.route(path, guard(self.codes, handler, *checks), **options)

    def route_bookings(self, collection: str, checks: Sequence[Check]) -> None:
        """The four booking routes under ``collection``; the changing ones replay per key."""
        item = collection.rstrip("/") + "/{reservation_id}"
        self.route(collection, self.create, checks, methods=["POST"], idempotent=True)
        self.route(item, self.read, checks)
        self.route(item, self.modify, checks, methods=["PATCH"], idempotent=True)
        self.route(f"{item}/cancel", self.cancel, checks, methods=["POST"], idempotent=True)
