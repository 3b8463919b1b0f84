"""The guide's workflow as commands through the real worker, simulator, ingress and broker."""

from __future__ import annotations

from typing import Any

from hookline.bus.codec import header
from hookline.envelope import CloudEvent
from tests.providers.colt.conftest import ColtStack, StartColt
from tests.services.colt.conftest import running_worker
from tests.support.kafka import consume_all

LOCATIONS = [
    {
        "address": {
            "street_address": "1 Canada Square",
            "city": "London",
            "postal_code": "E14 5AB",
            "country": "GB",
        }
    },
    {"coordinates": {"latitude": 51.5074, "longitude": -0.1278}},
]
QUOTE: dict[str, Any] = {
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
            "locations": {
                "endpoint_a": {"reference_id": "loc-001", "site_name": "London HQ"},
                "endpoint_b": {"reference_id": "loc-002", "site_name": "Manchester DC"},
            },
            "protection": "protected",
            "sla": "premium",
        }
    ],
    "currency": "GBP",
}
ORDER: dict[str, Any] = {
    "purchase_order_number": "PO-98765",
    "technical_contacts": [
        {
            "name": "John Smith",
            "email": "john.smith@example.com",
            "phone": "+44 20 7946 0958",
            "role": "primary",
        }
    ],
    "site_access": {
        "endpoint_a": {
            "access_hours": "24x7",
            "restrictions": "None",
            "contact_name": "Site Manager A",
            "contact_phone": "+44 20 7946 0959",
        },
        "endpoint_b": {
            "access_hours": "Mon-Fri 8am-6pm",
            "restrictions": "48hr notice required",
            "contact_name": "Site Manager B",
            "contact_phone": "+44 161 123 4567",
        },
    },
}


def result_of(events: list[CloudEvent], command: CloudEvent) -> CloudEvent | None:
    return next((e for e in events if (e.data or {}).get("command_id") == command.id), None)


async def answer(colt: ColtStack, command: CloudEvent) -> CloudEvent:
    """The result event carrying this command's id."""
    events = await colt.wait_for(lambda evs: result_of(evs, command) is not None)
    found = result_of(events, command)
    assert found is not None
    return found


async def quote_and_order(colt: ColtStack) -> tuple[str, str]:
    quote = await answer(colt, await colt.command("colt.quote.create", QUOTE, subject="CUST-12345"))
    assert quote.type == "colt.quote.created"
    order_cmd = await colt.command(
        "colt.order.submit", {"quote_id": quote.subject, **ORDER}, subject=quote.subject
    )
    order = await answer(colt, order_cmd)
    assert order.type == "colt.order.submitted", order.data
    assert order.subject is not None
    return str(quote.subject), order.subject


async def test_availability_quote_order_and_notifications_in_order(colt: ColtStack) -> None:
    """availability → quote → order → in_progress → completed → track, in order for the order id."""
    async with running_worker(colt.settings):
        checked = await answer(
            colt,
            await colt.command(
                "colt.availability.check", {"locations": LOCATIONS, "bandwidth_mbps": 1000}
            ),
        )
        assert checked.type == "colt.availability.checked"
        assert [r["location_id"] for r in checked.data["results"]] == ["loc-001", "loc-002"]
        assert all(r["serviceable"] for r in checked.data["results"])

        quote_id, order_id = await quote_and_order(colt)
        await colt.emit(event="order.state_changed", entity_id=order_id)
        await colt.emit(event="order.state_changed", entity_id=order_id)
        await colt.wait_for(
            lambda evs: any(
                e.subject == order_id and e.data.get("status") == "completed" for e in evs
            )
        )
        tracked = await answer(
            colt, await colt.command("colt.order.track", {"order_id": order_id}, subject=order_id)
        )
        events = await colt.events()

    for_order = [
        (e.type, e.data.get("status") or e.data.get("overall_status"))
        for e in events
        if e.subject == order_id
    ]
    assert for_order == [
        ("colt.order.submitted", "acknowledged"),
        ("colt.order.state_changed", "in_progress"),
        ("colt.order.state_changed", "completed"),
        ("colt.order.tracked", "completed"),
    ]
    completed = [e for e in events if e.subject == order_id][2]
    assert completed.data["service_id"] == tracked.data["service_id"] is not None
    assert completed.data["technical_contact"]["phone"] == "+442079460958"
    assert not [e for e in events if e.type == "colt.command.failed"]
    state = await colt.state()
    assert state["entities"]["quotes"][quote_id]["status"] == "ordered"
    assert state["tokens"]["issued"] == 1


