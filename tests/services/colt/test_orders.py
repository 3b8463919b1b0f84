"""Order submit after a lost answer, quote read, order modification and cancellation, readable failures."""

from __future__ import annotations

from hookline.services.colt.results import readable
from tests.providers.colt.conftest import ColtStack, StartColt
from tests.services.colt.conftest import running_worker
from tests.services.colt.test_workflow import ORDER, QUOTE, answer, quote_and_order

SUBMIT = "POST /ebonding/v5/orders/submit"


async def test_submit_timed_out_finds_the_order_by_its_quote_instead_of_ordering_twice(
    start_colt: StartColt,
) -> None:
    """Colt ignores Idempotency-Key and answers after the client's timeout: one order, found by the quote."""
    async with (
        start_colt(
            sandbox_extra={"ignore_idempotency_key": True, "order_answer_delay_ms": 3000},
            provider={"timeout_seconds": 1},
        ) as colt,
        running_worker(colt.settings),
    ):
        quote = await answer(colt, await colt.command("colt.quote.create", QUOTE))
        command = await colt.command(
            "colt.order.submit", {"quote_id": quote.subject, **ORDER}, subject=quote.subject
        )
        order = await answer(colt, command)
        state = await colt.state()
    assert order.type == "colt.order.submitted", order.data
    assert order.data["recovered"] is True
    orders = state["entities"]["orders"]
    assert list(orders) == [order.subject]
    assert orders[order.subject]["purchaseOrderNumber"] == ORDER["purchase_order_number"]
    assert state["requests"]["by_route"][SUBMIT] == 1
    assert state["requests"]["by_route"]["GET /ebonding/v5/quotes/{quote_id}"] == 2


async def test_resubmitted_command_continues_the_existing_order(colt: ColtStack) -> None:
    """A second submit of the same quote and purchase order answers the first order without a POST."""
    async with running_worker(colt.settings):
        quote_id, order_id = await quote_and_order(colt)
        again = await answer(
            colt, await colt.command("colt.order.submit", {"quote_id": quote_id, **ORDER})
        )
        other = await answer(
            colt,
            await colt.command(
                "colt.order.submit",
                {"quote_id": quote_id, **ORDER, "purchase_order_number": "PO-OTHER"},
            ),
        )
        state = await colt.state()
    assert (again.type, again.subject, again.data["recovered"]) == (
        "colt.order.submitted",
        order_id,
        True,
    )
    assert other.type == "colt.command.failed"
    assert other.data["error_code"] == "QUOTE_ALREADY_ORDERED"
    assert other.data["message"].startswith(
        "The quote is already ordered - read it (colt.quote.get)"
    )
    assert state["requests"]["by_route"][SUBMIT] == 1


async def test_quote_get_modify_and_cancel_an_order(colt: ColtStack) -> None:
    """colt.quote.get names the order; modify moves the delivery date; cancel ends it and notifies."""
    async with running_worker(colt.settings):
        quote_id, order_id = await quote_and_order(colt)
        read = await answer(colt, await colt.command("colt.quote.get", {"quote_id": quote_id}))
        modified = await answer(
            colt,
            await colt.command(
                "colt.order.modify", {"order_id": order_id, "requested_delivery_date": "2099-05-02"}
            ),
        )
        cancelled = await answer(
            colt,
            await colt.command(
                "colt.order.cancel", {"order_id": order_id, "reason": "project postponed"}
            ),
        )
        twice = await answer(colt, await colt.command("colt.order.cancel", {"order_id": order_id}))
        late = await answer(
            colt,
            await colt.command(
                "colt.order.modify", {"order_id": order_id, "requested_delivery_date": "2099-06-01"}
            ),
        )
        events = await colt.wait_for(
            lambda evs: any(
                e.type == "colt.order.state_changed" and e.data["status"] == "cancelled"
                for e in evs
            )
        )
    assert (read.type, read.data["status"], read.data["order_id"]) == (
        "colt.quote.retrieved",
        "ordered",
        order_id,
    )
    assert read.data["total_contract_value"] > 0
    assert modified.type == "colt.order.modified"
    assert modified.data["requested_delivery_date"] == "2099-05-02"
    assert modified.data["estimated_completion_date"] == "2099-05-02"
    assert (cancelled.type, cancelled.data["overall_status"]) == (
        "colt.order.cancelled",
        "cancelled",
    )
    assert cancelled.data["reason"] == "project postponed"
    assert (twice.type, twice.data["overall_status"]) == ("colt.order.cancelled", "cancelled")
    assert late.type == "colt.command.failed"
    assert (late.data["http_status"], late.data["error_code"]) == (409, "ORDER_NOT_MODIFIABLE")
    assert late.data["message"].startswith("The order is completed, rejected or cancelled")
    changes = [e for e in events if e.type == "colt.order.state_changed" and e.subject == order_id]
    assert [(e.data["previous_status"], e.data["status"]) for e in changes] == [
        ("acknowledged", "cancelled")
    ]


async def test_failure_message_follows_the_guides_status_table(colt: ColtStack) -> None:
    """colt.command.failed says what to do per status, with Colt's message and field: issue pairs."""
    bad = {**QUOTE, "services": [{**QUOTE["services"][0], "term_months": 240}]}
    async with running_worker(colt.settings):
        failed = await answer(colt, await colt.command("colt.quote.create", bad))
        missing = await answer(colt, await colt.command("colt.quote.get", {"quote_id": "Q-404"}))
    assert failed.data["message"] == (
        "Bad request - check the request parameters - Validation failed "
        "(services[0].termMonths: input should be less than or equal to 120)"
    )
    assert failed.data["provider_message"].startswith("HTTP 400 INVALID_REQUEST")
    assert missing.data["message"] == "Not found - check the id - Quote Q-404 not found"


def test_readable_covers_every_status_of_the_guide() -> None:
    """Each status of the guide's table has its own advice; an unknown one keeps Colt's text."""
    texts = {
        s: readable(None, s, f"HTTP {s} X: boom")
        for s in (400, 401, 403, 404, 409, 429, 500, 502, 503, 504)
    }
    assert len(set(texts.values())) == 10
    assert texts[500] == "Colt internal error - contact Colt support - boom"
    assert readable(None, 418, "HTTP 418 TEAPOT: short and stout") == "short and stout"
    assert readable("TIMEOUT", None, "ReadTimeout calling colt order_submit").startswith(
        "Colt did not answer in time"
    )
