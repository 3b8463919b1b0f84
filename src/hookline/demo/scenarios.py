"""The scenarios ``hookline demo`` can play; each ends in an SMS a person would get."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

from hookline.demo.runner import Run, of

Scenario = Callable[[Run], Awaitable[str]]

PHONE_TW = "+886912345678"
PHONE_UK = "+447700900123"


def _sms_steps(run: Run, reference: str) -> Callable[[], Awaitable[str]]:
    async def follow() -> str:
        command = await run.expect(
            "reactor → sms.send",
            lambda e: (
                e.get("type") == "sms.send" and (e.get("data") or {}).get("reference") == reference
            ),
            lambda e: f"to {e['data']['to']} (rule {e['source'].rsplit('/', 1)[-1]})",
        )
        accepted = await run.expect(
            "sms.message.accepted",
            of("sms.message.accepted", command_id=command["id"]),
            lambda e: f"via {e['data'].get('provider')}",
        )
        delivered = await run.expect(
            "sms.message.delivered",
            of("sms.message.delivered", command_id=command["id"]),
            lambda e: f"delivery report from {e['data'].get('provider')}",
        )
        return f"SMS delivered via {delivered['data'].get('provider') or accepted['data'].get('provider')}"

    return follow


async def colt_order(run: Run) -> str:
    """Quote → order → Colt's notifications → completed → SMS to the technical contact."""
    quote_cmd = await run.command(
        "colt.quote.create",
        {
            "customer": {
                "account_number": "CUST-12345",
                "company_name": "Example Corp",
                "contact_email": "procurement@example.com",
            },
            "services": [
                {
                    "service_type": "ethernet",
                    "bandwidth": "1000",
                    "term_months": 36,
                    "protection": "protected",
                    "sla": "premium",
                    "locations": {
                        "endpoint_a": {"reference_id": "loc-001", "site_name": "London HQ"},
                        "endpoint_b": {"reference_id": "loc-002", "site_name": "Manchester DC"},
                    },
                }
            ],
            "currency": "GBP",
        },
        subject="CUST-12345",
    )
    quote = await run.expect(
        "colt.quote.created",
        of("colt.quote.created", command_id=quote_cmd.id),
        lambda e: f"quote {e['data'].get('quote_id')}",
    )
    quote_id = quote["data"]["quote_id"]
    order_cmd = await run.command(
        "colt.order.submit",
        {
            "quote_id": quote_id,
            "purchase_order_number": "PO-98765",
            "requested_delivery_date": (date.today() + timedelta(days=30)).isoformat(),
            "technical_contacts": [
                {
                    "name": "Mei Lin",
                    "email": "mei.lin@example.com",
                    "phone": PHONE_TW,
                    "role": "primary",
                }
            ],
            "site_access": {
                "endpoint_a": {
                    "access_hours": "24x7",
                    "restrictions": "None",
                    "contact_name": "Site A",
                    "contact_phone": "+442079460959",
                },
                "endpoint_b": {
                    "access_hours": "Mon-Fri 8am-6pm",
                    "restrictions": "48hr notice",
                    "contact_name": "Site B",
                    "contact_phone": "+441611234567",
                },
            },
        },
        subject=quote_id,
    )
    order = await run.expect(
        "colt.order.submitted",
        of("colt.order.submitted", command_id=order_cmd.id),
        lambda e: f"order {e['data'].get('order_id')}",
    )
    order_id = order["data"]["order_id"]
    for status in ("in_progress", "completed"):
        await run.expect(
            f"webhook → colt.order.state_changed ({status})",
            of("colt.order.state_changed", order_id=order_id, status=status),
            lambda e: f"{e['data'].get('previous_status')} → {e['data'].get('status')}",
        )
    sms = await _sms_steps(run, f"colt:{order_id}")()
    return f"order {order_id} completed, {sms}"


def _day(ahead: int = 9) -> date:
    day = date.today() + timedelta(days=ahead)
    return (
        day + timedelta(days=1) if day.weekday() == 0 else day
    )  # the simulated restaurant closes Mondays


