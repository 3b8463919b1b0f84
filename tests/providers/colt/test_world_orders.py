"""The simulated Colt's order rules: an ordered quote names its order; modify and cancel only open orders."""

from __future__ import annotations

from typing import Any

import pytest

from hookline.providers.colt.world import ColtApiError, ColtWorld

QUOTE = {
    "customer": {
        "accountNumber": "CUST-1",
        "companyName": "Example",
        "contactEmail": "p@example.com",
    },
    "services": [
        {
            "bandwidth": "1000",
            "termMonths": 36,
            "locations": {"endpointA": {"referenceId": "loc-001"}},
        }
    ],
}
CONTACT = {
    "name": "John Smith",
    "email": "j@example.com",
    "phone": "+44 20 7946 0958",
    "role": "primary",
}


def _order(world: ColtWorld, po: str = "PO-1") -> tuple[str, str]:
    quote_id = world.create_quote(QUOTE)["quoteId"]
    answer, _ = world.submit_order(
        {"quoteId": quote_id, "purchaseOrderNumber": po, "technicalContacts": [CONTACT]}
    )
    return quote_id, str(answer["orderId"])


def test_an_ordered_quote_names_its_order_and_the_order_its_purchase_order() -> None:
    """After a submit the quote reads ordered with orderId; the order status carries quote and PO number."""
    world = ColtWorld()
    quote_id, order_id = _order(world)
    quote = world.get_quote(quote_id)
    status = world.order_status(order_id)
    assert (quote["status"], quote["orderId"]) == ("ordered", order_id)
    assert (status["quoteId"], status["purchaseOrderNumber"]) == (quote_id, "PO-1")


def test_modify_changes_an_open_order_and_refuses_an_empty_or_closed_one() -> None:
    """A new delivery date moves the estimate; nothing to change is 400; a cancelled order is 409."""
    world = ColtWorld()
    _, order_id = _order(world)
    changed = world.modify_order(order_id, {"requestedDeliveryDate": "2099-01-31"})
    assert (changed["requestedDeliveryDate"], changed["estimatedCompletionDate"]) == (
        "2099-01-31",
        "2099-01-31",
    )
    with pytest.raises(ColtApiError) as empty:
        world.modify_order(order_id, {})
    assert empty.value.status == 400
    world.cancel_order(order_id, {"reason": "postponed"})
    with pytest.raises(ColtApiError) as closed:
        world.modify_order(order_id, {"requestedDeliveryDate": "2099-02-28"})
    assert (closed.value.status, closed.value.code) == (409, "ORDER_NOT_MODIFIABLE")


def test_cancel_notifies_once_and_a_completed_order_cannot_be_cancelled() -> None:
    """Cancel sends order.state_changed → cancelled once (again: same answer, no note); completed is 409."""
    world = ColtWorld()
    _, order_id = _order(world)
    answer, note = world.cancel_order(order_id, {})
    again, none = world.cancel_order(order_id, {})
    assert answer["overallStatus"] == again["overallStatus"] == "cancelled"
    assert note is not None and note["data"]["status"] == "cancelled" and none is None
    assert world.advance() == []  # a cancelled order takes no further step
    _, done_id = _order(world, "PO-2")
    for _ in range(4):
        world.advance()
    assert world.order_status(done_id)["overallStatus"] == "completed"
    with pytest.raises(ColtApiError) as refused:
        world.cancel_order(done_id, {})
    details: Any = (refused.value.status, refused.value.code)
    assert details == (409, "ORDER_NOT_CANCELLABLE")
