"""The scenarios ``hookline demo`` can play; each ends in an SMS a person would get."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta

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


SCENARIOS: dict[str, tuple[Scenario, str]] = {
    "colt-order": (colt_order, "a Colt order from quote to completion, ending in an SMS"),
}


def describe() -> list[tuple[str, str]]:
    return [(name, text) for name, (_, text) in SCENARIOS.items()]


def get(name: str) -> Scenario:
    return SCENARIOS[name][0]


__all__ = ["SCENARIOS", "describe", "get"]