async def reservation_cancel(run: Run) -> str:
    """An OpenTable booking, cancelled → the platform's webhook → SMS to the customer."""
    create = await run.command(
        "reservation.create",
        {
            "provider": "opentable",
            "venue_id": "rest_001",
            "party_size": 2,
            "date": _day().isoformat(),
            "time": "19:30",
            "customer": {"name": "Ada Lovelace", "email": "ada@example.com", "phone": PHONE_UK},
        },
    )
    created = await run.expect(
        "reservation.command.succeeded",
        of("reservation.command.succeeded", command_id=create.id),
        lambda e: f"reservation {e['data'].get('reservation_id')}",
    )
    reservation_id = created["data"]["reservation_id"]
    await run.command(
        "reservation.cancel",
        {"provider": "opentable", "reservation_id": reservation_id, "reason": "plans changed"},
        subject=reservation_id,
    )
    await run.expect(
        "webhook → reservation.booking.cancelled",
        of("reservation.booking.cancelled", reservation_id=reservation_id),
        lambda e: f"{e['data'].get('confirmation') or reservation_id}",
    )
    sms = await _sms_steps(run, f"opentable:{reservation_id}")()
    return f"reservation {reservation_id} cancelled, {sms}"


async def charging(run: Run) -> str:
    """A Shell Recharge slot, a charging session that progresses and completes → receipt SMS."""
    # A fresh 45-minute slot each run, so repeated demos never collide on the connector.
    slot = secrets.randbelow(400)
    start_at = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(
        minutes=60 + 45 * slot
    )
    reserve = await run.command(
        "reservation.create",
        {
            "provider": "shell_recharge",
            "venue_id": "shell_ev_001",
            "connector_id": "conn_004",
            "start_time": start_at.isoformat().replace("+00:00", "Z"),
            "duration_minutes": 30,
            "vehicle": {
                "make": "Tesla",
                "model": "Model 3",
                "battery_capacity_kwh": 75,
                "connector_type": "CCS",
                "driver_name": "Bob Johnson",
                "driver_email": "bob@example.com",
                "driver_phone": PHONE_TW,
                "target_soc": 60,
            },
        },
    )
    reserved = await run.expect(
        "reservation.command.succeeded",
        of("reservation.command.succeeded", command_id=reserve.id),
        lambda e: f"reservation {e['data'].get('reservation_id')}",
    )
    start = await run.command(
        "charging.session.start",
        {
            "station_id": "shell_ev_001",
            "connector_id": "conn_004",
            "reservation_id": reserved["data"]["reservation_id"],
        },
    )
    started = await run.expect(
        "charging.command.succeeded (start)",
        of("charging.command.succeeded", command_id=start.id),
        lambda e: f"session {e['data'].get('session_id')}",
    )
    session_id = started["data"]["session_id"]
    await run.expect(
        "webhook → charging.session.progress",
        of("charging.session.progress", session_id=session_id),
        lambda e: f"{e['data'].get('energy_kwh')} kWh, SOC {e['data'].get('soc_percent')} %",
    )
    completed = await run.expect(
        "webhook → charging.session.completed",
        of("charging.session.completed", session_id=session_id),
        lambda e: (
            f"{e['data'].get('energy_kwh')} kWh, {e['data'].get('cost', {}).get('amount')} {e['data'].get('cost', {}).get('currency')}"
        ),
    )
    sms = await _sms_steps(run, f"shell_recharge:{session_id}")()
    return f"session {session_id} charged {completed['data'].get('energy_kwh')} kWh, {sms}"


SCENARIOS: dict[str, tuple[Scenario, str]] = {
    "colt-order": (colt_order, "a Colt order from quote to completion, ending in an SMS"),
    "reservation-cancel": (reservation_cancel, "an OpenTable booking cancelled, ending in an SMS"),
    "charging": (charging, "a charging session that completes, ending in a receipt SMS"),
}


def describe() -> list[tuple[str, str]]:
    return [(name, text) for name, (_, text) in SCENARIOS.items()]


def get(name: str) -> Scenario:
    return SCENARIOS[name][0]


__all__ = ["SCENARIOS", "describe", "get"]