async def test_token_expiry_mid_workflow_is_refreshed_once(colt: ColtStack) -> None:
    """Tokens expiring between quote and order: one new token, no failed call, the order goes through."""
    async with running_worker(colt.settings):
        quote = await answer(colt, await colt.command("colt.quote.create", QUOTE))
        await colt.http.post(f"{colt.sim_url}/_sim/tokens/expire")
        order = await answer(
            colt, await colt.command("colt.order.submit", {"quote_id": quote.subject, **ORDER})
        )
        service = await answer(
            colt, await colt.command("colt.service.get", {"service_id": "SVC-ETHERNET-1"})
        )
    assert order.type == "colt.order.submitted"
    assert service.type == "colt.service.retrieved"
    state = await colt.state()
    assert state["tokens"]["issued"] == 2
    assert len(state["entities"]["orders"]) == 1
    assert not [e for e in await colt.events() if e.type == "colt.command.failed"]
    assert await consume_all(colt.bootstrap, colt.topics.dlq("colt"), timeout=0.5) == []


async def test_rate_limit_reset_and_503_run_are_retried(colt: ColtStack) -> None:
    """A 429 with x-ratelimit-reset, then two 503s: retried per the table, the quote is created once."""
    path = "/ebonding/v5/quotes/create"
    await colt.fault(
        path=path, method="POST", status=429, reset_in=1, error_code="RATE_LIMIT_EXCEEDED"
    )
    await colt.fault(
        path=path, method="POST", status=503, count=2, error_code="SERVICE_UNAVAILABLE"
    )
    async with running_worker(colt.settings):
        quote = await answer(colt, await colt.command("colt.quote.create", QUOTE))
    assert quote.type == "colt.quote.created"
    state = await colt.state()
    assert state["faults"]["applied"] == 3
    assert state["requests"]["by_route"][f"POST {path}"] == 4
    assert len(state["entities"]["quotes"]) == 1
    assert await consume_all(colt.bootstrap, colt.topics.dlq("colt"), timeout=0.5) == []


async def test_validation_error_is_permanent_and_dead_lettered_with_field_details(
    colt: ColtStack,
) -> None:
    """Colt's 400 is not retried: colt.command.failed and the DLQ both carry field: issue."""
    bad = {**QUOTE, "services": [{**QUOTE["services"][0], "term_months": 240}]}
    async with running_worker(colt.settings):
        command = await colt.command("colt.quote.create", bad)
        failed = await answer(colt, command)
        dead = await consume_all(colt.bootstrap, colt.topics.dlq("colt"), expect=1, timeout=10)
    assert failed.type == "colt.command.failed"
    assert (failed.data["http_status"], failed.data["error_code"]) == (400, "INVALID_REQUEST")
    assert [d["field"] for d in failed.data["details"]] == ["services[0].termMonths"]
    assert failed.data["retryable"] is False
    assert len(dead) == 1
    assert CloudEvent.from_json(dead[0].value).id == command.id
    message = (header(dead[0].headers, "hookline-error-message") or b"").decode()
    assert "services[0].termMonths" in message
    assert (header(dead[0].headers, "hookline-dlq-reason") or b"").decode() == "permanent"
    state = await colt.state()
    assert state["requests"]["by_route"]["POST /ebonding/v5/quotes/create"] == 1


async def test_invalid_command_fails_without_calling_colt(colt: ColtStack) -> None:
    """A command that does not match its schema is dead-lettered before any Colt call."""
    async with running_worker(colt.settings):
        failed = await answer(colt, await colt.command("colt.order.submit", {"quote_id": "Q-1"}))
    assert failed.data["error_code"] == "INVALID_COMMAND"
    assert "technical_contacts" in {d["field"] for d in failed.data["details"]}
    assert "POST /ebonding/v5/orders/submit" not in (await colt.state())["requests"]["by_route"]


async def test_usage_check_reports_breaches_with_configured_thresholds(
    start_colt: StartColt,
) -> None:
    """check_usage on a FLAKY service emits availability_low (poll) and usage_reported."""
    settings = {"colt": {"availability_threshold_percent": 99.0}}
    async with start_colt(services=settings) as colt, running_worker(colt.settings):
        strict = await colt.command(
            "colt.service.check_usage",
            {"service_id": "SVC-FLAKY-1", "availability_threshold_percent": 99.9},
        )
        lenient = await colt.command("colt.service.check_usage", {"service_id": "SVC-FLAKY-2"})
        await answer(colt, strict)
        await answer(colt, lenient)
        events = await colt.wait_for(
            lambda evs: sum(e.type == "colt.service.usage_reported" for e in evs) == 2
        )
    low = [
        e
        for e in events
        if e.type == "colt.service.availability_low" and e.data["origin"] == "poll"
    ]
    assert [
        (e.subject, e.data["threshold_percent"], e.data["availability_percent"]) for e in low
    ] == [("SVC-FLAKY-1", 99.9, 99.5)]
