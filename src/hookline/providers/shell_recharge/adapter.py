"""Shell Recharge webhooks → ``charging.session.*`` and ``reservation.booking.*`` (docs/providers/shell_recharge.md#webhooks).

Body: ``{"id", "type", "created_at", "data": {…}}`` signed with
``X-Shell-Signature``. ``session.*`` events carry the session (``session.progress``
adds ``cost_so_far``; ``session.completed`` carries the receipt). Connector
reservations send ``reservation.{created,modified,cancelled}`` (hookline
convention, issue 9): they become ``reservation.booking.*`` and travel on the
Shell source's topic (``events.charging``), in order with the sessions.
"""

from __future__ import annotations

from typing import Any

from hookline.envelope import CloudEvent
from hookline.messages.reservation import SessionEvent, e164_or_none
from hookline.providers._reservation.normalize import (
    BOOKING_EVENTS,
    SESSION_EVENTS,
    PlatformAdapter,
    booking_event,
    build,
    event_suffix,
    mapping,
    parse_time,
    provider_event_id,
    submap,
    text,
    validated,
    with_lifecycle,
)
from hookline.providers.base import RawWebhook, require_mapping

_BOOKING_STATUS = {"reserved": "confirmed"}


def _cost(data: dict[str, Any]) -> dict[str, Any]:
    currency = text(data.get("currency")) or "USD"
    cost = data.get("cost")
    so_far = data.get("cost_so_far")
    if isinstance(cost, dict):
        amount = cost.get("total", cost.get("amount"))
        return {
            "amount": amount if isinstance(amount, (int, float)) else 0.0,
            "currency": text(cost.get("currency")) or currency,
            "energy": cost.get("energy"),
            "time": cost.get("time"),
            "session_fee": cost.get("session_fee"),
        }
    if isinstance(so_far, dict):
        return {
            "amount": so_far.get("amount", 0.0),
            "currency": text(so_far.get("currency")) or currency,
        }
    if isinstance(so_far, (int, float)):
        return {"amount": so_far, "currency": currency}
    return {"amount": 0.0, "currency": currency}


def _duration_seconds(data: dict[str, Any]) -> int:
    if isinstance(data.get("duration_seconds"), (int, float)):
        return int(data["duration_seconds"])
    if isinstance(data.get("duration_minutes"), (int, float)):
        return int(data["duration_minutes"] * 60)
    return 0


def session(suffix: str, data: dict[str, Any]) -> dict[str, Any]:
    driver = submap(data.get("driver"))
    status = text(data.get("status")) or {"started": "charging", "progress": "charging"}.get(
        suffix, suffix
    )
    out: dict[str, Any] = {
        "session_id": text(data.get("session_id")),
        "station_id": text(data.get("station_id")),
        "connector_id": text(data.get("connector_id")),
        "reservation_id": text(data.get("reservation_id")),
        "status": status,
        "started_at": text(data.get("started_at")),
        "ended_at": text(data.get("ended_at")),
        "energy_kwh": data.get("energy_kwh", 0.0),
        "power_kw": data.get("power_kw"),
        "soc_percent": data.get("soc_percent"),
        "duration_seconds": _duration_seconds(data),
        "cost": _cost(data),
        "driver": {
            "name": text(driver.get("name")),
            "email": text(driver.get("email")),
            "phone": e164_or_none(driver.get("phone")),
        },
    }
    if suffix == "failed":
        failure = mapping(data.get("failure"), "data.failure")
        out["failure"] = {
            "code": text(failure.get("code")),
            "message": text(failure.get("message")),
        }
    return out


def booking(suffix: str, data: dict[str, Any]) -> dict[str, Any]:
    vehicle = submap(data.get("vehicle"))
    start = text(data.get("start_time")) or ""
    status = text(data.get("status")) or ""
    out: dict[str, Any] = {
        "reservation_id": text(data.get("reservation_id")),
        "provider": "shell_recharge",
        "confirmation": text(data.get("reservation_id")),
        "venue": {
            "id": text(data.get("station_id")),
            "name": text(data.get("station_name")),
            "kind": "charging_station",
        },
        "site_id": text(data.get("connector_id")),
        "date": start[:10] or None,
        "time": start[11:16] or None,
        "status": _BOOKING_STATUS.get(status, status),
        "customer": {
            "name": text(vehicle.get("driver_name")),
            "email": text(vehicle.get("driver_email")),
            "phone": e164_or_none(vehicle.get("driver_phone")),
        },
    }
    return with_lifecycle(out, suffix, data, reminder_hours=1)


# docs/providers/shell_recharge.md: a session's end has provider event id "{session_id}:{suffix}".
FINAL_SESSION_EVENTS = frozenset({"completed", "failed"})


class ShellRechargeAdapter(PlatformAdapter):
    provider = "shell_recharge"
    domain: str | None = "charging"

    def normalize(self, raw: RawWebhook) -> list[CloudEvent]:
        payload = require_mapping(raw.payload)
        event_id = provider_event_id(payload.get("id"), "id")
        data = mapping(payload.get("data"), "data")
        kind = payload.get("type")
        time = parse_time(payload.get("created_at"), raw.received_at)
        if isinstance(kind, str) and kind.startswith("reservation."):
            suffix = event_suffix(kind, "reservation", BOOKING_EVENTS)
            return booking_event(raw, suffix, booking(suffix, data), event_id=event_id, time=time)
        suffix = event_suffix(kind, "session", SESSION_EVENTS)
        model = validated(SessionEvent, session(suffix, data))
        assert isinstance(model, SessionEvent)
        if suffix in FINAL_SESSION_EVENTS:
            # A session ends once, so its id names the end itself: the reconciler
            # (providers/shell_recharge/reconcile.py) builds the same from GET /sessions/{id}.
            event_id = f"{model.session_id}:{suffix}"
        return [
            build(
                raw,
                type_=f"charging.session.{suffix}",
                subject=model.session_id,
                data=model,
                provider_event_id=event_id,
                time=time,
            )
        ]
